"""The seed's virtio refactoring in the graph, device by device: from QEMU 1.5 each virtio
PCI proxy (net, balloon, rng, serial, 9p) carries a `virtio-bus` with its `*-device`
half, where 1.2's proxy is the device itself (the 1.2 and 1.5 capability tables say so;
the 1.5 tree of a 9p proxy is QEMU 1.5's hw/9pfs/virtio-9p-device.c split).  Needs no
QEMU: the graph is built from the options libvirt writes for such a guest."""

from __future__ import annotations

import pytest

from virtxlate import caps
from virtxlate.graph import build_graph
from virtxlate.graph.nodes import Bus, Device
from virtxlate.option import Option

PROXIES = {
    "virtio-net-pci": ("net0", "virtio-net-device"),
    "virtio-balloon-pci": ("balloon0", "virtio-balloon-device"),
    "virtio-serial-pci": ("virtio-serial0", "virtio-serial-device"),
    "virtio-9p-pci": ("fs0", "virtio-9p-device"),
    "virtio-rng-pci": ("rng0", "virtio-rng-device"),  # (from 1.3: not in 1.2)
}


def _graph(release: str) -> Bus:
    table = caps.load(release)
    machine = table.machine("pc")
    assert machine is not None
    options = [
        Option("-device", driver, [("id", device_id), ("bus", "pci.0"), ("addr", hex(3 + n))])
        for n, (driver, (device_id, _)) in enumerate(PROXIES.items())
        if table.device(driver) is not None
    ]
    return build_graph(table, machine.name, table.family_of(machine), options).root


def _device(bus: Bus, device_id: str) -> Device:
    for device in bus.devices:
        if device.id == device_id:
            return device
        for child in device.buses:
            try:
                return _device(child, device_id)
            except LookupError:
                pass
    raise LookupError(device_id)


@pytest.mark.parametrize("proxy", sorted(PROXIES))
def test_from_1_5_the_proxy_carries_its_device_on_a_virtio_bus(proxy):
    device_id, inner = PROXIES[proxy]
    device = _device(_graph("1.5"), device_id)
    assert [(b.name, b.type) for b in device.buses][:1] == [("virtio-bus", "virtio-pci-bus")]
    assert [d.type for d in device.buses[0].devices] == [inner]


@pytest.mark.parametrize("proxy", sorted(p for p in PROXIES if p != "virtio-rng-pci"))
def test_in_1_2_the_proxy_is_the_device(proxy):
    device_id, _ = PROXIES[proxy]
    device = _device(_graph("1.2"), device_id)
    assert device.type == proxy
    assert all(b.type != "virtio-pci-bus" for b in device.buses)


def test_the_serial_bus_moves_below_the_device_half_keeping_its_name():
    old = _device(_graph("1.2"), "virtio-serial0")
    new = _device(_graph("1.5"), "virtio-serial0")
    assert [b.name for b in old.buses] == ["virtio-serial0.0"]
    inner = new.buses[0].devices[0]
    assert [b.name for b in inner.buses] == ["virtio-serial0.0"]


def test_rng_is_not_in_1_2():
    assert caps.load("1.2").device("virtio-rng-pci") is None
    with pytest.raises(LookupError):
        _device(_graph("1.2"), "rng0")
