"""The ports of virtio-serial buses as libvirt gives them (qemuDomainAssignVirtioSerialAddresses,
libvirt 9.0, checked with domxml-to-native).

Every port written in an <address type='virtio-serial'> is kept first (channels' and
consoles'); then each virtio <channel> without a port takes the lowest free port from 1 of
the controller its address names, else of the first controller that has one free, in the
order of controller indexes.  A controller has <controller ports> ports (31 without), port 0
being the console's.  A virtio <console> without a port gets none: libvirt writes its
virtconsole without a bus.  When every port is taken libvirt adds a controller (the next
index); the ports here say so by naming that index.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from ..model import Domain
from .addresses import address_number

DEFAULT_PORTS = 31  # VIR_DOMAIN_DEFAULT_VIRTIO_SERIAL_PORTS
_LIMIT = 1 << 16  # bound on the controllers and ports looked at (bad input)


@dataclass(frozen=True)
class SerialPort:
    """A port of bus virtio-serialN.B: controller N, bus B, port number."""

    controller: int
    bus: int
    port: int

    @property
    def bus_name(self) -> str:
        return f"virtio-serial{self.controller}.{self.bus}"


def _number(text: str | None) -> int | None:
    value = address_number(text)
    return value if value is not None and 0 <= value < _LIMIT else None


def _virtio(nodes: Iterable[etree._Element]) -> list[etree._Element]:
    return [node for node in nodes if node.find("target[@type='virtio']") is not None]


def assign_virtio_serial_ports(domain: Domain) -> dict[etree._Element, SerialPort]:
    """The port of every virtio channel and of every virtio console with a written port,
    keyed by the device's element."""
    devices = domain.element.find("devices")
    if devices is None:
        return {}
    channels = _virtio(devices.iterfind("channel"))
    consoles = _virtio(devices.iterfind("console"))
    if not channels and not consoles:
        return {}
    sizes: dict[int, int] = {}
    for controller in devices.iterfind("controller[@type='virtio-serial']"):
        index = _number(controller.get("index"))
        if index is not None:
            sizes[index] = min(_number(controller.get("ports")) or DEFAULT_PORTS, _LIMIT)
    found: dict[etree._Element, SerialPort] = {}
    used: set[tuple[int, int, int]] = set()
    wanted: list[tuple[etree._Element, int | None, int]] = []
    for node in (*channels, *consoles):
        address = node.find("address[@type='virtio-serial']")
        controller = _number(address.get("controller")) if address is not None else None
        bus = (_number(address.get("bus")) or 0) if address is not None else 0
        port = _number(address.get("port")) if address is not None else None
        sizes.setdefault(controller or 0, DEFAULT_PORTS)  # the controller libvirt adds
        if port is not None:
            found[node] = SerialPort(controller or 0, bus, port)
            used.add((controller or 0, bus, port))
        elif node.tag == "channel":
            wanted.append((node, controller, bus))
    for node, controller, bus in wanted:
        candidates = [controller] if controller is not None else sorted(sizes)
        place = _free(candidates, bus, sizes, used)
        if place is None:
            # libvirt adds a controller at the next index for it
            added = max(sizes) + 1
            sizes[added] = DEFAULT_PORTS
            place = SerialPort(added, 0, 1)
        used.add((place.controller, place.bus, place.port))
        found[node] = place
    return found


def _free(
    controllers: list[int], bus: int, sizes: dict[int, int], used: set[tuple[int, int, int]]
) -> SerialPort | None:
    """The lowest free port from 1 of the first of CONTROLLERS that has one."""
    for controller in controllers:
        for port in range(1, sizes.get(controller, DEFAULT_PORTS)):
            if (controller, bus, port) not in used:
                return SerialPort(controller, bus, port)
    return None
