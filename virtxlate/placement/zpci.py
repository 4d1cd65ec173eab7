"""PCI devices on s390x: the zpci device libvirt writes before each one.

An s390x machine's root is channel I/O; its PCI functions sit on the PCI bus of the
s390-pcihost and each has a zPCI identity (uid, fid), a `zpci` device on the host's
s390-pcibus that names its PCI device as target.  libvirt (virDomainZPCIAddress*)
keeps the uid/fid written in <zpci> and gives the others the lowest free uid from 1
and the lowest free fid from 0, and writes `-device zpci,…,id=zpci<uid>` just before
the device.  QEMU needs that order: a PCI device without a zpci creates its own.
"""

from __future__ import annotations

from ..caps.tables import MachineFamily
from ..model.fields import XmlObject
from ..option import Option


def pci_bus(family: MachineFamily) -> str:
    """The name QEMU gives the PCI bus of the s390x machine's PCI host ('pci.0')."""
    for builtin in family.builtins:
        for name, bus_type in builtin.buses:
            if bus_type == "PCI":
                return name
    return "pci.0"


def assign_zpci(domain) -> dict[object, tuple[int, int]]:  # type: ignore[no-untyped-def]
    """Each device element with a PCI address → its (uid, fid), as libvirt assigns them:
    the written ones first, then the lowest free numbers in device order."""
    addresses = [(device.element, address) for device, address in domain.addressed("pci")]
    uids = {a.zpci_uid for _, a in addresses if a.zpci_uid is not None}
    fids = {a.zpci_fid for _, a in addresses if a.zpci_fid is not None}
    result: dict[object, tuple[int, int]] = {}
    for device, address in addresses:
        uid, fid = address.zpci_uid, address.zpci_fid
        if uid is None:
            uid = _lowest_free(uids, 1)
        if fid is None:
            fid = _lowest_free(fids, 0)
        result[device] = (uid, fid)
    return result


def _lowest_free(taken: set[int], start: int) -> int:
    number = start
    while number in taken:
        number += 1
    taken.add(number)
    return number


def zpci_option(plan, device_element, alias: str) -> Option | None:  # type: ignore[no-untyped-def]
    ids = plan.placement.zpci.get(device_element)
    if ids is None:
        return None
    uid, fid = ids
    option = Option("-device", "zpci", origin=XmlObject(device_element))
    option.add("uid", uid)
    option.add("fid", fid)
    option.add("target", alias)
    option.add("id", f"zpci{uid}")
    return option


def with_zpci(plan, device_element, alias: str, device: Option) -> list[Option]:  # type: ignore[no-untyped-def]
    """DEVICE, preceded by its zpci device when it has a zPCI identity."""
    zpci = zpci_option(plan, device_element, alias)
    return [device] if zpci is None else [zpci, device]
