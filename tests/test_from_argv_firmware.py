"""from-argv reads libvirt's UEFI firmware back (issue 15): the pflash -blockdev nodes
and -machine's pflash0=/pflash1= become <loader type='pflash'> and <nvram>, and argv
writes libvirt's nodes again from that XML.  The lines are libvirt 9.0's own
(tests/data/libvirt-9.0-firmware)."""

from __future__ import annotations

import pytest
from conftest import DATA
from lxml import etree

from virtxlate.api import analyze, load
from virtxlate.host import FixedHost
from virtxlate.native import domain_from_argv
from virtxlate.native.words import read_command_line

FIRMWARE = DATA / "libvirt-9.0-firmware"
CASES = sorted(p for p in FIRMWARE.glob("*.args"))


def _firmware_words(words: list[str]) -> tuple[list[str], list[str]]:
    """The -blockdev values before -machine, and -machine's pflashN=NODE properties."""
    machine = words.index("-machine")
    nodes = [
        value
        for flag, value in zip(words[:machine], words[1 : machine + 1], strict=False)
        if flag == "-blockdev" and "pflash" in value
    ]
    pflash = [p for p in words[machine + 1].split(",") if p.startswith("pflash")]
    return nodes, pflash


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_libvirts_pflash_nodes_read_back_as_loader_and_nvram(case):
    line = read_command_line(case.read_text(), str(case))
    back = domain_from_argv(line)
    root = etree.fromstring(back.xml.encode())
    wanted = etree.fromstring((FIRMWARE / f"{case.stem}.xml").read_bytes())
    loader, their_loader = root.find("os/loader"), wanted.find("os/loader")
    assert loader is not None and loader.text == their_loader.text
    assert loader.get("readonly") == their_loader.get("readonly")
    # nothing of the firmware is left for <qemu:commandline>
    assert "pflash" not in " ".join(
        arg.get("value") for arg in root.iter("{http://libvirt.org/schemas/domain/qemu/1.0}arg")
    )
    assert [f for f in back.findings if "pflash" in f.message] == []
    # and argv gives libvirt's nodes again
    result = analyze(load(back.xml), "7.2", host=FixedHost())
    assert result.ok and result.argv is not None, [f.message for f in result.findings]
    assert _firmware_words(result.argv) == _firmware_words(line.words)


def test_a_pflash_node_that_is_no_file_stays_on_the_command_line():
    words = [
        "-machine",
        "q35,pflash0=fw",
        "-blockdev",
        '{"driver":"nbd","server":{"type":"inet","host":"h","port":"1"},"node-name":"s"}',
        "-blockdev",
        '{"node-name":"fw","read-only":true,"driver":"raw","file":"s"}',
    ]
    from virtxlate.native.words import CommandLine

    back = domain_from_argv(CommandLine("/usr/bin/qemu-system-x86_64", words, "<test>"))
    root = etree.fromstring(back.xml.encode())
    assert root.find("os/loader") is None
    kept = [a.get("value") for a in root.iter("{http://libvirt.org/schemas/domain/qemu/1.0}arg")]
    assert words[3] in kept and words[5] in kept
