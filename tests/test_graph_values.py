"""Values the graph shows as QEMU would take them: a host placeholder as written (a USB
host device by vendor/product before QEMU printed its hostbus as text), a value that is
no number a one-line input error (exit 3) — never a traceback."""

from __future__ import annotations

import pytest
from conftest import run_cli

from virtxlate.api import analyze, load
from virtxlate.graph.render import qtree_text

USB_BY_ID = load(
    "<domain type='qemu'><name>u</name><memory>262144</memory><os><type arch='x86_64' "
    "machine='pc'>hvm</type></os><devices><hostdev mode='subsystem' type='usb'><source>"
    "<vendor id='0x1234'/><product id='0xbeef'/></source></hostdev></devices></domain>"
)


@pytest.mark.parametrize("release", ["1.5", "2.4"])
def test_a_host_placeholder_is_shown_as_written(release):
    # (a traceback here before: int() of the placeholder for hostbus, a uint32)
    result = analyze(USB_BY_ID, release)
    assert result.graph is not None, [f.message for f in result.findings]
    assert "VX0701" in [f.code for f in result.findings]
    text = qtree_text(result.graph)
    assert 'dev: usb-host, id "hostdev0"' in text
    assert 'hostbus = "<bus of 0x1234:0xbeef>"' in text


def test_a_value_that_is_no_number_is_bad_input(tmp_path):
    line = tmp_path / "bad.args"
    line.write_text("-M pc -device virtio-blk-pci,drive=d,vectors=abc -drive if=none,id=d\n")
    result = run_cli("tree", "--argv", str(line), "--qemu", "2.4")
    assert result.returncode == 3
    assert "vectors" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_isapc_has_no_pci_bus_for_the_default_balloon():
    # libvirt 9.0 refuses it: "XML error: No PCI buses available" (its default balloon)
    from virtxlate.api import check

    isapc = load(
        "<domain type='qemu'><name>i</name><memory>262144</memory><os><type "
        "arch='x86_64' machine='isapc'>hvm</type></os><devices/></domain>"
    )
    common, per_release = check(isapc, ["7.2"])
    refused = [f for f in common + per_release[0][1] if f.is_error]
    assert [f.code for f in refused] == ["VX0302"]
    assert "No PCI buses available" in refused[0].message
    without = load(
        "<domain type='qemu'><name>i</name><memory>262144</memory><os><type "
        "arch='x86_64' machine='isapc'>hvm</type></os><devices><memballoon model='none'/>"
        "</devices></domain>"
    )
    common, per_release = check(without, ["7.2"])
    assert [f for f in common + per_release[0][1] if f.is_error] == []
