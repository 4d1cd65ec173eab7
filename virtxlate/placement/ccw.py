"""libvirt's channel-I/O addresses on s390x: a devno for every virtio device.

libvirt 9.0 (checked with its domxml-to-native) numbers devices fe.0.0000 upward in the
order of virDomainDeviceInfoIterate: disks first, then interfaces, host devices, the
controllers and the balloon, skipping the devnos written in the XML.
"""

from __future__ import annotations

from ..model import Domain
from .addresses import disk_index, sorted_by_type_and_index


def ccw_text(cssid: int, ssid: int, devno: int) -> str:
    return f"{cssid:x}.{ssid:x}.{devno:04x}"


def assign_devnos(domain: Domain, implicit: tuple[str, ...] = ()) -> dict[object, str]:
    """Each device element that gets a devno → its devno text, then each name of IMPLICIT
    (devices libvirt adds, numbered after the domain's own).  The elements themselves are
    the keys: holding them keeps lxml's proxies, so later look-ups find them."""
    devices = domain.element.find("devices")
    if devices is None:
        return {}
    taken = set()
    for address in devices.iterfind("*/address[@type='ccw']"):
        try:
            taken.add(int(address.get("devno", "0"), 16))
        except ValueError:
            continue
    disks = sorted_by_type_and_index(
        [d for d in devices.findall("disk")],
        lambda d: d.find("target").get("bus") if d.find("target") is not None else None,
        lambda d: (
            disk_index(d.find("target").get("dev")) or 0 if d.find("target") is not None else 0
        ),
    )
    order = [
        d for d in disks if d.find("target") is not None and d.find("target").get("bus") == "virtio"
    ]
    order += devices.findall("interface") + devices.findall("hostdev")
    order += [
        c for c in devices.findall("controller") if c.get("type") in ("scsi", "virtio-serial")
    ]
    # the balloon last (checked with libvirt 9.0: after the interfaces)
    order += [b for b in devices.findall("memballoon") if b.get("model") != "none"]
    result: dict[object, str] = {}
    devno = 0
    for node in [*(n for n in order if n.find("address") is None), *implicit]:
        while devno in taken:
            devno += 1
        taken.add(devno)
        result[node] = ccw_text(0xFE, 0, devno)
    return result
