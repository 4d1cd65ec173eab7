"""Layer 2 of check, per machine: what the chosen machine type's built-in hardware allows.

The built-in controllers, their buses and PCI functions come from the capability
table (probed from QEMU); the refusals mirror libvirt 9.0 and, where libvirt's
domxml-to-native lets a domain through that QEMU then refuses at start, QEMU 7.2
(messages quoted in each rule).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from ..caps import CapsTable
from ..caps.tables import Builtin, MachineFamily
from ..findings import Finding, finding_at
from ..model import Controller, Domain
from ..model.fields import XmlObject
from ..placement.addresses import addressed, drive_address
from ..props.backends import is_empty
from ..props.display import soundhw_refusals
from ..resources import CAPS_DIR
from .disk_options import pci_numbers

# An IDE bus carries a master and a slave (QEMU: "bus supports only 2 units").
IDE_UNITS_PER_BUS = 2


def machine_findings(domain: Domain, caps: CapsTable) -> list[Finding]:
    machine = caps.machine(domain.machine)
    if machine is None:
        return []  # the release gate says so (VX0301)
    family = caps.family_of(machine)
    return (
        list(_ide(domain, family, machine.name))
        + list(_channel_io(domain, family))
        + list(_builtin_pci_functions(domain, family))
    )


def qemu_refusals(domain: Domain, caps: CapsTable) -> list[Finding]:
    """VX0302 — what QEMU refuses of the line libvirt 9.0 writes and lets through: a
    virtio LUN where virtio-blk cannot take scsi=on, an empty USB disk in the -blockdev
    era."""
    machine = caps.machine(domain.machine)
    if machine is None:
        return []
    return (
        list(_virtio_lun(domain, caps, machine.name))
        + list(_empty_usb_disk(domain, caps))
        + soundhw_refusals(domain, caps)
    )


@functools.cache
def _compat_rows() -> tuple[tuple[str, tuple[str, ...], tuple[int, ...], str], ...]:
    """caps/data/machine-compat.tsv: (arch, machine name prefixes, from version, fact)."""
    rows = []
    for line in (CAPS_DIR / "machine-compat.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        _, arch, prefixes, since, fact, _ = line.split("\t")
        rows.append((arch, tuple(prefixes.split()), _version(since), fact))
    return tuple(rows)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def machine_has(fact: str, arch: str, machine: str) -> bool | None:
    """Whether the machine type MACHINE has FACT of machine-compat.tsv (True: from the
    row's version on; False: an older versioned type); None when no row speaks of it."""
    for row_arch, prefixes, since, row_fact in _compat_rows():
        if row_fact != fact or row_arch != arch:
            continue
        for prefix in prefixes:
            version = re.fullmatch(re.escape(prefix) + r"(\d+(?:\.\d+)+)", machine)
            if version is not None:
                return _version(version.group(1)) >= since
    return None


def _virtio_lun(domain: Domain, caps: CapsTable, machine: str) -> Iterator[Finding]:
    """VX0302 — device='lun' on bus virtio is virtio-blk-pci with scsi on
    (qemuBuildDiskDeviceProps), which QEMU refuses on a device that offers virtio 1.0
    ("Please set scsi=off for virtio-blk devices in order to use virtio 1.0",
    virtio_blk_get_features): every virtio-pci device of a 2.7 or later machine type;
    and a release whose virtio-blk has no 'scsi' property any more refuses it on all."""
    luns = [
        disk
        for disk in domain.disks
        if disk.bus == "virtio"
        and disk.effective_device == "lun"
        and (disk.address is None or disk.address.type in (None, "pci"))
    ]
    if not luns:
        return  # (most domains: the release and machine need no asking)
    device = caps.device("virtio-blk-pci")
    if device is not None and device.prop("scsi") is None:
        refusal = (
            f"QEMU {caps.version}'s virtio-blk-pci has no 'scsi' property (SCSI "
            "passthrough was removed)"
        )
    elif machine_has("virtio-1.0", caps.arch, machine):
        refusal = (
            f"machine type '{machine}' offers virtio 1.0, where QEMU refuses it: "
            "'Please set scsi=off for virtio-blk devices in order to use virtio 1.0'"
        )
    else:
        return
    for disk in luns:
        yield finding_at(
            "VX0302",
            "error",
            f"a virtio LUN is virtio-blk-pci with scsi=on, and {refusal}",
            disk,
            domain.source,
            xpath_suffix="/@device",
            hint="a LUN on a virtio-scsi controller (bus='scsi') has no such limit",
        )


def _empty_usb_disk(domain: Domain, caps: CapsTable) -> Iterator[Finding]:
    """VX0302 — a USB disk without medium: with -blockdev (QEMU 4.2 on) libvirt writes
    usb-storage without a drive, which QEMU refuses ("drive property not set",
    usb_msd_storage_realize); the -drive era gave it an empty drive."""
    if caps.storage_style != "blockdev":
        return
    for disk in domain.disks:
        if disk.bus == "usb" and is_empty(disk, blockdev=True):
            yield finding_at(
                "VX0302",
                "error",
                "a USB disk without medium is usb-storage without a drive, "
                "which QEMU refuses: 'drive property not set'",
                disk,
                domain.source,
                hint="give it a <source>, or put the CD-ROM on bus 'sata', 'scsi' or 'ide'",
            )


def _ide_controllers(family: MachineFamily) -> dict[int, Builtin]:
    found = {}
    for builtin in family.builtins:
        kind, _, index = (builtin.libvirt_controller or "").partition(":")
        if kind == "ide":
            found[int(index or 0)] = builtin
    return found


def _ide(domain: Domain, family: MachineFamily, machine: str) -> Iterator[Finding]:
    """VX0215 — "IDE controllers are unsupported for this QEMU binary or machine type"
    (q35: use SATA), "Only a single IDE controller is supported for this machine type";
    VX0221 — a bus or unit the built-in IDE controller lacks, which libvirt lets
    through and QEMU refuses at start ("Bus 'ide.2' not found", "Can't create IDE unit
    2, bus supports only 2 units")."""
    controllers = [controller for controller in domain.controllers if controller.type == "ide"]
    disks = [disk for disk in domain.disks if disk.bus == "ide"]
    if not controllers and not disks:
        return  # (no IDE: the machine's built-ins need no reading)
    builtins = _ide_controllers(family)
    for controller in controllers:
        if (controller.index or 0) not in builtins:
            yield _no_ide(controller, domain, machine, builtins)
    for disk in disks:
        address = drive_address(disk)
        if address is None:
            continue
        builtin = builtins.get(address.controller)
        if builtin is None:
            yield _no_ide(disk.target or disk, domain, machine, builtins)
            continue
        where = disk.address if disk.address is not None else disk.target
        buses = [name for name, bus_type in builtin.buses if bus_type == "IDE"]
        if address.bus >= len(buses):
            yield finding_at(
                "VX0221",
                "error",
                f"IDE bus {address.bus} does not exist: the {builtin.type} of "
                f"'{machine}' has {len(buses)}",
                where,
                domain.source,
                xpath_suffix="/@bus" if disk.address is not None else "/@dev",
            )
        if address.unit >= IDE_UNITS_PER_BUS:
            yield finding_at(
                "VX0221",
                "error",
                f"IDE unit {address.unit} does not exist: a bus has units 0 and 1",
                where,
                domain.source,
                xpath_suffix="/@unit" if disk.address is not None else "/@dev",
            )


def _no_ide(obj: XmlObject, domain: Domain, machine: str, builtins: dict) -> Finding:  # type: ignore[type-arg]
    if not builtins:
        return finding_at(
            "VX0215",
            "error",
            f"machine '{machine}' has no IDE controller",
            obj,
            domain.source,
            hint="use bus='sata' (q35 has AHCI built in)",
        )
    return finding_at(
        "VX0215",
        "error",
        f"machine '{machine}' has only {len(builtins)} IDE controller(s), "
        f"index 0 to {max(builtins)}",
        obj,
        domain.source,
    )


def _channel_io(domain: Domain, family: MachineFamily) -> Iterator[Finding]:
    """VX0209 — "cannot use CCW address type for device … using machine type …": ccw
    addresses exist only on channel-I/O (s390x) machines."""
    if family.libvirt_addressing == "ccw":
        return
    for _, address in addressed(domain, "ccw"):
        yield finding_at(
            "VX0209",
            "error",
            "a ccw address needs an s390x channel-I/O machine",
            address,
            domain.source,
            xpath_suffix="/@type",
        )


def _builtin_pci_functions(domain: Domain, family: MachineFamily) -> Iterator[Finding]:
    """VX0221 — an address on the root bus that a built-in device holds, which libvirt
    lets through and QEMU refuses at start ("PCI: slot 0 function 0 not available for
    virtio-blk-pci, in use by i440FX").  The controller element that stands for the
    built-in itself (<controller type='sata' index='0'> on q35) may name its address."""
    written = addressed(domain, "pci")
    if not written:
        return  # (no written PCI address: the machine's built-ins need no reading)
    held: dict[tuple[int, int], Builtin] = {}
    for builtin in family.builtins:
        # (one a legacy option such as -usb creates is not there for libvirt's domains)
        if builtin.parent_bus is None and builtin.addr and builtin.enabled_by is None:
            slot, _, function = builtin.addr.partition(".")
            held[(int(slot, 16), int(function or "0", 16))] = builtin
    for device, address in written:
        if address.slot is None:
            continue  # <address type='pci'/>: PCI, at a place libvirt chooses
        values = pci_numbers(address)
        if values is None:
            continue  # the schema reports it
        bus, place = values["bus"], (values["slot"], values["function"])
        if values["domain"] == bus == place[0] == 0:
            continue  # virPCIDeviceAddressIsEmpty: 0000:00:00 is no address, libvirt places it
        held_by = held.get(place) if bus == 0 else None
        if held_by is None or (
            isinstance(device, Controller)
            and held_by.libvirt_controller == f"{device.type}:{device.index or 0}"
        ):
            continue
        yield finding_at(
            "VX0221",
            "error",
            f"PCI slot {place[0]:#04x} function {place[1]} is taken by the "
            f"machine's built-in {held_by.type}",
            address,
            domain.source,
            xpath_suffix="/@slot",
        )
