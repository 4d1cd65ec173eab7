"""Domains as `virsh dumpxml` shows them while they run, checked again before a restart.

Users run virtxlate on what dumpxml gives them, very often of a running domain (before a
migration, an upgrade of QEMU, a restart with a changed definition).  That XML carries what
libvirt added when it started the domain: aliases and addresses, the CPU it settled on
(check='full' with the model's features), the sockets it made for virtio channels
(…/channel/target/domain-ID-NAME/…, a path libvirt drops and makes anew when it reads the
domain again: qemuDomainChrDefDropDefaultPath), <backingStore/> after each image it probed,
the port SPICE took.  Here every runnable x86_64 sample, made to run on this machine (images
created, user networking in place of host networks, no host USB devices), is started with
real libvirt 9.0 and QEMU 7.2 and dumped; virtxlate's line for the dump must equal libvirt's
own line for it, less what only a running libvirt knows (tests/runtime_only.py).  (The
s390x samples stop at once without a bootable disk: nothing to dump.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import destroy_in_background, skip_when_no_emulator
from lxml import etree
from runtime_only import both_lines
from samples_support import runnable_samples, with_images

from virtxlate.api import check, load

URI = "qemu:///system"


def _virsh(virsh: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [virsh, "-c", URI, *args], capture_output=True, text=True, timeout=120, check=False
    )


def _runnable(sample: Path, tmp: Path, name: str) -> str:
    """SAMPLE with what this machine lacks replaced: its images created, user networking
    for host networks and bridges, no host USB devices, no <uuid> (libvirt makes one)."""
    root = etree.fromstring(with_images(sample, tmp).encode())
    for interface in root.iterfind("devices/interface"):
        if interface.get("type") in ("network", "bridge", "direct", "ethernet"):
            interface.set("type", "user")
            for child in interface.xpath("source | target | mtu"):
                interface.remove(child)
    for node in root.xpath("devices/hostdev[@type='usb'] | uuid"):
        node.getparent().remove(node)
    root.find("name").text = name
    return etree.tostring(root, encoding="unicode")


SAMPLES_RUN = [p for p in runnable_samples() if "s390x" not in p.name]


def _start_dump_destroy(virsh: str, sample: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    """The dumpxml of SAMPLE started by libvirt (or libvirt's refusal to start it), and the
    `virsh destroy` of it, started and not waited for."""
    name = f"vx-running-{os.getpid()}-{sample.stem}"
    path = tmp / "guest.xml"
    path.write_text(_runnable(sample, tmp, name))
    created = _virsh(virsh, "create", str(path))
    if created.returncode != 0:
        return created
    try:
        return _virsh(virsh, "dumpxml", name)
    finally:
        destroy_in_background(virsh, name)


_STARTS_AT_ONCE = 4


@pytest.fixture(scope="module")
def dumps(
    virsh: str,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Each sample's dumpxml while libvirt runs it (or libvirt's refusal to start it), by
    the sample's stem.  Each domain is started, dumped and destroyed at once, up to
    _STARTS_AT_ONCE side by side; libvirt takes ~1.6 s here to destroy one (it waits to see
    QEMU gone), so the destroys are waited for at the run's end: ~0.3 s a sample in
    all instead of ~2 s one after the other.  The tests read only the dump, never the
    running domain."""
    if shutil.which("qemu-img") is None:
        pytest.skip("qemu-img (qemu-utils) is needed to make the guest's images")
    with ThreadPoolExecutor(_STARTS_AT_ONCE) as pool:
        started = {
            sample.stem: pool.submit(
                _start_dump_destroy, virsh, sample, tmp_path_factory.mktemp(sample.stem)
            )
            for sample in SAMPLES_RUN
        }
        return {stem: future.result() for stem, future in started.items()}


@pytest.fixture(scope="module", params=SAMPLES_RUN, ids=lambda p: p.stem)
def dumped(
    request: pytest.FixtureRequest, dumps: dict[str, subprocess.CompletedProcess[str]]
) -> str:
    """dumpxml of the sample while libvirt runs it."""
    answer = dumps[request.param.stem]
    if "<domain" not in answer.stdout:  # libvirt did not start it (or did not dump it)
        skip_when_no_emulator(answer.stderr)
        pytest.fail(f"libvirt did not start or dump {request.param.name}: {answer.stderr}")
    return answer.stdout


def test_the_dump_is_a_running_domains(dumped: str) -> None:
    # what the test is about: the dump has what only a started domain has
    assert re.search(r"<domain type='\w+' id='\d+'", dumped)
    assert "<alias name=" in dumped and "<backingStore/>" in dumped


def test_check_finds_nothing_wrong(dumped: str) -> None:
    common, per_release = check(load(dumped), ["7.2"])
    errors = [f for f in common + per_release[0][1] if f.is_error]
    assert errors == []


def test_its_line_is_libvirts(virsh: str, dumped: str, tmp_path: Path) -> None:
    ours, theirs = both_lines(virsh, dumped, tmp_path)
    assert len(ours) > 20
    assert ours == theirs
