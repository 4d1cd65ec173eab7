"""libvirt's channel-I/O addresses on s390x: a devno for every virtio device.

libvirt 9.0 (checked with its domxml-to-native) numbers devices fe.0.0000 upward in the
order of virDomainDeviceInfoIterate: disks first, then interfaces, host devices, the
controllers and the balloon, skipping the devnos written in the XML.
"""

from __future__ import annotations

from ..errors import InvalidValue
from ..model import Domain
from ..model.devices import Device
from .addresses import disk_index, sorted_by_type_and_index


def ccw_text(cssid: int, ssid: int, devno: int) -> str:
    return f"{cssid:x}.{ssid:x}.{devno:04x}"


def assign_devnos(domain: Domain, implicit: tuple[str, ...] = ()) -> dict[object, str]:
    """Each device element that gets a devno → its devno text, then each name of IMPLICIT
    (devices libvirt adds, numbered after the domain's own).  The elements themselves are
    the keys: holding them keeps lxml's proxies, so later look-ups find them."""
    taken = set()
    for _, address in domain.addressed("ccw"):
        try:
            taken.add(address.devno or 0)
        except InvalidValue:
            continue
    disks = sorted_by_type_and_index(
        domain.disks, lambda d: d.bus, lambda d: disk_index(d.dev) or 0
    )
    order: list[Device] = [d for d in disks if d.bus == "virtio"]
    order += [*domain.interfaces, *domain.hostdevs]
    order += [c for c in domain.controllers if c.type in ("scsi", "virtio-serial")]
    # the balloon last (checked with libvirt 9.0: after the interfaces)
    order += [b for b in domain.memballoons if b.model != "none"]
    result: dict[object, str] = {}
    devno = 0
    keys = [device.element for device in order if device.address is None]
    for node in [*keys, *implicit]:
        while devno in taken:
            devno += 1
        taken.add(devno)
        result[node] = ccw_text(0xFE, 0, devno)
    return result
