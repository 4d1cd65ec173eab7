"""The USB controllers of bus usb.0 (the one a USB disk plugs into) as libvirt 9.0 writes
them, against command lines captured from its domxml-to-native (tests/data/libvirt-9.0-usb):
the controllers' -device options, the USB disk's and the virtio disk's, option for option."""

from __future__ import annotations

import shlex

import pytest
from conftest import DATA

from virtxlate.api import analyze, load
from virtxlate.argv.storage import device_driver
from virtxlate.host import FixedHost
from virtxlate.props.controllers import USB_DEVICES

CASES = DATA / "libvirt-9.0-usb"
COMPARED = frozenset({*USB_DEVICES.values(), "usb-storage", "virtio-blk-pci"})


def _usb0_options(words: list[str]) -> list[str]:
    """-device values of the compared drivers, those of every USB bus."""
    return [
        value
        for flag, value in zip(words, words[1:], strict=False)
        if flag == "-device" and device_driver(value) in COMPARED
    ]


@pytest.mark.parametrize("case", sorted(CASES.glob("*.xml")), ids=lambda p: p.stem)
def test_usb_controllers_are_libvirts(case):
    words = shlex.split(case.with_suffix(".args").read_text())
    expected = _usb0_options(words)
    assert any(device_driver(value) in USB_DEVICES.values() for value in expected)
    result = analyze(load(case.read_text()), "7.2", host=FixedHost())
    assert result.argv is not None, result.findings
    assert not [f for f in result.findings if f.code == "VX0900"], result.findings
    assert _usb0_options(result.argv) == expected


def test_a_usb_companion_has_no_bus_of_its_own():
    """QEMU's UHCI given masterbus= registers its ports on its master's bus
    (usb_uhci_common_realize): the graph has one USB bus, usb.0."""
    from virtxlate import caps
    from virtxlate.graph import build_graph
    from virtxlate.graph.nodes import Bus
    from virtxlate.option import Option

    table = caps.load("7.2")
    machine = table.machine("pc")
    assert machine is not None, "7.2 names a default pc machine"
    options = [
        Option("-device", "piix3-usb-uhci", [("id", "usb"), ("addr", "0x5")]),
        Option(
            "-device", "piix3-usb-uhci", [("masterbus", "usb.0"), ("firstport", 2), ("addr", "0x6")]
        ),
    ]
    graph = build_graph(table, machine.name, table.family_of(machine), options)
    buses, stack = [], [graph.root]
    while stack:
        bus: Bus = stack.pop()
        buses.append(bus.name)
        stack += [child for device in bus.devices for child in device.buses]
    assert [name for name in buses if "usb" in name.lower() or "none" in name.lower()] == ["usb.0"]


@pytest.mark.parametrize("case", sorted(CASES.glob("*.xml")), ids=lambda p: p.stem)
def test_a_usb_disk_behind_any_controller_model_has_a_graph(case):
    """Every USB controller model libvirt writes provides usb.0 in the tables (probed:
    tools/caps-replies): a USB disk behind an ich9 set, EHCI, OHCI or PIIX4 UHCI is in
    the graph, not refused with "Bus 'usb.0' not found" (a false error before)."""
    result = analyze(load(case.read_text()), "7.2", host=FixedHost())
    assert result.ok, [f.message for f in result.findings if f.is_error]
    assert result.graph is not None, result.findings
    usb_buses, stack = [], [result.graph.root]
    while stack:
        bus = stack.pop()
        if bus.type == "usb-bus":
            usb_buses.append(bus)
        stack += [child for device in bus.devices for child in device.buses]
    # the USB disk sits on usb.0, whichever controller model provides it
    assert [d.type for bus in usb_buses if bus.name == "usb.0" for d in bus.devices] == [
        "usb-storage"
    ]
