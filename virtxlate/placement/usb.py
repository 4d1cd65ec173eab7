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
from dataclasses import dataclass, field

from lxml import etree

from ..errors import InvalidValue
from ..model import Domain
from ..model.fields import xpath_of
from ..option import Option
from .addresses import address_number, disk_index, sorted_by_type_and_index

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
# the USB devices of a domain, in libvirt's order (virDomainUSBDeviceDefForeach)
_DEVICES = (
    "devices/hostdev[@type='usb']",
    "devices/disk[target/@bus='usb']",
    "devices/controller[@type='ccid']",
    "devices/input[@bus='usb']",
    "devices/sound[@model='usb']",
    "devices/redirdev[@bus='usb']",
)


@dataclass
class _Hub:
    ports: list[_Hub | bool | None]  # None: free, True: a device, _Hub: a hub

    def take(self, path: tuple[int, ...], what: _Hub | bool) -> bool:
        """Plug WHAT at PATH; False when a hub on the way is not there."""
        hub = self
        for number in path[:-1]:
            below = hub.ports[number - 1] if number <= len(hub.ports) else None
            if not isinstance(below, _Hub):
                return False
            hub = below
        if path[-1] <= len(hub.ports):
            hub.ports[path[-1] - 1] = what
        return True

    def free_port(self) -> tuple[int, ...] | None:
        """virDomainUSBAddressFindFreePort: this hub's free ports, then its hubs'."""
        for number, used in enumerate(self.ports, start=1):
            if used is None:
                return (number,)
        for number, used in enumerate(self.ports, start=1):
            if isinstance(used, _Hub):
                below = used.free_port()
                if below is not None:
                    return (number, *below)
        return None


@dataclass
class UsbPorts:
    """The ports of the first USB bus (usb.0) and the hubs libvirt plugs into it."""

    ports: dict[int, str] = field(default_factory=dict)  # id(element) → port path
    hubs: list[str] = field(default_factory=list)  # hub0, hub1, … → its port
    # the elements themselves, so that lxml keeps their proxies (and ids) while we are
    elements: list[etree._Element] = field(default_factory=list)

    def port_of(self, element: etree._Element) -> str | None:
        return self.ports.get(id(element))


def assign_usb_ports(domain: Domain, default_model: str) -> UsbPorts:
    """Ports of every USB device of DOMAIN on controller 0 (DEFAULT_MODEL when the domain
    names none): those written, then libvirt's hubs, then the rest in libvirt's order."""
    result = UsbPorts()
    usb = domain.element.findall("devices/controller[@type='usb']")
    # index 0 as a number: index='00' is 0 for libvirt too
    controller = next((c for c in usb if address_number(c.get("index")) == 0), None)
    if controller is None and usb:
        controller = usb[0]
    model = default_model if controller is None else controller.get("model") or default_model
    if model == "none":
        return result
    root_ports = (
        _int(controller.get("ports"), controller)
        if controller is not None and controller.get("ports")
        else _MODEL_PORTS.get(model, 2)
    )
    root = _Hub([None] * root_ports)
    devices = [node for path in _DEVICES for node in _in_libvirt_order(domain.element.xpath(path))]
    result.elements = devices
    written_hubs = domain.element.findall("devices/hub[@type='usb']")
    # qemuDomainUSBAddressAddHubs: hubs for the devices beyond the ports there are
    available = root_ports + HUB_PORTS * len(written_hubs)
    count = len(devices) + len(written_hubs)
    added = -(-(count - available + 1) // (HUB_PORTS - 1)) if count > available else 0
    hubs: list[etree._Element | None] = [*written_hubs, *([None] * added)]
    # the written places first, hubs before devices (a device may sit behind a hub)
    placed: dict[int, tuple[int, ...]] = {}
    for index, hub in enumerate(hubs):
        path = _written_port(hub)
        if path is not None:
            placed[index] = path
            root.take(path, _Hub([None] * HUB_PORTS))
    for node in devices:
        path = _written_port(node)
        if path is not None:
            result.ports[id(node)] = ".".join(map(str, path))
            if not root.take(path, True):
                # libvirt reserves written ports before it places hubs that have none
                address = node.find("address[@type='usb']")
                raise InvalidValue(
                    f"<{node.tag}> is at USB port {'.'.join(map(str, path))}, and there is "
                    f'no hub at port {".".join(map(str, path[:-1]))} (libvirt: "there is '
                    'no hub at port")',
                    line=address.sourceline or 0,
                    xpath=f"{xpath_of(address)}/@port",
                )
    for index in range(len(hubs)):
        if index not in placed:
            path = root.free_port()
            if path is None:
                break  # libvirt: "No free USB ports"; the devices keep no port
            placed[index] = path
            root.take(path, _Hub([None] * HUB_PORTS))
    result.hubs = [".".join(map(str, placed[i])) for i in sorted(placed)]
    for node in devices:
        if id(node) in result.ports:
            continue
        path = root.free_port()
        if path is None:
            break
        root.take(path, True)
        result.ports[id(node)] = ".".join(map(str, path))
    return result


def usb_devices(domain: Domain) -> list[etree._Element]:
    """The elements of DOMAIN's USB devices (hubs included), in libvirt's order."""
    devices = [node for path in _DEVICES for node in domain.element.xpath(path)]
    return devices + domain.element.findall("devices/hub[@type='usb']")


def _in_libvirt_order(nodes: list[etree._Element]) -> list[etree._Element]:
    """Disks as libvirt keeps them (by target name: sdb before sdc, whatever the XML's
    order, virDomainDiskInsertPreAlloced); the other devices as written."""
    if not nodes or nodes[0].tag != "disk":
        return nodes
    return sorted_by_type_and_index(
        nodes, lambda node: "usb", lambda node: disk_index(node.find("target").get("dev")) or 0
    )


def hub_options(ports: UsbPorts) -> list[Option]:
    """-device usb-hub of each hub, written or added (qemuBuildHubCommandLine)."""
    return [
        Option("-device", "usb-hub", [("id", f"hub{index}"), ("bus", "usb.0"), ("port", port)])
        for index, port in enumerate(ports.hubs)
    ]


def _written_port(node: etree._Element | None) -> tuple[int, ...] | None:
    address = node.find("address[@type='usb']") if node is not None else None
    if node is None or address is None or address.get("port") is None:
        return None
    text = address.get("port", "")
    if not _PORT.fullmatch(text):
        raise InvalidValue(
            f"address/@port of <{node.tag}> is '{text}': expected a USB port like 1 or 1.2",
            line=address.sourceline or 0,
            xpath=f"{xpath_of(address)}/@port",
        )
    return tuple(int(n) for n in text.split("."))


def _int(text: str | None, node: etree._Element) -> int:
    try:
        return int(text or "", 0)
    except ValueError:
        raise InvalidValue(
            f"@ports of <{node.tag}> is '{text}': expected an integer",
            line=node.sourceline or 0,
            xpath=f"{xpath_of(node)}/@ports",
        ) from None
