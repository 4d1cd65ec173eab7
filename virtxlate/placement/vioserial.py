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

from typing import NamedTuple

from lxml import etree

from ..model import Domain
from ..model.chardevs import CharDevice
from .addresses import controller_indexes, number_of

DEFAULT_PORTS = 31  # VIR_DOMAIN_DEFAULT_VIRTIO_SERIAL_PORTS
_LIMIT = 1 << 16  # bound on the controllers and ports looked at (bad input)


# a named tuple, not a frozen dataclass: as immutable, and a tenth of the cost to define
# at every start (issue 18)
class SerialPort(NamedTuple):
    """A port of bus virtio-serialN.B: controller N, bus B, port number; the bus is named
    after the controller's user alias when it has one (ALIAS.B, as libvirt 9.0 writes it)."""

    controller: int
    bus: int
    port: int
    alias: str | None = None

    @property
    def bus_name(self) -> str:
        return f"{self.alias or f'virtio-serial{self.controller}'}.{self.bus}"


def _bounded(value: int | None) -> int | None:
    return value if value is not None and 0 <= value < _LIMIT else None


def _written(device: CharDevice) -> tuple[int | None, int, int | None]:
    """(controller, bus, port) of the device's <address type='virtio-serial'>, each None
    (bus 0) when not written or no number (the model's own finding says so)."""
    address = device.address
    if address is None or address.type != "virtio-serial":
        return None, 0, None
    port = address.port
    return (
        _bounded(number_of(address, "controller")),
        _bounded(number_of(address, "bus")) or 0,
        _bounded(int(port)) if port is not None and port.isdigit() else None,
    )


def assign_virtio_serial_ports(domain: Domain) -> dict[etree._Element, SerialPort]:
    """The port of every virtio channel and of every virtio console with a written port,
    keyed by the device's element."""
    channels = [c for c in domain.channels if c.target_type == "virtio"]
    consoles = [c for c in domain.consoles if c.target_type == "virtio"]
    if not channels and not consoles:
        return {}
    sizes: dict[int, int] = {}
    aliases: dict[int, str | None] = {}
    for declared, index in controller_indexes(domain):
        if declared.type == "virtio-serial" and _bounded(index) is not None:
            sizes[index] = _bounded(number_of(declared, "ports")) or DEFAULT_PORTS
            aliases[index] = declared.user_alias
    found: dict[etree._Element, SerialPort] = {}
    used: set[tuple[int, int, int]] = set()
    wanted: list[tuple[CharDevice, int | None, int]] = []
    for device in (*channels, *consoles):
        controller, bus, port = _written(device)
        sizes.setdefault(controller or 0, DEFAULT_PORTS)  # the controller libvirt adds
        if port is not None:
            found[device.element] = SerialPort(controller or 0, bus, port)
            used.add((controller or 0, bus, port))
        elif device.element.tag == "channel":
            wanted.append((device, controller, bus))
    for device, controller, bus in wanted:
        candidates = [controller] if controller is not None else sorted(sizes)
        place = _free(candidates, bus, sizes, used)
        if place is None:
            # libvirt adds a controller at the next index for it
            added = max(sizes) + 1
            sizes[added] = DEFAULT_PORTS
            place = SerialPort(added, 0, 1)
        used.add((place.controller, place.bus, place.port))
        found[device.element] = place
    return {
        element: SerialPort(p.controller, p.bus, p.port, aliases.get(p.controller))
        for element, p in found.items()
    }


def _free(
    controllers: list[int], bus: int, sizes: dict[int, int], used: set[tuple[int, int, int]]
) -> SerialPort | None:
    """The lowest free port from 1 of the first of CONTROLLERS that has one."""
    for controller in controllers:
        for port in range(1, sizes.get(controller, DEFAULT_PORTS)):
            if (controller, bus, port) not in used:
                return SerialPort(controller, bus, port)
    return None
