"""Backing chains (<backingStore>) as libvirt 9.0 writes them with -blockdev, and back.

`virsh dumpxml` of a running domain, and any domain with a snapshot overlay or a cloud
image's base, carries its disks' backing chains.  libvirt writes one storage and one format
node per layer, deepest first, numbered on from the image's node, the format node naming
the layer below as its "backing" (null where the XML ends the chain with an empty
<backingStore/> on a format that has backing images).  The expected lines are libvirt's own
(tests/cases/backing-*.qemu-7.2.args and .err, regenerated from it); here: that
from-argv reads the chain back, and what virtxlate leaves to QEMU in the -drive era.
"""

from __future__ import annotations

from pathlib import Path

from cases_support import args_words, compared
from lxml import etree

from virtxlate.api import analyze, load
from virtxlate.native.todomain import domain_from_argv
from virtxlate.native.words import read_command_line

CASES = Path(__file__).parent / "cases"
CHAIN = CASES / "backing-chain-pc"


def _chains(xml: str) -> list[list[tuple[str | None, str | None, str | None]]]:
    """Each disk's chain: (type, format, file or dev or protocol) per <backingStore>,
    (None, None, None) for an empty one."""
    chains = []
    for disk in etree.fromstring(xml.encode()).iterfind("devices/disk"):
        chain = []
        layer = disk.find("backingStore")
        while layer is not None:
            source = layer.find("source")
            where = None
            if source is not None:
                where = source.get("file") or source.get("dev") or source.get("protocol")
            chain.append((layer.get("type"), layer.xpath("string(format/@type)") or None, where))
            layer = layer.find("backingStore")
        chains.append(chain)
    return chains


def test_from_argv_reads_the_chains_back():
    text = (CHAIN.parent / f"{CHAIN.name}.qemu-7.2.args").read_text()
    readback = domain_from_argv(read_command_line(text, "libvirt.args"))
    xml = readback.xml
    assert "qemu:arg" not in xml, "a backing node was left in <qemu:commandline>"
    assert _chains(xml) == [
        [("file", "qcow2", "/img/mid.qcow2"), ("block", "raw", "/dev/sdz")],
        [("file", "vmdk", "/img/rob.vmdk"), (None, None, None)],
        [("file", "qcow2", "/img/nb.qcow2")],
        [(None, None, None)],
        [],
    ]
    # and virtxlate writes libvirt's storage options again from what it read
    again = analyze(load(xml), "7.2")
    assert again.ok, [f.message for f in again.findings]
    assert compared(again.argv) == compared(args_words(text))


def test_the_drive_era_leaves_the_chain_to_qemu():
    # before -blockdev libvirt gave QEMU the image alone: QEMU opens what its header names
    result = analyze(load((CHAIN.parent / f"{CHAIN.name}.xml").read_bytes()), "4.1")
    assert result.ok, [f.message for f in result.findings]
    drives = [w for w in result.argv if w.startswith("file=")]
    assert [d.split(",")[0] for d in drives] == [
        "file=/img/top.qcow2",
        "file=/img/ro.qcow2",
        "file=nbd:h:10809:exportname=x",
        "file=/img/alone.qcow2",
        "file=/img/alone.raw",
    ]
    assert not any("mid.qcow2" in w or "nb.qcow2" in w for w in result.argv)
