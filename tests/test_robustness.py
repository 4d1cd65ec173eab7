"""Whatever storage a domain declares, virtxlate answers with findings or output, never
with a traceback; and what it writes is consistent across formats and with its graph."""

from __future__ import annotations

import re
import shlex

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from virtxlate.api import analyze, load
from virtxlate.argv import format_argv, option_words
from virtxlate.errors import VirtxlateError

BUSES = ["scsi", "virtio", "ide", "sata", "usb", "fdc", "sd", "xen", "nvme", "bogus"]
DEVICES = ["disk", "cdrom", "floppy", "lun"]
SCSI_MODELS = ["virtio-scsi", "lsilogic", "vmpvscsi", "lsisas1078", "auto", "ibmvscsi", None]


@st.composite
def disks(draw):
    bus = draw(st.sampled_from(BUSES))
    prefix = {"virtio": "vd", "ide": "hd", "fdc": "fd"}.get(bus, "sd")
    dev = prefix + draw(st.sampled_from(["a", "b", "c", "h", "z", "aa", "1"]))
    kind = draw(st.sampled_from(["file", "block", "dir", "network", "volume"]))
    source = {
        "file": "<source file='/i/x,y.img'/>",
        "block": "<source dev='/dev/sdq'/>",
        "dir": "<source dir='/srv'/>",
        "volume": "<source pool='p' volume='v'/>",
        "network": "<source protocol='nbd' name='e'><host name='h' port='1'/></source>",
    }[kind]
    if draw(st.booleans()):
        source = ""
    address = ""
    if draw(st.booleans()):
        address = (
            f"<address type='drive' controller='{draw(st.integers(0, 2))}' bus='0' "
            f"target='{draw(st.integers(0, 300))}' unit='{draw(st.integers(0, 20))}'/>"
        )
    elif draw(st.booleans()):
        address = (
            f"<address type='pci' domain='0' bus='0' slot='{draw(st.integers(1, 31))}'"
            " function='0'/>"
        )
    driver = draw(
        st.sampled_from(
            [
                "",
                "<driver name='qemu' type='qcow2' cache='none'/>",
                "<driver name='qemu' type='raw' iothread='1' queues='2'/>",
                "<driver name='qemu' error_policy='enospace'/>",
            ]
        )
    )
    boot = draw(st.sampled_from(["", "<boot order='1'/>", "<boot order='2'/>"]))
    return (
        f"<disk type='{kind}' device='{draw(st.sampled_from(DEVICES))}'>{driver}{source}"
        f"<target dev='{dev}' bus='{bus}'/>{address}{boot}</disk>"
    )


@st.composite
def controllers(draw):
    kind = draw(st.sampled_from(["scsi", "ide", "sata", "usb", "virtio-serial", "fdc"]))
    model = draw(st.sampled_from(SCSI_MODELS)) if kind == "scsi" else None
    model_attr = f" model='{model}'" if model else ""
    driver = "<driver queues='4' iothread='1'/>" if draw(st.booleans()) else ""
    return (
        f"<controller type='{kind}' index='{draw(st.integers(0, 2))}'{model_attr}>"
        f"{driver}</controller>"
    )


@st.composite
def domains(draw):
    machine = draw(st.sampled_from(["pc", "q35", "isapc", "pc-1.2", "pc-i440fx-1.5"]))
    boots = "".join(
        f"<boot dev='{d}'/>"
        for d in draw(st.lists(st.sampled_from(["hd", "cdrom", "fd", "network"]), max_size=3))
    )
    parts = draw(st.lists(st.one_of(disks(), controllers()), max_size=8))
    xml = (
        f"<domain type='qemu'><name>g</name><iothreads>1</iothreads>"
        f"<os><type arch='x86_64' machine='{machine}'>hvm</type>{boots}</os>"
        f"<devices>{''.join(parts)}</devices></domain>"
    )
    return xml.replace("><", ">\n<")  # one element a line: a finding's line says which


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(xml=domains(), release=st.sampled_from(["1.2", "1.5"]))
def test_any_storage_gets_an_answer_not_a_traceback(xml, release):
    try:
        result = analyze(load(xml), release)
    except VirtxlateError:
        return
    if result.ok:
        assert result.argv is not None and result.graph is not None
        words = option_words(result.plan)
        assert shlex.split(format_argv(words, "shell")) == result.argv
        drive_ids = [
            w.split("id=", 1)[1].split(",")[0]
            for w in result.argv
            if w.startswith(("file=", "if=")) and "id=" in w
        ]
        assert len(drive_ids) == len(set(drive_ids))
    # every finding points at the element it is about: its XPath names one element of the
    # input, and its line is that element's line
    document = etree.fromstring(xml.encode()).getroottree()
    for finding in result.findings:
        assert re.fullmatch(r"VX\d{4}", finding.code), finding
        nodes = document.xpath(finding.xpath.split("/@", 1)[0])
        assert len(nodes) == 1, finding
        assert finding.line == nodes[0].sourceline, (finding, xml)
