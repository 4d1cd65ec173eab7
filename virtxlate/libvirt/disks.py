"""Disks as libvirt emits them in the -drive era: ``-drive … if=none`` + ``-device``,
aliases, drive addresses, boot indexes (qemuBuildDiskCommandLine)."""

from __future__ import annotations

from ..findings import finding_at
from ..model import Disk, Domain
from .addresses import (
    DriveAddress,
    PciSlots,
    disk_index,
    drive_address,
    pci_address_text,
    sorted_by_type_and_index,
)
from .context import ControllerPlan, StoragePlan, on_off, root_bus, take_slot, unsupported
from .options import Option

_BOOT_DEVICE_OF = {"hd": "disk", "cdrom": "cdrom", "fd": "floppy"}
SUPPORTED_BUSES = ("scsi", "virtio", "ide", "sata", "fdc", "usb", "sd")


def ordered_disks(domain: Domain) -> list[Disk]:
    """Disks in the order libvirt keeps them (virDomainDiskInsertPreAlloced at parse time):
    grouped by bus in order of first appearance, sorted by target name within a bus."""
    return sorted_by_type_and_index(domain.disks, lambda d: d.bus,
                                    lambda d: disk_index(d.dev) or 0)


def plan_disks(plan: StoragePlan, slots: PciSlots) -> None:
    disks = ordered_disks(plan.domain)
    boot_indexes = _legacy_boot_indexes(plan, disks)
    floppies: list[tuple[Disk, str, int | None]] = []
    usb_port = 0
    for disk in disks:
        bus = disk.bus
        if bus not in SUPPORTED_BUSES:
            plan.findings.append(unsupported(plan, disk, f"disk bus '{bus}'"))
            continue
        drive_props = _drive_props(plan, disk)
        if drive_props is None:
            continue
        if bus == "sd":
            # an SD card has no -device: libvirt uses the legacy if=sd,index=N drive
            plan.options.append(_sd_drive(disk, drive_props))
            continue
        alias = _disk_alias(plan, disk)
        if alias is None:
            continue
        drive = Option("-drive", origin=disk)
        for key, value in drive_props:
            if key == "id":
                value = f"drive-{alias}"
            drive.add(key, value)
        bootindex = disk.boot_order if disk.boot_order is not None else \
            boot_indexes.get(id(disk.element))
        if not plan.caps.has_flag("boot-index"):
            bootindex = None
        plan.options.append(drive)
        if bus == "fdc":
            floppies.append((disk, f"drive-{alias}", bootindex))
            continue
        if bus == "usb":
            usb_port += 1
        device = _disk_device(plan, disk, alias, slots, usb_port)
        if device is None:
            continue
        device.add("drive", f"drive-{alias}")
        device.add("id", alias)
        device.add("bootindex", bootindex)
        _frontend_props(plan, disk, device)
        plan.options.append(device)
    plan.options.extend(_floppy_options(floppies))


def _sd_drive(disk: Disk, drive_props: list[tuple[str, object]]) -> Option:
    drive = Option("-drive", origin=disk)
    for key, value in drive_props:
        if key == "if":
            drive.add("if", "sd")
            drive.add("index", disk_index(disk.dev) or 0)
        elif key != "id":
            drive.add(key, value)  # type: ignore[arg-type]
    return drive


def _floppy_options(floppies: list[tuple[Disk, str, int | None]]) -> list[Option]:
    """The i440fx floppy controller is built in: libvirt connects drives with -global,
    after all disks (qemuBuildFloppyCommandLineControllerOptions)."""
    options = []
    for disk, drive_id, bootindex in floppies:
        address = drive_address(disk)
        letter = "A" if address is None or address.unit == 0 else "B"
        options.append(Option("-global", f"isa-fdc.drive{letter}={drive_id}", origin=disk))
        if bootindex is not None:
            options.append(Option("-global", f"isa-fdc.bootindex{letter}={bootindex}",
                                  origin=disk))
    return options


def _legacy_boot_indexes(plan: StoragePlan, disks: list[Disk]) -> dict[int, int]:
    """Boot indexes libvirt derives from <os><boot dev=…/> when no disk has <boot order>.

    Each <boot dev> in turn takes the next index and gives it to the first disk of that
    kind (hd → disk, cdrom, fd → floppy); libvirt's default is a single 'hd'.  Keys are
    id() of the disks' elements.
    """
    if any(disk.boot_order is not None for disk in disks):
        return {}
    indexes: dict[int, int] = {}
    for position, dev in enumerate(plan.domain.boot_devs or ["hd"], start=1):
        wanted = _BOOT_DEVICE_OF.get(dev)
        target = next((d for d in disks if _boot_kind(d) == wanted
                       and d.bus in SUPPORTED_BUSES), None)
        if target is not None:
            indexes.setdefault(id(target.element), position)
    return indexes


def _boot_kind(disk: Disk) -> str:
    # a LUN boots like a disk ('hd') for libvirt
    return "disk" if disk.effective_device == "lun" else disk.effective_device


def _disk_alias(plan: StoragePlan, disk: Disk) -> str | None:
    """qemuAssignDeviceDiskAlias: scsi0-0-0-0, ide0-1-0, sata0-0-2, virtio-disk3."""
    bus = disk.bus
    if bus in ("virtio", "usb"):
        index = disk_index(disk.dev)
        if index is None:
            plan.findings.append(finding_at(
                "VX0204", "error", f"target dev '{disk.dev}' is not a disk name like vda or sdb",
                disk, plan.domain.source, xpath_suffix="/target/@dev"))
            return None
        return f"{bus}-disk{index}"
    address = drive_address(disk)
    if address is None:
        plan.findings.append(finding_at(
            "VX0204", "error", f"target dev '{disk.dev}' is not a disk name like sda or hdc",
            disk, plan.domain.source, xpath_suffix="/target/@dev"))
        return None
    controller = _controller_for(plan, bus or "", address)
    if bus == "scsi" and controller is not None and controller.model == "lsilogic":
        return f"scsi{address.controller}-{address.bus}-{address.unit}"
    if bus == "scsi":
        return f"scsi{address.controller}-{address.bus}-{address.target}-{address.unit}"
    return f"{bus}{address.controller}-{address.bus}-{address.unit}"


def _controller_for(plan: StoragePlan, type_: str, address: DriveAddress) -> ControllerPlan | None:
    return next((c for c in plan.controllers
                 if c.type == type_ and c.index == address.controller), None)


def _source_file(plan: StoragePlan, disk: Disk) -> str | None | bool:
    """The -drive file= value, None for an empty drive, False when not translatable."""
    source = disk.source
    if source is None or (disk.target is not None and disk.target.tray == "open"):
        return None  # no medium, or the tray is open: libvirt starts the drive empty
    kind = disk.type or "file"
    if kind in ("file", "block"):
        return source.file if kind == "file" else source.dev
    if kind == "dir":
        # qemuBuildDriveSourceStr: a directory is exposed through QEMU's vvfat driver
        prefix = "fat:floppy:" if disk.effective_device == "floppy" else "fat:"
        return f"{prefix}{source.dir}" if source.dir else None
    if kind == "network":
        return _network_uri(plan, disk)
    plan.findings.append(unsupported(plan, disk, f"disk type '{kind}'"))
    return False


def _network_uri(plan: StoragePlan, disk: Disk) -> str | bool:
    source = disk.source
    assert source is not None
    protocol = source.protocol or ""
    hosts = source.hosts
    host = hosts[0] if hosts else None
    hostname = host.name if host is not None else None
    port = host.port if host is not None else None
    name = source.name or ""
    if protocol == "nbd" and hostname:
        uri = f"nbd:{hostname}:{port or 10809}"
        return f"{uri}:exportname={name}" if name else uri
    if protocol in ("http", "https", "ftp", "ftps", "iscsi", "gluster") and hostname:
        authority = f"{hostname}:{port}" if port else hostname
        return f"{protocol}://{authority}/{name}"
    plan.findings.append(unsupported(plan, disk, f"network protocol '{protocol}'"))
    return False


def _drive_props(plan: StoragePlan, disk: Disk) -> list[tuple[str, object]] | None:
    """qemuBuildDriveStr of the -drive era, in libvirt's order."""
    file_ = _source_file(plan, disk)
    if file_ is False:
        return None
    driver = disk.driver
    props: list[tuple[str, object]] = []
    fmt = driver.type if driver is not None else None
    if fmt is None and (disk.type or "file") in ("file", "block"):
        # qemuDomainDeviceDiskDefPostParse: file and block disks default to raw
        fmt = "raw"
    if file_ is not None:
        props.append(("file", file_))
        if fmt is not None and not str(file_).startswith("fat:"):
            props.append(("format", fmt))
    props.append(("if", "none"))
    props.append(("id", None))  # filled in with the alias
    if disk.readonly or disk.effective_device == "cdrom":
        props.append(("readonly", "on"))
    if driver is not None and file_ is not None:
        # an empty drive (no medium) takes no backend tuning
        error_policy = driver.error_policy
        rerror = driver.rerror_policy
        if rerror is None and error_policy not in (None, "enospace"):
            # libvirt applies error_policy to reads too, except 'enospace' (write only)
            rerror = error_policy
        if error_policy:
            # the XML says 'enospace', QEMU's option value is 'enospc'
            props.append(("werror", "enospc" if error_policy == "enospace" else error_policy))
        if rerror:
            props.append(("rerror", rerror))
        if driver.cache:
            props.append(("cache", driver.cache))
        if driver.copy_on_read:
            props.append(("copy-on-read", "on"))
        if driver.discard and plan.caps.has_flag("drive-discard"):
            props.append(("discard", driver.discard))
        if driver.detect_zeroes and plan.caps.has_flag("drive-detect-zeroes"):
            props.append(("detect-zeroes", driver.detect_zeroes))
        if driver.io:
            props.append(("aio", driver.io))
    return props


def _disk_device(plan: StoragePlan, disk: Disk, alias: str, slots: PciSlots,
                 usb_port: int) -> Option | None:
    bus = disk.bus
    device_kind = disk.effective_device
    if bus == "usb":
        # libvirt gives USB disks the next free port of the first USB bus
        option = Option("-device", "usb-storage", origin=disk)
        option.add("bus", "usb.0")
        option.add("port", str(usb_port))
        return option
    if bus == "virtio":
        option = Option("-device", "virtio-blk-pci", origin=disk)
        driver = disk.driver
        if driver is not None and driver.iothread is not None:
            option.add("iothread", f"iothread{driver.iothread}")
        if driver is not None:
            option.add("ioeventfd", on_off(driver.ioeventfd))
            option.add("event_idx", on_off(driver.event_idx))
        if plan.caps.has_flag("virtio-blk-pci.scsi"):
            option.add("scsi", "on" if device_kind == "lun" else "off")
        if driver is not None:
            option.add("num-queues", driver.queues)
            option.add("queue-size", driver.queue_size)
        option.add("bus", root_bus(plan))
        address = disk.address
        if address is not None and address.type == "pci":
            if address.multifunction is not None:
                option.add("multifunction", on_off(address.multifunction))
            option.add("addr", pci_address_text(address.slot or 0, address.function or 0))
        else:
            slot = take_slot(plan, slots, disk)
            if slot is None:
                return None
            option.add("addr", pci_address_text(slot))
        return option
    address = drive_address(disk)
    assert address is not None
    controller = _controller_for(plan, bus or "", address)
    if bus == "scsi":
        driver_name = {"cdrom": "scsi-cd", "lun": "scsi-block"}.get(device_kind, "scsi-hd")
        option = Option("-device", driver_name, origin=disk)
        contr_alias = controller.alias if controller else f"scsi{address.controller}"
        if controller is not None and controller.model == "lsilogic":
            option.add("bus", f"{contr_alias}.{address.bus}")
            option.add("scsi-id", address.unit)
        else:
            option.add("bus", f"{contr_alias}.0")
            option.add("channel", address.bus)
            option.add("scsi-id", address.target)
            option.add("lun", address.unit)
        return option
    driver_name = "ide-cd" if device_kind == "cdrom" else "ide-hd"
    option = Option("-device", driver_name, origin=disk)
    if bus == "ide":
        option.add("bus", f"ide.{address.bus}")
        option.add("unit", address.unit)
    else:  # sata: one AHCI port (bus) per unit
        contr_alias = controller.alias if controller else f"sata{address.controller}"
        option.add("bus", f"{contr_alias}.{address.unit}")
    return option


def _frontend_props(plan: StoragePlan, disk: Disk, device: Option) -> None:
    """Per-disk frontend properties after bootindex, in the order of libvirt's -device."""
    blockio = disk.blockio
    if blockio is not None:
        device.add("logical_block_size", blockio.logical_block_size)
        device.add("physical_block_size", blockio.physical_block_size)
    geometry = disk.geometry
    if geometry is not None:
        device.add("cyls", geometry.cyls)
        device.add("heads", geometry.heads)
        device.add("secs", geometry.secs)
        if geometry.trans:
            device.add("bios-chs-trans", geometry.trans)
    if disk.wwn and disk.bus in ("scsi", "ide", "sata"):
        wwn = disk.wwn if disk.wwn.startswith("0x") else f"0x{disk.wwn}"
        device.add("wwn", wwn)
    if disk.serial is not None:
        # libvirt of the -drive era escaped blanks in the serial with a backslash
        device.add("serial", disk.serial.replace(" ", "\\ "))
    if disk.bus == "usb" and disk.target is not None:
        device.add("removable", on_off(disk.target.removable))
    if disk.bus == "scsi":
        device.add("vendor", disk.vendor)
        device.add("product", disk.product)
