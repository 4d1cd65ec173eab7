"""Host devices: the storage ones, vhost-scsi (<hostdev type='scsi_host'>) and SCSI
passthrough (<hostdev type='scsi'>: a host SCSI device or an iSCSI LUN as scsi-generic),
and PCI (vfio-pci), USB (usb-host) and mediated (vfio-pci on an mdev) devices.

libvirt gives host devices their PCI slot (or ccw devno) after the virtio disks
(qemuDomainAssignDevicePCISlots) and writes them all, in the domain's order, after the
disks (qemuBuildHostdevCommandLine).  What only the VM's host knows (whether it has VFIO,
which bus/device a USB vendor/product is on) is a placeholder and an info finding unless
a host is given.
"""

from __future__ import annotations

from ..findings import Finding, finding_at
from ..host import ASK_THE_HOST, host_known
from ..model.hostdevs import Hostdev, HostdevSource
from ..names import transitional
from ..names.scsi import NARROW_SCSI_MODELS
from ..option import Option, Value
from ..placement.zpci import with_zpci
from .backends import iscsi_props
from .context import (
    StoragePlan,
    add_location,
    explicit_pci,
    transport_device,
    unsupported,
)
from .controllers import missing_device, usb_location

# libvirt's test suite passes the first file descriptor as 3; a running libvirt passes
# whichever descriptor it opened on /dev/vhost-scsi.
FIRST_PASSED_FD = 3
VHOST_SCSI_NODE = "/dev/vhost-scsi"


def plan_hostdevs(plan: StoragePlan) -> list[Option]:
    """The -device options of the storage host devices, their addresses taken."""
    options = []
    next_fd = FIRST_PASSED_FD
    automatic = 0  # hostdevN counts the host devices without a user alias
    for hostdev in plan.domain.hostdevs:
        kind = hostdev.type
        alias = hostdev.user_alias
        if alias is None:
            alias = f"hostdev{automatic}"
            automatic += 1
        source = hostdev.source
        if kind == "scsi":
            options += _scsi_passthrough(plan, hostdev, alias)
        elif kind == "scsi_host" and source is not None and source.protocol == "vhost":
            option = _vhost_scsi(plan, hostdev, alias, next_fd)
            if option is not None:
                options.extend(with_zpci(plan, hostdev.element, alias, option))
                next_fd += 1
        elif kind == "pci":
            options += _pci_hostdev(plan, hostdev, alias)
        elif kind == "usb":
            options += _usb_hostdev(plan, hostdev, alias)
        elif kind == "mdev":
            options += _mdev_hostdev(plan, hostdev, alias)
    return options


# the VFIO node libvirt looks for on the host (qemuHostdevHostSupportsPassthroughVFIO)
VFIO_NODE = "/dev/vfio/vfio"
MDEV_SYSFS = "/sys/bus/mdev/devices/{uuid}"


def _pci_hostdev(plan: StoragePlan, hostdev: Hostdev, alias: str) -> list[Option]:
    """vfio-pci with the host address (qemuBuildPCIHostdevDevProps): host, id, bootindex,
    failover_pair_id, the guest address, acpi-index, then the ROM (qemuBuildRomProps)."""
    source = hostdev.source
    host = source.address if source is not None else None
    if host is None or host.slot is None:
        plan.findings.append(unsupported(plan, hostdev, "a PCI <hostdev> without a source address"))
        return []
    driver = hostdev.driver_name
    if driver not in (None, "vfio"):
        plan.findings.append(
            finding_at(
                "VX0303",
                "error",
                f"PCI passthrough with driver '{driver}' is gone: QEMU has only VFIO (libvirt: "
                f"\"invalid PCI passthrough type '{driver}'\")",
                hostdev,
                plan.domain.source,
                xpath_suffix="/driver/@name",
                hint="use <driver name='vfio'/> or leave it out",
            )
        )
        return []
    if not plan.caps.has_device("vfio-pci"):
        plan.findings.append(missing_device(plan, hostdev, "vfio-pci", "this host device"))
        return []
    if driver is None:
        if not plan.host.has_device_node(VFIO_NODE):
            plan.findings.append(
                finding_at(
                    "VX0211",
                    "error",
                    f"this host cannot pass PCI devices through: it has no {VFIO_NODE} "
                    "(libvirt: \"invalid PCI passthrough type 'default'\")",
                    hostdev,
                    plan.domain.source,
                    hint="load vfio-pci on an IOMMU-enabled host",
                )
            )
            return []
        if not host_known(plan.host):
            plan.findings.append(
                _host_fact(
                    plan,
                    hostdev,
                    "PCI host device without <driver name='vfio'/>: libvirt picks VFIO when the "
                    f"VM's host has an IOMMU and {VFIO_NODE} (and refuses the domain without "
                    "them); whether the host's device is PCI Express (its place on q35) is "
                    "the host's too: placed as libvirt places one it cannot read",
                )
            )
    option = Option("-device", "vfio-pci", origin=hostdev)
    option.add(
        "host", f"{host.domain or 0:04x}:{host.bus or 0:02x}:{host.slot:02x}.{host.function or 0:x}"
    )
    option.add("id", alias)
    option.add("bootindex", hostdev.boot_order)
    option.add("failover_pair_id", hostdev.teaming_persistent)
    _guest_place(plan, hostdev, option)
    _rom(hostdev, option)
    return with_zpci(plan, hostdev.element, alias, option)


def _guest_place(plan: StoragePlan, hostdev: Hostdev, option: Option) -> None:
    """bus/multifunction/addr of the device's place, then acpi-index
    (qemuBuildDeviceAddressProps)."""
    place = plan.placement.place_of(hostdev)
    if place is not None:
        add_location(option, place.location, place.multifunction)
    option.add("acpi-index", hostdev.acpi_index)


def _rom(hostdev: Hostdev, option: Option) -> None:
    """qemuBuildRomProps: rombar from <rom bar>, romfile from <rom file> ('' when the ROM
    is disabled)."""
    rom = hostdev.rom
    if rom is None:
        return
    if rom.enabled is False:
        option.add("romfile", "")
        return
    if rom.bar is not None:
        option.add("rombar", 1 if rom.bar else 0)
    option.add("romfile", rom.file)


def _mdev_hostdev(plan: StoragePlan, hostdev: Hostdev, alias: str) -> list[Option]:
    """A mediated device: vfio-pci (vfio-pci-nohotplug with ramfb) on its sysfs path
    (qemuBuildHostdevMediatedDevProps): id, sysfsdev, display, ramfb, the place."""
    source = hostdev.source
    uuid = source.address.uuid if source is not None and source.address is not None else None
    if hostdev.model != "vfio-pci" or uuid is None:
        plan.findings.append(
            unsupported(plan, hostdev, f"a mediated device of model '{hostdev.model}'")
        )
        return []
    device = "vfio-pci-nohotplug" if hostdev.ramfb == "on" else "vfio-pci"
    if not plan.caps.has_device(device):
        plan.findings.append(missing_device(plan, hostdev, device, "this host device"))
        return []
    if hostdev.boot_order is not None:
        plan.findings.append(
            finding_at(
                "VX0100",
                "error",
                'a mediated device cannot be booted from (libvirt: "booting from assigned '
                'devices is not supported by mediated devices of model vfio-pci")',
                hostdev,
                plan.domain.source,
                xpath_suffix="/boot",
            )
        )
        return []
    if hostdev.display == "on" and not plan.domain.graphics:
        plan.findings.append(
            finding_at(
                "VX0100",
                "error",
                "a mediated device's display='on' needs a <graphics> (libvirt: \"graphics "
                "device is needed for attribute value 'display=on' in <hostdev>\")",
                hostdev,
                plan.domain.source,
                xpath_suffix="/@display",
            )
        )
        return []
    if not host_known(plan.host):
        plan.findings.append(
            _host_fact(
                plan,
                hostdev,
                f"mediated device {uuid}: libvirt gives QEMU its sysfs path; whether the VM's "
                "host has created it is not looked up (QEMU fails to start without it)",
            )
        )
    option = Option("-device", device, origin=hostdev)
    option.add("id", alias)
    option.add("sysfsdev", MDEV_SYSFS.format(uuid=uuid))
    option.add("display", hostdev.display or "off")
    if hostdev.ramfb == "on":
        option.add("ramfb", True)
    _guest_place(plan, hostdev, option)
    return [option]


def _usb_hostdev(plan: StoragePlan, hostdev: Hostdev, alias: str) -> list[Option]:
    """usb-host (qemuBuildUSBHostdevDevProps): the host's device node (hostbus/hostaddr
    before QEMU has usb-host.hostdevice), id, bootindex, guest-reset, the USB port."""
    if not plan.caps.has_device("usb-host"):
        plan.findings.append(missing_device(plan, hostdev, "usb-host", "this host device"))
        return []
    source = hostdev.source
    bus = source.usb_bus if source is not None else None
    device = source.usb_device if source is not None else None
    if bus is None or device is None:
        # libvirt finds the vendor/product's bus and device on the VM's host at start
        # (its dry run refuses: "USB host device is missing bus/device information")
        vendor = source.vendor_id if source is not None else None
        product = source.product_id if source is not None else None
        named = f"{vendor}:{product}"
        bus_text, device_text = f"<bus of {named}>", f"<device of {named}>"
        plan.findings.append(
            _host_fact(
                plan,
                hostdev,
                f"USB device {named} is looked up on the VM's host by libvirt at start: its "
                f"bus and device are written as the placeholders {bus_text}, {device_text}",
            )
        )
    else:
        bus_text, device_text = f"{bus:03d}", f"{device:03d}"
    option = Option("-device", "usb-host", origin=hostdev)
    if plan.caps.has_flag("usb-host.hostdevice"):
        option.add("hostdevice", f"/dev/bus/usb/{bus_text}/{device_text}")
    else:
        option.add("hostbus", bus if bus is not None else bus_text)
        option.add("hostaddr", device if device is not None else device_text)
    option.add("id", alias)
    option.add("bootindex", hostdev.boot_order)
    reset = source.guest_reset if source is not None else None
    if reset is not None:
        # off: no reset; uninitialized: only a device not yet configured; on: always
        option.add("guest-reset", reset != "off")
        if reset != "off":
            option.add("guest-resets-all", reset == "on")
    option.props.extend(usb_location(plan, hostdev))
    return [option]


def _host_fact(plan: StoragePlan, hostdev: Hostdev, message: str) -> Finding:
    return finding_at("VX0701", "info", message, hostdev, plan.domain.source, hint=ASK_THE_HOST)


def _scsi_passthrough(plan: StoragePlan, hostdev: Hostdev, alias: str) -> list[Option]:
    """The backend and scsi-generic device of a SCSI host device
    (qemuBuildHostdevSCSIAttachPrepare, qemuBuildSCSIHostdevDevProps)."""
    source = hostdev.source
    address = hostdev.address
    if source is None or address is None or address.type != "drive":
        plan.findings.append(unsupported(plan, hostdev, "a SCSI <hostdev> without a drive address"))
        return []
    blockdev = plan.caps.storage_style == "blockdev"
    if source.protocol == "iscsi":
        storage = _iscsi_props(plan, hostdev, source, alias, blockdev)
        if storage is None:
            return []
    else:
        adapter = source.adapter or ""
        at = source.address
        bus, target, unit = (
            (at.bus or 0, at.target or 0, at.unit or 0) if at is not None else (0, 0, 0)
        )
        sg = plan.host.scsi_generic(adapter, bus, target, unit)
        if sg is None:
            plan.findings.append(
                finding_at(
                    "VX0211",
                    "error",
                    f"no SCSI generic (/dev/sgN) node on this host for "
                    f"{adapter} {bus}:{target}:{unit}",
                    hostdev,
                    plan.domain.source,
                    hint="virtxlate asks the machine it runs on, as libvirt asks the VM's host",
                )
            )
            return []
        if not host_known(plan.host):
            plan.findings.append(
                finding_at(
                    "VX0701",
                    "info",
                    f"the SCSI generic node of {adapter} {bus}:{target}:{unit} is the VM's "
                    f"host's: written as the placeholder {sg} (libvirt writes the host's "
                    "/dev/sgN; it refuses the domain when there is none)",
                    hostdev,
                    plan.domain.source,
                    hint=ASK_THE_HOST,
                )
            )
        storage = [("driver", "host_device"), ("filename", sg)] if blockdev else [("file", sg)]
    if blockdev:
        drive = f"libvirt-{plan.next_node_index}-backend"
        plan.next_node_index += 1
        backend = Option(
            "-blockdev",
            None,
            storage + [("node-name", drive), ("read-only", hostdev.readonly)],
            origin=hostdev,
        )
    else:
        drive = f"drive-{alias}"
        backend = Option(
            "-drive",
            None,
            storage + [("if", "none"), ("format", "raw"), ("id", drive)],
            origin=hostdev,
        )
        if hostdev.readonly:
            backend.add("readonly", "on")
    device = Option("-device", "scsi-generic", origin=hostdev)
    controller_index = address.controller or 0
    controller = next(
        (c for c in plan.controllers if c.type == "scsi" and c.index == controller_index), None
    )
    contr_alias = controller.alias if controller else f"scsi{controller_index}"
    location: list[tuple[str, Value]]
    if controller is not None and controller.model in NARROW_SCSI_MODELS:
        location = [
            ("bus", f"{contr_alias}.{address.bus or 0}"),
            ("scsi-id", address.unit or 0),
        ]
    else:
        location = [
            ("bus", f"{contr_alias}.0"),
            ("channel", address.bus or 0),
            ("scsi-id", address.target or 0),
            ("lun", address.unit or 0),
        ]
    # libvirt 9.0 writes the drive and id first, the -drive era the address first
    ids: list[tuple[str, Value]] = [("drive", drive), ("id", alias)]
    device.props.extend(ids + location if blockdev else location + ids)
    return [backend, device]


def _iscsi_props(
    plan: StoragePlan, hostdev: Hostdev, source: HostdevSource, alias: str, blockdev: bool
) -> list[tuple[str, Value]] | None:
    host = next(iter(source.hosts), None)
    if host is None:
        plan.findings.append(unsupported(plan, hostdev, "an iSCSI <hostdev> without a <host>"))
        return None
    # libvirt 9.0 fills in no default port for a host device's iSCSI host: without
    # port='…' its portal ends in ':0' (checked with its domxml-to-native)
    props = iscsi_props(
        f"{host.name}:{host.port or '0'}", source.name or "", host.transport, source.element
    )
    user = source.auth_username
    if user:
        # the password comes from libvirt's secret store through a secret object, which
        # virtxlate cannot write: it names the object as libvirt does and says so
        secret = (
            f"libvirt-{plan.next_node_index}-backend-secret0" if blockdev else f"{alias}-secret0"
        )
        props += [("user", user), ("password-secret", secret)]
        plan.findings.append(
            finding_at(
                "VX0900",
                "warning",
                f"the iSCSI password lives in libvirt's secret store: the "
                f"'-object secret' {secret} is left out",
                hostdev,
                plan.domain.source,
            )
        )
    if source.initiator_iqn:
        props.append(("initiator-name", source.initiator_iqn))
    if blockdev:
        return props
    return [(f"file.{key}", value) for key, value in props]


def _vhost_scsi(plan: StoragePlan, hostdev: Hostdev, alias: str, fd: int) -> Option | None:
    """vhost-scsi-pci (or -ccw) with the WWPN and the passed /dev/vhost-scsi descriptor
    (qemuBuildSCSIVHostHostdevDevProps)."""
    # model='virtio-transitional' picks the transitional device, as for disks
    placed_as = transport_device(
        plan, f"vhost-scsi-pci{transitional.model_suffix(hostdev.model)}", hostdev.address
    )
    device, model_props = transitional.resolve(plan.caps, placed_as)
    if plan.caps.device(device) is None:
        plan.findings.append(
            unsupported(
                plan,
                hostdev,
                f"vhost-scsi ({device} is missing from QEMU {plan.caps.version})",
            )
        )
        return None
    if not plan.host.has_device_node(VHOST_SCSI_NODE):
        # libvirt opens it for the vhostfd and refuses the domain without it
        plan.findings.append(
            finding_at(
                "VX0211",
                "error",
                f"vhost-scsi needs {VHOST_SCSI_NODE}, which this host does not have",
                hostdev,
                plan.domain.source,
                hint="load the vhost_scsi kernel module on the VM's host",
            )
        )
        return None
    if not host_known(plan.host):
        plan.findings.append(
            finding_at(
                "VX0701",
                "info",
                f"whether the VM's host has {VHOST_SCSI_NODE} is not looked "
                f"up: libvirt opens it and passes its descriptor (vhostfd={fd} here); it refuses "
                "the domain without it",
                hostdev,
                plan.domain.source,
                hint=ASK_THE_HOST,
            )
        )
    option = Option("-device", device, origin=hostdev)
    option.props.extend(model_props)
    option.add("wwpn", hostdev.source.wwpn if hostdev.source is not None else None)
    option.add("vhostfd", str(fd))
    option.add("id", alias)
    address = hostdev.address
    if address is not None and address.type in ("pci", "ccw"):
        placed: tuple[str, str] | None = explicit_pci(plan, address)
    else:
        placed = plan.placement.location_of(hostdev.element)
    if placed is not None:
        add_location(option, placed)
    return option
