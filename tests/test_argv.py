"""`virtxlate argv`: the command line libvirt would give QEMU, and its quoting.  Domains with
the command line libvirt writes for them (slots, written addresses, a comma in a path,
unsafe serials) are cases of tests/cases, compared by tests/test_cases.py."""

from __future__ import annotations

import json
import shlex

import pytest
from conftest import DATA, SAMPLES, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from virtxlate.api import analyze, load
from virtxlate.argv.escape import split_keyval

SEED = str(SAMPLES / "seed-virtio-scsi.xml")


def _args_file_words(path):
    return shlex.split(path.read_text().replace("\\\n", ""))


@pytest.mark.parametrize("expected", sorted(DATA.glob("*.qemu-*.args")), ids=lambda p: p.name)
def test_argv_matches_expected(expected):
    name, _, rest = expected.name.partition(".qemu-")
    result = run_cli(
        "argv", str(DATA / f"{name}.xml"), "--qemu", rest.removesuffix(".args"), "--format", "json"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == _args_file_words(expected)


def test_formats_agree():
    as_json = json.loads(run_cli("argv", SEED, "--qemu", "1.5", "--format", "json").stdout)
    as_shell = shlex.split(run_cli("argv", SEED, "--qemu", "1.5").stdout)
    lines = run_cli("argv", SEED, "--qemu", "1.5", "--format", "lines").stdout.splitlines()
    assert as_json == as_shell
    assert [word for line in lines for word in shlex.split(line)] == as_json
    assert lines[0] == "/usr/bin/qemu-system-x86_64"
    assert "-nodefaults" in lines


def test_1_5_differs_from_1_2_only_in_machine_type():
    """Besides the machine type, only what 1.5's libvirt flags add (machine-usb-opt:
    usb=off; boot-strict: -boot strict=on) and 1.2's table lacks."""
    old = analyze(load(SEED), "1.2").argv
    new = analyze(load(SEED), "1.5").argv
    assert [a for a in old if a not in new] == ["pc-1.2,accel=tcg"]
    assert [a for a in new if a not in old] == [
        "pc-i440fx-1.5,accel=tcg,usb=off",
        "-boot",
        "strict=on",
    ]


def test_kvm_domain_uses_kvm_accel():
    domain = load(
        SAMPLES.joinpath("seed-virtio-scsi.xml").read_text().replace("type='qemu'", "type='kvm'")
    )
    assert "pc-i440fx-1.5,accel=kvm,usb=off" in analyze(domain, "1.5").argv


def _disk_domain(path: str, serial: str = "s1") -> str:
    from xml.sax.saxutils import escape, quoteattr

    return f"""<domain type='qemu'><devices>
      <disk type='file' device='disk'><driver name='qemu' type='raw'/>
        <source file={quoteattr(path)}/><target dev='vda' bus='virtio'/>
        <serial>{escape(serial)}</serial></disk></devices></domain>"""


def _keyvals(word: str) -> dict[str, str]:
    parts = split_keyval(word)
    return dict(part.split("=", 1) for part in parts[1:] if "=" in part) | {"_implied": parts[0]}


path_chars = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00")


@settings(max_examples=200, deadline=None)
@given(
    path=st.text(path_chars, min_size=1, max_size=40).map(lambda t: "/img/" + t),
    # libvirt's diskSerial characters (it refuses others: "contains unsafe characters")
    serial=st.text(
        st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-"),
        min_size=1,
        max_size=20,
    ),
)
def test_no_value_can_inject_an_option(path, serial):
    argv = analyze(load(_disk_domain(path, serial)), "1.5").argv
    drive = argv[argv.index("-drive") + 1]
    parts = split_keyval(drive)
    assert parts[0] == f"file={path}"
    assert [p.split("=", 1)[0] for p in parts] == ["file", "format", "if", "id"]
    device = argv[argv.index("-device", argv.index("-drive")) + 1]
    keys = [p.split("=", 1)[0] for p in split_keyval(device)[1:]]
    assert keys == ["scsi", "bus", "addr", "drive", "id", "bootindex", "serial"]
    assert _keyvals(device)["serial"] == serial


VHOST_SCSI = (
    "<domain type='qemu'><name>v</name><uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>"
    "<os><type arch='x86_64' machine='pc'>hvm"
    "</type></os><devices><hostdev mode='subsystem' type='scsi_host'>"
    "<source protocol='vhost' wwpn='naa.5123456789abcde0'/></hostdev>"
    "</devices></domain>"
)


def test_vhost_scsi_needs_the_hosts_device_node():
    # libvirt 9.0: "vhost-scsi device file '/dev/vhost-scsi' cannot be found"
    from virtxlate.host import FixedHost

    missing = analyze(load(VHOST_SCSI), "7.2", host=FixedHost())
    assert [f.code for f in missing.findings] == ["VX0211"] and missing.argv is None
    present = analyze(load(VHOST_SCSI), "7.2", host=FixedHost(device_nodes=("/dev/vhost-scsi",)))
    assert present.ok
    # as in libvirt's hostdev-scsi-vhost-scsi-pci.args: wwpn, the passed fd, hostdev0, a slot
    assert (
        "vhost-scsi-pci,wwpn=naa.5123456789abcde0,vhostfd=3,id=hostdev0,bus=pci.0,"
        "addr="
        in " ".join(
            analyze(load(VHOST_SCSI), "4.1", host=FixedHost(device_nodes=("/dev/vhost-scsi",))).argv
        )
    )


def _with_flags(monkeypatch, version: str, without: set[str]) -> None:
    """analyze() gets the VERSION table minus the flags WITHOUT."""
    from dataclasses import replace

    from virtxlate import caps

    table = caps.load(version)
    monkeypatch.setattr(
        "virtxlate.api.caps_tables.load", lambda *_: replace(table, flags=table.flags - without)
    )


@pytest.mark.parametrize(
    ("without", "expected"),
    [
        (set(), "guest=seed,debug-threads=on"),
        ({"debug-threads"}, "guest=seed"),
        ({"name-guest", "debug-threads"}, "seed"),
    ],
)
def test_name_keys_follow_the_tables_flags(monkeypatch, without, expected):
    """-name's keys come from libvirt's name-guest and debug-threads flags, not from a
    version number in the writer (qemuBuildNameCommandLine asks the capabilities)."""
    _with_flags(monkeypatch, "7.2", without)
    argv = analyze(load(SEED), "7.2").argv
    assert argv[argv.index("-name") + 1] == expected


@pytest.mark.parametrize("version", ["4.2", "7.2", "9.2", "11.1"])
def test_tables_after_libvirt_retired_the_name_flags_have_them(version):
    """libvirt 9.0 assumes name-guest and debug-threads (X_QEMU_CAPS_NAME_GUEST): the
    tables it parsed get them back from libvirt-assumed-flags.txt."""
    from virtxlate import caps

    table = caps.load(version)
    assert table.has_flag("name-guest") and table.has_flag("debug-threads")
