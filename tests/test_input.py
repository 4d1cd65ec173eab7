"""Hardened input: every bad input is one line `FILE:LINE: error: …`, exit 3, no traceback."""

from __future__ import annotations

import re

import pytest
from conftest import SAMPLES, run_cli

LINE_RE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: .+$")

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<domain type="qemu"><name>&lol3;</name></domain>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE domain [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<domain type="qemu"><name>&secret;</name></domain>
"""

BAD_INPUTS = {
    "malformed": (b'<domain type="qemu">\n  <name>x</name>\n  <devices>\n</domain>\n', 4),
    "unclosed": (b'<domain type="qemu"><name>x</name>', 1),
    "not-a-domain": (b'<?xml version="1.0"?>\n<network><name>x</name></network>\n', 2),
    "namespaced-root": (b'<domain xmlns="urn:x" type="qemu"/>', 1),
    "entity-bomb": (BILLION_LAUGHS, 2),
    "external-entity": (EXTERNAL_ENTITY, 2),
    "empty": (b"", 1),
    "text-only": (b"hello", 1),
}


@pytest.mark.parametrize("command", ["check", "argv", "tree"])
@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_exits_3_with_one_line(tmp_path, name, command):
    data, line = BAD_INPUTS[name]
    path = tmp_path / f"{name}.xml"
    path.write_bytes(data)
    extra = [] if command == "check" else ["--qemu", "1.5"]
    result = run_cli(command, str(path), *extra)
    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    match = LINE_RE.match(lines[0])
    assert match, lines[0]
    assert match.group("file") == str(path)
    assert int(match.group("line")) == line
    assert "Traceback" not in result.stderr


def test_external_entity_is_never_read(tmp_path):
    path = tmp_path / "xxe.xml"
    path.write_bytes(EXTERNAL_ENTITY)
    result = run_cli("argv", str(path), "--qemu", "1.5")
    assert "root:" not in result.stdout + result.stderr


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.xml"
    result = run_cli("check", str(missing))
    assert result.returncode == 3
    assert result.stderr.strip() == f"{missing}:0: error: cannot read: No such file or directory"


def test_stdin_is_named_in_messages():
    result = run_cli("check", "-", stdin=b"<domain")
    assert result.returncode == 3
    assert result.stderr.startswith("<stdin>:1: error: malformed XML")


def test_stdin_domain_is_read():
    result = run_cli(
        "argv", "-", "--qemu", "1.5", stdin=(SAMPLES / "seed-virtio-scsi.xml").read_bytes()
    )
    assert result.returncode == 0, result.stderr
    assert "virtio-scsi-pci" in result.stdout


@pytest.mark.parametrize(
    "fragment",
    [
        b"<devices><controller type='scsi' index='0' model='virtio-scsi'/></devices>",
        b"<controller type='scsi' index='0' model='virtio-scsi'/>",
        b"<disk type='file' device='disk'><source file='/a.img'/>"
        b"<target dev='vda' bus='virtio'/></disk>",
    ],
)
def test_fragments_are_accepted(tmp_path, fragment):
    path = tmp_path / "fragment.xml"
    path.write_bytes(fragment)
    result = run_cli("check", str(path), "--qemu", "1.5")
    assert result.returncode == 0, result.stdout + result.stderr
    assert run_cli("tree", str(path), "--qemu", "1.5").returncode == 0


def test_usage_errors_exit_2():
    seed = str(SAMPLES / "seed-virtio-scsi.xml")
    unknown = run_cli("tree", seed, "--qemu", "0.9")
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == (
        "virtxlate: error: no capability table for QEMU 0.9 on "
        "x86_64 (nearest known: 1.2; see 'virtxlate caps list')"
    )
    assert run_cli("tree", seed).returncode == 2  # --qemu is required
    assert run_cli("frobnicate").returncode == 2
    assert run_cli("tree", seed, "--qemu", "one.five").returncode == 2
