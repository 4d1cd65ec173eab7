"""USB ports as libvirt gives them (qemuDomainAssignUSBAddresses, libvirt 9.0).

Every USB device takes a port of the first USB controller: host devices first, then disks,
CCID controllers, input devices, sound cards and redirected devices, in that order (checked
with libvirt 9.0's domxml-to-native), each the first free port, looking at a hub's own
ports before the ports of the hubs plugged into it (port 2 before 1.1).  When the devices
outnumber the ports, libvirt adds usb-hub devices (eight ports each, one of them taken by
the next hub) and plugs them in first.  A device with an <address type='usb' port='…'/> keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lxml import etree

from ..errors import InvalidValue
from ..model import Domain
from ..model.devices import Device
from ..model.fields import xpath_of
from ..option import Option
from .addresses import disk_index, number_of, sorted_by_type_and_index

# virDomainUSBAddressControllerModelToPorts: the root ports of each controller model
_MODEL_PORTS = {
    "piix3-uhci": 2,
    "piix4-uhci": 2,
    "vt82c686b-uhci": 2,
    "ich9-uhci1": 2,
    "ich9-uhci2": 2,
    "ich9-uhci3": 2,
    "ehci": 6,
    "ich9-ehci1": 6,
    "pci-ohci": 3,
    "nec-xhci": 4,
    "qemu-xhci": 4,
}
HUB_PORTS = 8
_PORT = re.compile(r"[1-9]\d*(\.[1-9]\d*){0,4}")


def usb_devices(domain: Domain, added_ccid: Sequence[Device] = ()) -> list[Device]:
    """The USB devices of DOMAIN in libvirt's order (virDomainUSBDeviceDefForeach): host
    devices, disks (by target name, virDomainDiskInsertPreAlloced), CCID controllers (and
    ADDED_CCID, those libvirt adds for smartcards), inputs, USB serial ports, sound cards,
    redirected devices (checked with libvirt 9.0).  The domain's own are kept with its
    reads: placement and the USB controllers' options both ask."""
    before, after = domain.derived(usb_devices, _usb_devices, domain)
    return [*before, *added_ccid, *after] if added_ccid else [*before, *after]


def _usb_devices(domain: Domain) -> tuple[list[Device], list[Device]]:
    """(the USB devices before the CCID controllers libvirt adds, those after)."""
    disks = [disk for disk in domain.disks if disk.bus == "usb"]
    before: list[Device] = [
        *(hostdev for hostdev in domain.hostdevs if hostdev.type == "usb"),
        *sorted_by_type_and_index(disks, lambda disk: "usb", lambda d: disk_index(d.dev) or 0),
        *(controller for controller in domain.controllers if controller.type == "ccid"),
    ]
    after: list[Device] = [
        *(device for device in domain.inputs if device.bus == "usb"),
        *(serial for serial in domain.serials if serial.target_type == "usb-serial"),
        *(sound for sound in domain.sounds if sound.model == "usb"),
        *(redirdev for redirdev in domain.redirdevs if redirdev.bus == "usb"),
    ]
    return before, after


class _Hub:
    """A hub's ports while they are taken: the taken ones by number, 1 to SIZE (a plain
    class: a dataclass costs a quarter of a millisecond to define at every start; a dict:
    ports='99999999999' must not make a list of that many ports)."""

    __slots__ = ("size", "taken")

    def __init__(self, size: int) -> None:
        self.size = size
        self.taken: dict[int, _Hub | bool] = {}  # True: a device, _Hub: a hub

    def take(self, path: tuple[int, ...], what: _Hub | bool) -> bool:
        """Plug WHAT at PATH (ports from 1); False when a hub on the way is not there."""
        hub = self
        for number in path[:-1]:
            below = hub.taken.get(number)
            if not isinstance(below, _Hub):
                return False
            hub = below
        if path[-1] <= hub.size:
            hub.taken[path[-1]] = what
        return True

    def free_port(self) -> tuple[int, ...] | None:
        """virDomainUSBAddressFindFreePort: this hub's free ports, then its hubs'."""
        taken = self.taken
        # the lowest free port: at most one past the taken ones
        for number in range(1, min(self.size, len(taken) + 1) + 1):
            if number not in taken:
                return (number,)
        for number in sorted(taken):
            used = taken[number]
            if isinstance(used, _Hub):
                below = used.free_port()
                if below is not None:
                    return (number, *below)
        return None


class UsbPorts:
    """The ports of the first USB bus (usb.0) and the hubs libvirt plugs into it."""

    __slots__ = ("ports", "hubs", "elements")

    def __init__(self) -> None:
        self.ports: dict[int, str] = {}  # id(element) → port path
        self.hubs: list[str] = []  # hub0, hub1, … → its port
        # the elements themselves, so that lxml keeps their proxies (and ids) while we are
        self.elements: list[etree._Element] = []

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UsbPorts):
            return NotImplemented
        return (self.ports, self.hubs, self.elements) == (other.ports, other.hubs, other.elements)

    def __repr__(self) -> str:
        return f"UsbPorts(ports={self.ports!r}, hubs={self.hubs!r})"

    def port_of(self, element: etree._Element) -> str | None:
        return self.ports.get(id(element))


def assign_usb_ports(
    domain: Domain, default_model: str, added_ccid: Sequence[Device] = ()
) -> UsbPorts:
    """Ports of every USB device of DOMAIN on controller 0 (DEFAULT_MODEL when the domain
    names none), ADDED_CCID included: those written, then libvirt's hubs, then the rest in
    libvirt's order."""
    result = UsbPorts()
    usb = [controller for controller in domain.controllers if controller.type == "usb"]
    # index 0 as a number: index='00' is 0 for libvirt too
    controller = next((c for c in usb if number_of(c, "index") == 0), None)
    if controller is None and usb:
        controller = usb[0]
    model = default_model if controller is None else controller.model or default_model
    if model == "none":
        return result
    root_ports = (controller.ports if controller is not None else None) or _MODEL_PORTS.get(
        model, 2
    )
    every = usb_devices(domain, added_ccid)
    if not every and len(usb) <= 1 and not any(hub.type == "usb" for hub in domain.hubs):
        # no device, no hub: no port to give (and no other controller to read)
        return result
    root = _Hub(root_ports)
    result.elements = [device.element for device in every]
    # a device whose <address type='usb' bus='N'> names another controller takes a port
    # of that one (qemuDomainUSBAddressAssign per bus), hubs being usb.0's alone
    devices = [device for device in every if _bus_of(device) == 0]
    _other_buses(domain, [device for device in every if _bus_of(device) != 0], result)
    written_hubs: list[Device] = [hub for hub in domain.hubs if hub.type == "usb"]
    # qemuDomainUSBAddressAddHubs: hubs for the devices beyond the ports there are
    available = root_ports + HUB_PORTS * len(written_hubs)
    count = len(devices) + len(written_hubs)
    added = -(-(count - available + 1) // (HUB_PORTS - 1)) if count > available else 0
    hubs: list[Device | None] = [*written_hubs, *([None] * added)]
    # the written places first, hubs before devices (a device may sit behind a hub)
    placed: dict[int, tuple[int, ...]] = {}
    for index, hub in enumerate(hubs):
        path = _written_port(hub)
        if path is not None:
            placed[index] = path
            root.take(path, _Hub(HUB_PORTS))
    for device in devices:
        path = _written_port(device)
        if path is not None:
            result.ports[id(device.element)] = ".".join(map(str, path))
            if not root.take(path, True):
                # libvirt reserves written ports before it places hubs that have none
                raise InvalidValue(
                    f"<{device.kind}> is at USB port {'.'.join(map(str, path))}, and there is "
                    f'no hub at port {".".join(map(str, path[:-1]))} (libvirt: "there is '
                    'no hub at port")',
                    line=device.element.sourceline or 0,
                    xpath=f"{xpath_of(device.element)}/address/@port",
                )
    for index in range(len(hubs)):
        if index not in placed:
            path = root.free_port()
            if path is None:
                break  # libvirt: "No free USB ports"; the devices keep no port
            placed[index] = path
            root.take(path, _Hub(HUB_PORTS))
    result.hubs = [".".join(map(str, placed[i])) for i in sorted(placed)]
    for device in devices:
        if id(device.element) in result.ports:
            continue
        path = root.free_port()
        if path is None:
            break
        root.take(path, True)
        result.ports[id(device.element)] = ".".join(map(str, path))
    return result


def hub_options(ports: UsbPorts, bus: str = "usb.0") -> list[Option]:
    """-device usb-hub of each hub, written or added, on the first USB controller's BUS
    (qemuBuildHubCommandLine)."""
    return [
        Option("-device", "usb-hub", [("id", f"hub{index}"), ("bus", bus), ("port", port)])
        for index, port in enumerate(ports.hubs)
    ]


def _bus_of(device: Device) -> int:
    """The USB controller index DEVICE's address names (0 when it names none)."""
    address = device.address
    if address is None or address.type != "usb":
        return 0
    return address.bus or 0


def _other_buses(domain: Domain, devices: list[Device], result: UsbPorts) -> None:
    """Ports of DEVICES on controllers other than index 0: written ones kept, the rest the
    lowest free root port of their controller (none when it has no free one)."""
    sizes: dict[int, int] = {}
    for controller in domain.controllers:
        index = number_of(controller, "index")
        if controller.type == "usb" and index is not None:
            model = controller.model or ""
            sizes[index] = controller.ports or _MODEL_PORTS.get(model, 2)
    roots = {index: _Hub(size) for index, size in sizes.items()}
    unplaced = []
    for device in devices:
        path = _written_port(device)
        root = roots.get(_bus_of(device))
        if path is None:
            unplaced.append(device)
        elif root is not None:
            result.ports[id(device.element)] = ".".join(map(str, path))
            root.take(path, True)
    for device in unplaced:
        root = roots.get(_bus_of(device))
        path = root.free_port() if root is not None else None
        if root is not None and path is not None:
            root.take(path, True)
            result.ports[id(device.element)] = ".".join(map(str, path))


def _written_port(device: Device | None) -> tuple[int, ...] | None:
    """The USB port DEVICE's address names (a dotted path through hubs), if any."""
    address = device.address if device is not None else None
    if device is None or address is None or address.type != "usb" or address.port is None:
        return None
    text = address.port
    if not _PORT.fullmatch(text):
        raise InvalidValue(
            f"address/@port of <{device.kind}> is '{text}': expected a USB port like 1 or 1.2",
            line=address.element.sourceline or 0,
            xpath=f"{xpath_of(address.element)}/@port",
        )
    return tuple(int(n) for n in text.split("."))
