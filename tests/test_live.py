"""With a running libvirt (libvirt-python, the extra virtxlate[libvirt]): domains read
through --connect/--domain, `compare` against libvirt's own domainXMLToNative on every
sample, `caps probe --connect`; and without the binding, one line on how to install it."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from conftest import REPO, SAMPLES, _missing, early_run, require_emulator, run_cli
from lxml import etree
from test_libvirt import URI

from virtxlate.caps.answers import read_replies
from virtxlate.caps.interpret import interpret
from virtxlate.caps.store import to_node
from virtxlate.caps.tables import parse_table, table_from_node

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def binding():
    try:
        import libvirt  # noqa: F401
    except ImportError:
        _missing("libvirt-python (pip install -e '.[libvirt]')", "VIRTXLATE_REQUIRE_INTEGRATION")


@pytest.fixture
def defined(virsh, tmp_path):  # noqa: F811
    """The seed sample defined in libvirt under a name of its own, undefined afterwards."""
    name = f"virtxlate-test-{uuid.uuid4().hex[:8]}"
    xml = (SAMPLES / "seed-virtio-scsi.xml").read_text()
    require_emulator(xml)
    root = etree.fromstring(xml.encode())
    root.find("name").text = name
    root.remove(root.find("uuid"))
    path = tmp_path / "defined.xml"
    path.write_bytes(etree.tostring(root))
    subprocess.run([virsh, "-c", URI, "define", str(path)], check=True, capture_output=True)
    try:
        yield name
    finally:
        subprocess.run([virsh, "-c", URI, "undefine", name], capture_output=True)


def test_domain_read_through_libvirt(binding, defined, virsh):  # noqa: F811
    check = run_cli("check", "--connect", URI, "--domain", defined, "--qemu", "7.2")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith(f"{URI}#{defined}: no findings")
    by_uuid = subprocess.run(
        [virsh, "-c", URI, "domuuid", defined], capture_output=True, text=True, check=True
    ).stdout.strip()
    from_file = run_cli(
        "argv", str(SAMPLES / "seed-virtio-scsi.xml"), "--qemu", "7.2", "--format", "json"
    )
    for who in (defined, by_uuid):
        argv = run_cli(
            "argv",
            "--connect",
            URI,
            "--domain",
            who,
            "--inactive",
            "--qemu",
            "7.2",
            "--format",
            "json",
        )
        assert argv.returncode == 0, argv.stderr
        # the same storage as the file it was defined from (libvirt keeps what it was given)
        scsi = [w for w in from_file.stdout.split() if "scsi" in w]
        assert scsi, from_file.stdout + from_file.stderr
        assert [w for w in argv.stdout.split() if "scsi" in w] == scsi
    # libvirt wrote the machine it defined as pc-i440fx-7.2: no older release has it
    tree = run_cli("tree", "--connect", URI, "--domain", defined, "--qemu", "7.2")
    assert 'dev: virtio-scsi-device, id ""' in tree.stdout
    older = run_cli("check", "--connect", URI, "--domain", defined, "--qemu", "1.5")
    assert older.returncode == 1 and "VX0301" in older.stdout
    missing = run_cli("check", "--connect", URI, "--domain", "no-such-domain-here")
    assert missing.returncode == 3 and missing.stderr.count("\n") == 1


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.xml")), ids=lambda p: p.name)
def test_compare_with_libvirt_prints_nothing(binding, sample):
    # (needs-newer-qemu.xml: libvirt and virtxlate both refuse it, so they agree)
    require_emulator(sample.read_text())  # else libvirt refuses for want of the binary
    result = run_cli("compare", str(sample), "--connect", URI, "--storage")
    assert (result.returncode, result.stdout) == (0, ""), result.stdout + result.stderr


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.xml")), ids=lambda p: p.name)
def test_compare_of_the_whole_line_differs_in_devices_only(binding, sample):
    """compare's default view: the domain-wide options (test_domain_options.DOMAIN_WIDE)
    equal libvirt's; what differs is -device/-audiodev lines of kinds argv does not write
    yet (issue 17)."""
    from test_domain_options import DOMAIN_WIDE

    require_emulator(sample.read_text())
    result = run_cli("compare", str(sample), "--connect", URI)
    changed = [
        line[1:].split(" ", 1)[0]
        for line in result.stdout.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    # libvirt makes up a random <uuid> for a domain without one; virtxlate writes none.
    # Host facts compare does not ask the libvirt host yet: host-model's CPU expansion
    # (virtxlate: -cpu host, VX0701) and an autoport display's port (AUTOPORT, VX0701)
    text = sample.read_text()
    allowed = {"-uuid"} if "<uuid>" not in text else set()
    if re.search(r"mode=['\"]host-model", text):
        allowed.add("-cpu")
    if re.search(r"autoport=['\"]yes", text):
        allowed |= {"-vnc", "-spice"}
    assert not (DOMAIN_WIDE - allowed) & set(changed), result.stdout


def test_compare_says_when_only_one_side_refuses(binding, tmp_path):
    require_emulator((SAMPLES / "seed-virtio-scsi.xml").read_text())
    # QEMU 7.2 no longer has pc-1.2: libvirt refuses it, virtxlate for --qemu 1.2 accepts it
    path = tmp_path / "old-machine.xml"
    path.write_text(
        (SAMPLES / "seed-virtio-scsi.xml").read_text().replace("machine='pc'", "machine='pc-1.2'")
    )
    result = run_cli("compare", str(path), "--connect", URI, "--qemu", "1.2")
    assert result.returncode == 1
    assert "libvirt (qemu:///system) refuses it" in result.stdout


def test_compare_shows_a_difference(binding):
    require_emulator((SAMPLES / "seed-virtio-scsi.xml").read_text())
    # the 4.1 release's -drive syntax is not what libvirt 9.0 writes for QEMU 7.2
    result = run_cli(
        "compare", str(SAMPLES / "seed-virtio-scsi.xml"), "--connect", URI, "--qemu", "4.1"
    )
    assert result.returncode == 1
    assert result.stdout.startswith(f"--- libvirt ({URI})\n+++ virtxlate --qemu 4.1\n")


def test_caps_probe_through_libvirt(binding):
    require_emulator((SAMPLES / "seed-virtio-scsi.xml").read_text())
    # `caps probe --connect` as a process, started when the run's tests were known: it
    # waits on libvirtd and QEMU most of its ~4 s (conftest.EARLY_RUNS)
    result, out = early_run("probe-live")  # type: ignore[misc]
    assert result.returncode == 0, result.stderr
    table = etree.parse(str(out)).getroot()
    probed = parse_table(out)
    # the shipped 7.2 table is built on a recording of `caps probe` of the same Debian
    # binary (tools/caps-replies/), through the same interpreter
    recording = next((REPO / "tools" / "caps-replies").glob("probe_*_x86_64.replies.xz"))
    recorded = table_from_node(to_node(interpret(read_replies(recording))), Path(recording.name))
    if probed.release != recorded.release:
        pytest.skip(f"libvirt's QEMU is {probed.release}; the recording is of {recorded.release}")

    def built_in(devices):  # type: ignore[no-untyped-def]
        # QEMU lists the OpenGL types only once their display module is loaded
        return {name: d for name, d in devices.items() if not re.search(r"-gl(-|$)", name)}

    assert built_in(probed.devices) == built_in(recorded.devices)
    assert probed.machines == recorded.machines
    assert probed.families == recorded.families
    assert probed.bus_types == recorded.bus_types
    assert "/var/cache/libvirt/qemu/capabilities/" in table.findtext("source[@id='LIBVIRT-CAPS']")


def test_without_the_binding_one_line_says_how_to_install(tmp_path):
    fake = tmp_path / "libvirt.py"
    fake.write_text("raise ImportError('no libvirt-python here')\n")
    result = subprocess.run(
        [sys.executable, "-m", "virtxlate", "check", "--connect", URI, "--domain", "x"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": f"{tmp_path}:{REPO}", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "pip install 'virtxlate[libvirt]'" in result.stderr
