"""A domain without <uuid>: libvirt draws a random one when it reads it (virDomainDefParseXML
→ virUUIDGenerate) and always writes -uuid; virtxlate writes the named placeholder
<random-uuid> with an info finding (VX0702, argv's only), reads it back as no <uuid>, and
the comparison (argv/runtime.py) holds libvirt's random UUID and the placeholder equal.
"""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest
from conftest import run_cli
from qemu_start import qemu_refusal

from virtxlate.api import analyze, check, load
from virtxlate.argv.runtime import normalise, without_runtime_only
from virtxlate.native.todomain import domain_from_argv
from virtxlate.native.words import read_command_line

NO_UUID = (
    "<domain type='qemu'><name>nu</name><memory unit='MiB'>128</memory>"
    "<os><type arch='x86_64' machine='pc'>hvm</type></os>"
    "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
    "<memballoon model='none'/></devices></domain>"
)
UUID = "c7a5fdbd-cdaf-9455-926a-d65c16db1809"


def _after(words: list[str], flag: str) -> str:
    return words[words.index(flag) + 1]


def test_a_domain_without_uuid_gets_the_named_placeholder_and_an_info():
    result = analyze(load(NO_UUID), "7.2")
    assert result.argv is not None and _after(result.argv, "-uuid") == "<random-uuid>"
    infos = [f for f in result.findings if f.code == "VX0702"]
    assert len(infos) == 1 and infos[0].severity == "info" and "<uuid>" in infos[0].message
    # (the UUID is no fact of validity: check says nothing of it)
    common, per_release = check(load(NO_UUID), ["7.2"])
    assert not [f for f in common + [f for _, fs in per_release for f in fs] if f.code == "VX0702"]


def test_a_written_uuid_is_written_and_says_nothing():
    xml = NO_UUID.replace("</name>", f"</name><uuid>{UUID}</uuid>")
    result = analyze(load(xml), "7.2")
    assert result.argv is not None and _after(result.argv, "-uuid") == UUID
    assert not [f for f in result.findings if f.code == "VX0702"]


def test_the_placeholder_reads_back_as_no_uuid_and_a_uuid_as_itself():
    argv = analyze(load(NO_UUID), "7.2").argv
    assert argv is not None
    back = load(domain_from_argv(read_command_line(shlex.join(argv), "line")).xml)
    assert back.uuid is None and "random-uuid" not in (back.document.to_xml() or "")
    written = [UUID if word == "<random-uuid>" else word for word in argv]
    back = load(domain_from_argv(read_command_line(shlex.join(written), "line")).xml)
    assert back.uuid == UUID


def test_the_cli_prints_the_placeholder(tmp_path):
    path = tmp_path / "nu.xml"
    path.write_text(NO_UUID)
    printed = run_cli("argv", str(path), "--qemu", "7.2")
    assert printed.returncode == 0, printed.stderr
    assert "-uuid '<random-uuid>'" in printed.stdout
    assert "VX0702" in printed.stderr


def test_libvirts_random_uuid_and_the_placeholder_compare_equal():
    domain = load(NO_UUID)
    ours = ["/usr/bin/qemu-system-x86_64", "-uuid", "<random-uuid>", "-S"]
    theirs = ["/usr/bin/qemu-system-x86_64", "-uuid", "0b4e7a5c-9f0e-4d7b-8a51-2c1f0d6e3a9b", "-S"]
    assert normalise(ours, domain) == normalise(theirs, domain)
    assert without_runtime_only(ours, domain) == without_runtime_only(theirs, domain)
    # a written UUID is compared as it is
    written = load(NO_UUID.replace("</name>", f"</name><uuid>{UUID}</uuid>"))
    assert normalise(ours, written) != normalise(theirs, written)
    assert without_runtime_only(ours, written) != without_runtime_only(theirs, written)


@pytest.mark.integration
def test_libvirt_writes_a_random_uuid_and_the_lines_agree(virsh, tmp_path):
    path = tmp_path / "nu.xml"
    path.write_text(NO_UUID)
    answer = subprocess.run(
        [virsh, "-c", "qemu:///system", "domxml-to-native", "qemu-argv", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert answer.returncode == 0, answer.stderr
    theirs = shlex.split(answer.stdout.replace("\\\n", ""))
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", _after(theirs, "-uuid"))
    ours = analyze(load(NO_UUID), "7.2").argv
    assert ours is not None
    domain = load(NO_UUID)
    assert normalise(list(ours), domain) == normalise(theirs, domain)


@pytest.mark.integration
def test_qemu_starts_on_the_line_with_the_placeholder_given_a_uuid(qemu_binary):
    argv = analyze(load(NO_UUID), "7.2").argv
    assert argv is not None
    assert qemu_refusal([qemu_binary, *argv[1:]]) is None
