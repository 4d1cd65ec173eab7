"""Addresses as libvirt assigns them: drive addresses from target names, PCI slots on pci.0."""

from __future__ import annotations

from dataclasses import dataclass

from ..caps.tables import MachineFamily
from ..model import Disk, Domain

# virDomainDiskDefAssignAddress (src/conf/domain_conf.c): how many units a controller
# takes per bus, for the default mapping from a target name (sdb, hdc, …) to an address.
_DRIVE_LAYOUT = {
    # bus: (disks per controller, buses per controller, units per bus)
    "scsi": (7, 1, 7),   # QEMU's SCSI is "narrow" for libvirt: 7 units, target 0
    "ide": (4, 2, 2),
    "sata": (6, 1, 6),
    "fdc": (2, 1, 2),
}
_TARGET_PREFIXES = ("sd", "hd", "vd", "xvd", "ubd", "fd", "nvme")


@dataclass(frozen=True)
class DriveAddress:
    controller: int
    bus: int
    target: int
    unit: int


def disk_index(dev: str | None) -> int | None:
    """virDiskNameToIndex: 'sda' → 0, 'sdz' → 25, 'sdaa' → 26, 'hdc' → 2; None if not a name."""
    if not dev:
        return None
    prefix = next((p for p in sorted(_TARGET_PREFIXES, key=len, reverse=True)
                   if dev.startswith(p)), None)
    if prefix is None:
        return None
    letters = dev[len(prefix):]
    if not letters or not letters.isalpha() or not letters.islower():
        return None
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - ord("a") + 1)
    return index - 1


def drive_address(disk: Disk) -> DriveAddress | None:
    """The disk's drive address: the one written in the XML, else libvirt's default mapping."""
    address = disk.address
    if address is not None and address.type == "drive":
        return DriveAddress(address.controller or 0, address.bus or 0,
                            address.target or 0, address.unit or 0)
    layout = _DRIVE_LAYOUT.get(disk.bus or "")
    index = disk_index(disk.dev)
    if layout is None or index is None:
        return None
    per_controller, _, per_bus = layout
    bus = (index % per_controller) // per_bus
    return DriveAddress(index // per_controller, bus, 0, index % per_bus)


def pci_address_text(slot: int, function: int = 0) -> str:
    """libvirt writes addr=0x3, or addr=0x4.0x1 for a non-zero function."""
    return f"{slot:#x}" if function == 0 else f"{slot:#x}.{function:#x}"


class PciSlots:
    """Slots of the root PCI bus: reserved by the machine and libvirt, written, or free."""

    def __init__(self, family: MachineFamily, domain: Domain):
        self.used: set[int] = set(family.reserved_pci_slots)
        # Every explicit <address type='pci' bus='0'> of any device holds its slot.
        for node in domain.element.iterfind(".//devices/*/address[@type='pci']"):
            try:
                if int(node.get("bus", "0"), 0) == 0 and node.get("slot") is not None:
                    self.used.add(int(node.get("slot", "0"), 0))
            except ValueError:
                continue

    def take(self) -> int | None:
        for slot in range(1, 32):
            if slot not in self.used:
                self.used.add(slot)
                return slot
        return None
