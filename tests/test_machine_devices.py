"""vmgenid (<genid>) and vmcoreinfo (<features><vmcoreinfo state='on'/>): devices the
domain's own elements ask for, against libvirt 9.0's line (oVirt turns vmcoreinfo on;
Windows guests carry a <genid>)."""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_only import both_lines

from virtxlate.api import analyze, load

GUEST = """<domain type='qemu'><name>gen</name>
<uuid>0b0c6c2a-6c3e-4b6a-9d7b-6f0f6b3f1a14</uuid>{genid}<memory>262144</memory>
<os><type arch='x86_64' machine='q35'>hvm</type>{smbios}</os>
<features><acpi/>{vmcoreinfo}</features><devices/></domain>"""
GUID = "43dc0cf8-809b-4adb-9bea-a9abb5f3d90d"


def _xml(genid: str = "", vmcoreinfo: str = "", smbios: str = "") -> str:
    return GUEST.format(genid=genid, vmcoreinfo=vmcoreinfo, smbios=smbios)


@pytest.mark.parametrize(
    "xml",
    [
        _xml(f"<genid>{GUID}</genid>", "<vmcoreinfo state='on'/>"),
        _xml(f"<genid>{GUID}</genid>", "<vmcoreinfo state='off'/>", "<smbios mode='emulate'/>"),
        _xml("", "<vmcoreinfo state='on'/>"),
    ],
)
def test_the_line_is_libvirts(virsh: str, tmp_path: Path, xml: str) -> None:  # noqa: F811
    ours, theirs = both_lines(virsh, xml, tmp_path)
    assert ours == theirs


def test_an_empty_genid_is_libvirts_to_make_up() -> None:
    result = analyze(load(_xml("<genid/>")), "7.2")
    device = result.argv[result.argv.index("-device") + 1]
    assert device == '{"driver":"vmgenid","guid":"<random-genid>","id":"vmgenid0"}'
    assert [(f.code, f.xpath) for f in result.findings] == [("VX0701", "/domain/genid")]


def test_vmcoreinfo_needs_a_release_that_has_it() -> None:
    result = analyze(load(_xml("", "<vmcoreinfo state='on'/>")), "2.10")
    assert [(f.code, f.since) for f in result.findings if f.is_error] == [("VX0303", "2.11")]
    assert analyze(load(_xml("", "<vmcoreinfo state='on'/>")), "2.11").ok


@pytest.mark.parametrize(
    "xml",
    [
        _xml(f"<genid>{GUID}</genid>", "<vmcoreinfo state='on'/>"),
        _xml("<genid/>"),
        "<domain type='qemu'><name>sga</name><memory>262144</memory><os><type "
        "arch='x86_64' machine='pc'>hvm</type><bios useserial='yes'/></os><devices>"
        "<serial type='pty'/></devices></domain>",
    ],
)
def test_from_argv_reads_them_back(xml: str) -> None:
    from virtxlate.native.todomain import domain_from_argv
    from virtxlate.native.words import CommandLine

    first = analyze(load(xml), "7.2").argv
    assert first is not None
    back = domain_from_argv(CommandLine(first[0], first[1:], "line"))
    assert "qemu:arg" not in back.xml
    assert analyze(load(back.xml), "7.2").argv == first
