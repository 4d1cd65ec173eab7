"""Disks as libvirt emits them in the -drive era: ``-drive … if=none`` + ``-device``,
aliases, drive addresses, boot indexes (qemuBuildDiskCommandLine)."""

from __future__ import annotations

from functools import partial

from ..caps import CapsTable
from ..findings import finding_at
from ..model import Disk, Domain
from ..names import transitional
from ..names.scsi import NARROW_SCSI_MODELS, SCSI_DISK_DEVICES
from ..option import Option, Value
from ..placement.addresses import (
    DriveAddress,
    disk_index,
    disks_in_order,
    drive_address,
)
from ..placement.zpci import with_zpci
from . import disk_table
from .backends import (
    CACHE_MODES,
    backend,
    cache_mode,
    error_policies,
    legacy_drive_props,
    node_count,
)
from .context import (
    ControllerPlan,
    StoragePlan,
    add_location,
    explicit_pci,
    transport_device,
    unsupported,
)
from .controllers import usb_location
from .mapping import Context, append_props, on_off_text
from .mapping import values as disk_table_values

_BOOT_DEVICE_OF = {"hd": "disk", "cdrom": "cdrom", "fd": "floppy"}
SUPPORTED_BUSES = ("scsi", "virtio", "ide", "sata", "fdc", "usb", "sd")


def ordered_disks(domain: Domain) -> list[Disk]:
    """Disks in the order libvirt keeps them (placement.addresses.disks_in_order)."""
    return disks_in_order(domain)


def plan_disks(plan: StoragePlan) -> None:
    """The backend and the device of every disk, in libvirt's disk order."""
    disks = ordered_disks(plan.domain)
    first_disk_option = len(plan.options)
    boot_indexes = _legacy_boot_indexes(plan, disks)
    blockdev = plan.caps.storage_style == "blockdev"
    context = Context(plan.caps, blockdev)
    boot_index_flag = plan.caps.has_flag("boot-index")
    floppies: list[tuple[Disk, str | None, int | None]] = []
    # -blockdev node names count down: libvirt numbers the disks' storage from the last
    # disk to the first, each disk's image before the layers of its backing chain (SD
    # cards, which keep -drive, take no number)
    node_indexes: dict[int, int] = {}
    numbered = 0
    for disk in reversed([d for d in disks if d.bus != "sd"]):
        node_indexes[id(disk)] = numbered + 1
        numbered += node_count(disk)
    plan.next_node_index = numbered + 1  # host devices number on from here
    for disk in disks:
        bus = disk.bus
        if bus not in SUPPORTED_BUSES:
            plan.findings.append(unsupported(plan, disk, f"disk bus '{bus}'"))
            continue
        if bus == "sd":
            # an SD card has no -device: libvirt uses the legacy if=sd,index=N drive
            props = legacy_drive_props(plan, disk)
            if props is not None:
                plan.options.append(_sd_drive(disk, props))
            continue
        alias = _disk_alias(plan, disk)
        if alias is None:
            continue
        node_index = node_indexes[id(disk)]
        medium = backend(plan, disk, alias, node_index=node_index)
        if medium is None:
            continue
        plan.options.extend(medium.options)
        bootindex = (
            disk.boot_order if disk.boot_order is not None else boot_indexes.get(id(disk.element))
        )
        if not boot_index_flag:
            bootindex = None
        if bus == "fdc" and not blockdev:
            floppies.append((disk, medium.drive, bootindex))
            continue
        device = _disk_device(plan, disk, alias)
        if device is None:
            continue
        if blockdev and bus == "scsi" and disk.effective_device != "lun":
            device.add("device_id", disk.serial or f"drive-{alias}")
        if blockdev and disk.shareable:
            device.add("share-rw", True)
        device.add("drive", medium.drive)
        device.add("id", alias)
        if bus == "fdc":
            floppies.append((disk, None, bootindex))  # its boot index goes on isa-fdc
        else:
            device.add("bootindex", bootindex)
        # (made when the line is written: `check` never reads them)
        device.defer(partial(_frontend_props, disk, context))
        plan.options.extend(with_zpci(plan, disk.element, alias, device))
    # the floppy controller's options: after the disks in the -drive era, with the other
    # controllers (before the disks) in the -blockdev era
    if floppies:
        at = first_disk_option if blockdev else len(plan.options)
        builtin_fdc = plan.family is not None and any(
            b.type == "isa-fdc" for b in plan.family.builtins
        )
        plan.options[at:at] = _floppy_options(floppies, builtin_fdc)


def _sd_drive(disk: Disk, drive_props: list[tuple[str, Value]]) -> Option:
    drive = Option("-drive", origin=disk)
    for key, value in drive_props:
        drive.add(key, value)
        if key == "if":
            drive.props[-1] = ("if", "sd")
            drive.add("index", disk_index(disk.dev) or 0)
    return drive


def _floppy_options(
    floppies: list[tuple[Disk, str | None, int | None]], builtin_fdc: bool
) -> list[Option]:
    """The floppy controller's drives (in the -drive era) and boot indexes.  Where the
    machine has it built in (i440fx) libvirt sets them with -global; where it has none
    (q35 from pc-q35-2.4) libvirt adds `-device isa-fdc` carrying them
    (qemuBuildFloppyCommandLineControllerOptions, qemuDomainNeedsFDC)."""
    props: list[tuple[str, Value, Disk]] = []
    for disk, drive_id, bootindex in floppies:
        address = drive_address(disk)
        letter = "A" if address is None or address.unit == 0 else "B"
        if drive_id is not None:
            props.append((f"drive{letter}", drive_id, disk))
        if bootindex is not None:
            props.append((f"bootindex{letter}", bootindex, disk))
    if builtin_fdc:
        return [
            Option("-global", f"isa-fdc.{key}={value}", origin=disk) for key, value, disk in props
        ]
    if not floppies:
        return []
    controller = Option("-device", "isa-fdc", origin=floppies[0][0])
    for key, value, _ in props:
        controller.add(key, value)
    return [controller]


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
        target = next(
            (d for d in disks if _boot_kind(d) == wanted and d.bus in SUPPORTED_BUSES), None
        )
        if target is not None:
            indexes.setdefault(id(target.element), position)
    return indexes


def _boot_kind(disk: Disk) -> str:
    # a LUN boots like a disk ('hd') for libvirt
    return "disk" if disk.effective_device == "lun" else disk.effective_device


def _disk_alias(plan: StoragePlan, disk: Disk) -> str | None:
    """qemuAssignDeviceDiskAlias: the user alias (ua-…) when the disk has one, else
    scsi0-0-0-0, ide0-1-0, sata0-0-2, virtio-disk3 (the target name is checked either
    way)."""
    alias = _own_disk_alias(plan, disk)
    return disk.user_alias or alias if alias is not None else None


def _own_disk_alias(plan: StoragePlan, disk: Disk) -> str | None:
    bus = disk.bus
    if bus in ("virtio", "usb"):
        index = disk_index(disk.dev)
        if index is None:
            plan.findings.append(
                finding_at(
                    "VX0204",
                    "error",
                    f"target dev '{disk.dev}' is not a disk name like vda or sdb",
                    disk,
                    plan.domain.source,
                    xpath_suffix="/target/@dev",
                )
            )
            return None
        return f"{bus}-disk{index}"
    address = drive_address(disk)
    if address is None:
        plan.findings.append(
            finding_at(
                "VX0204",
                "error",
                f"target dev '{disk.dev}' is not a disk name like sda or hdc",
                disk,
                plan.domain.source,
                xpath_suffix="/target/@dev",
            )
        )
        return None
    controller = _controller_for(plan, bus or "", address)
    if bus == "scsi" and controller is not None and controller.model == "lsilogic":
        return f"scsi{address.controller}-{address.bus}-{address.unit}"
    if bus == "scsi":
        return f"scsi{address.controller}-{address.bus}-{address.target}-{address.unit}"
    return f"{bus}{address.controller}-{address.bus}-{address.unit}"


def _controller_for(plan: StoragePlan, type_: str, address: DriveAddress) -> ControllerPlan | None:
    return plan.placement.controller(type_, address.controller)


def _disk_device(plan: StoragePlan, disk: Disk, alias: str) -> Option | None:
    bus = disk.bus
    device_kind = disk.effective_device
    if bus == "usb":
        # the port libvirt gives it on the first USB bus (usb.py)
        port = plan.placement.usb_ports.port_of(disk.element) if plan.placement.usb_ports else None
        if port is None:
            plan.findings.append(
                finding_at(
                    "VX0205",
                    "error",
                    "no free USB port for this disk",
                    disk,
                    plan.domain.source,
                    hint="libvirt adds usb-hub devices only when it has a USB controller",
                )
            )
            return None
        option = Option("-device", "usb-storage", origin=disk)
        option.props.extend(usb_location(plan, disk))
        return option
    if bus == "fdc":
        # the -blockdev era: a floppy drive device on the controller's floppy bus
        address = drive_address(disk)
        option = Option("-device", "floppy", origin=disk)
        option.add("unit", address.unit if address is not None else 0)
        return option
    if bus == "virtio":
        # <disk model='virtio-transitional'> picks the transitional device (QEMU 4.0)
        placed_as = transport_device(
            plan, f"virtio-blk-pci{transitional.model_suffix(disk.model)}", disk.address
        )
        device, model_props = transitional.resolve(plan.caps, placed_as)
        option = Option("-device", device, origin=disk)
        option.props.extend(model_props)
        # (not deferred: a value the schema leaves open, page_per_vq='0', is refused by
        # reading it, and check says so)
        _virtio_props(plan.caps, disk, option.props)
        written = disk.address
        if written is not None and written.type in ("pci", "ccw"):
            add_location(option, explicit_pci(plan, written), written.multifunction)
        else:
            placed = plan.placement.location_of(disk)
            if placed is None:
                return None
            add_location(option, placed)
        return option
    address = drive_address(disk)
    assert address is not None
    controller = _controller_for(plan, bus or "", address)
    if bus == "scsi":
        driver_name = SCSI_DISK_DEVICES.get(device_kind, "scsi-hd")
        option = Option("-device", driver_name, origin=disk)
        contr_alias = controller.alias if controller else f"scsi{address.controller}"
        if controller is not None and controller.model in NARROW_SCSI_MODELS:
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


def _virtio_props(caps: CapsTable, disk: Disk, props: list[tuple[str, Value]]) -> None:
    """A virtio disk's properties before its place, into PROPS: the virtio options first
    (qemuBuildVirtioDevProps), as libvirt 9.0 writes them, then scsi= and the disk's."""
    append_props(props, disk_table.VIRTIO_OPTIONS, disk, "virtio", None)
    append_props(props, disk_table.VIRTIO_BEFORE_SCSI, disk, "virtio", None)
    device_kind = disk.effective_device
    if caps.has_flag("virtio-blk-pci.scsi") and (
        device_kind == "lun" or not caps.has_flag("virtio-blk-pci.scsi.default.disabled")
    ):
        # once QEMU's default is off (5.0), libvirt only writes scsi=on for a LUN
        props.append(("scsi", device_kind == "lun"))
    append_props(props, disk_table.VIRTIO_AFTER_SCSI, disk, "virtio", None)


# The order libvirt writes a disk's frontend properties after bootindex
# (qemuBuildDiskDeviceProps): the -drive era's, and libvirt 9.0's for the -blockdev era.
_FRONTEND_ORDER = {
    False: (
        "removable",
        "logical_block_size",
        "physical_block_size",
        "cyls",
        "heads",
        "secs",
        "bios-chs-trans",
        "write-cache",
        "wwn",
        "serial",
        "vendor",
        "product",
    ),
    True: (
        "logical_block_size",
        "physical_block_size",
        "wwn",
        "rotation_rate",
        "vendor",
        "product",
        "removable",
        "write-cache",
        "cyls",
        "heads",
        "secs",
        "bios-chs-trans",
        "serial",
        "werror",
        "rerror",
    ),
}


def _frontend_props(disk: Disk, context: Context, props: list[tuple[str, Value]]) -> None:
    """Per-disk frontend properties after bootindex, into PROPS, in the order of
    libvirt's -device.

    In the -blockdev era the cache mode's write-cache and the error policies move from
    the backend to the device.
    """
    blockdev = context.blockdev
    values = disk_table_values(disk_table.FRONTEND, disk, disk.bus, context)
    if disk.bus == "usb" and values.get("removable") is None and blockdev:
        # the -blockdev era's libvirt always says whether a USB disk is removable
        values["removable"] = False
    cache = cache_mode(disk, blockdev)
    # the device's write-cache carries the cache mode with -blockdev, and alongside
    # -drive cache= once QEMU has it (libvirt's disk-write-cache capability); also on a
    # drive without medium, never on a passed-through LUN (scsi-block, virtio-blk with
    # scsi), where a cache makes no sense (qemuBuildDiskDeviceProps)
    device_cache = blockdev or context.caps.has_flag("disk-write-cache")
    if device_cache and cache in CACHE_MODES and disk.effective_device != "lun":
        values["write-cache"] = on_off_text(CACHE_MODES[cache][0])
    if blockdev:
        values["werror"], values["rerror"] = error_policies(disk)
    for name in _FRONTEND_ORDER[blockdev]:
        value = values.get(name)
        if value is not None:
            props.append((name, value))
