"""Host devices that are storage: vhost-scsi (<hostdev type='scsi_host'>) and SCSI
passthrough (<hostdev type='scsi'>: a host SCSI device or an iSCSI LUN as scsi-generic).

libvirt gives host devices their PCI slot (or ccw devno) after the virtio disks
(qemuDomainAssignDevicePCISlots) and writes them after the disks
(qemuBuildHostdevCommandLine).
"""

from __future__ import annotations

from ..errors import InvalidValue
from ..findings import finding_at
from ..host import ASK_THE_HOST, host_known
from ..model import Address
from ..model.fields import XmlObject, xpath_of
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
    user_alias,
)

# libvirt's test suite passes the first file descriptor as 3; a running libvirt passes
# whichever descriptor it opened on /dev/vhost-scsi.
FIRST_PASSED_FD = 3
VHOST_SCSI_NODE = "/dev/vhost-scsi"


def plan_hostdevs(plan: StoragePlan) -> list[Option]:
    """The -device options of the storage host devices, their addresses taken."""
    options = []
    next_fd = FIRST_PASSED_FD
    automatic = 0  # hostdevN counts the host devices without a user alias
    for node in plan.domain.element.iterfind("devices/hostdev"):
        kind = node.get("type")
        alias = user_alias(node)
        if alias is None:
            alias = f"hostdev{automatic}"
            automatic += 1
        if kind == "scsi":
            options += _scsi_passthrough(plan, node, alias)
        elif kind == "scsi_host" and node.find("source[@protocol='vhost']") is not None:
            option = _vhost_scsi(plan, node, alias, next_fd)
            if option is not None:
                options.extend(with_zpci(plan, node, alias, option))
                next_fd += 1
        # PCI, USB and mdev host devices are not storage
    return options


def _int(node, xpath: str) -> int:  # type: ignore[no-untyped-def]
    """A number of a host device's XML (outside the storage schema): 0 when absent, a
    finding (VX0100) when it is no number."""
    text = node.xpath(f"string({xpath})") or "0"
    try:
        return int(text, 0)
    except ValueError:
        raise InvalidValue(
            f"{xpath} of <{node.tag}> is '{text}': expected an integer",
            line=node.sourceline or 0,
            xpath=f"{xpath_of(node)}/{xpath}",
        ) from None


def _scsi_passthrough(plan: StoragePlan, node, alias: str) -> list[Option]:  # type: ignore[no-untyped-def]
    """The backend and scsi-generic device of a SCSI host device
    (qemuBuildHostdevSCSIAttachPrepare, qemuBuildSCSIHostdevDevProps)."""
    obj = XmlObject(node)
    source = node.find("source")
    address = node.find("address[@type='drive']")
    if source is None or address is None:
        plan.findings.append(unsupported(plan, obj, "a SCSI <hostdev> without a drive address"))
        return []
    read_only = node.find("readonly") is not None
    blockdev = plan.caps.storage_style == "blockdev"
    if source.get("protocol") == "iscsi":
        storage = _iscsi_props(plan, node, source, alias, blockdev)
        if storage is None:
            return []
    else:
        adapter = source.xpath("string(adapter/@name)")
        sg = plan.host.scsi_generic(
            adapter,
            _int(source, "address/@bus"),
            _int(source, "address/@target"),
            _int(source, "address/@unit"),
        )
        if sg is None:
            plan.findings.append(
                finding_at(
                    "VX0211",
                    "error",
                    f"no SCSI generic (/dev/sgN) node on this host for "
                    f"{adapter} {_int(source, 'address/@bus')}:{_int(source, 'address/@target')}:"
                    f"{_int(source, 'address/@unit')}",
                    obj,
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
                    f"the SCSI generic node of {adapter} "
                    f"{_int(source, 'address/@bus')}:{_int(source, 'address/@target')}:"
                    f"{_int(source, 'address/@unit')} is the VM's host's: written as the "
                    f"placeholder {sg} (libvirt writes the host's /dev/sgN; it refuses the "
                    "domain when there is none)",
                    obj,
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
            storage + [("node-name", drive), ("read-only", read_only)],
            origin=obj,
        )
    else:
        drive = f"drive-{alias}"
        backend = Option(
            "-drive", None, storage + [("if", "none"), ("format", "raw"), ("id", drive)], origin=obj
        )
        if read_only:
            backend.add("readonly", "on")
    device = Option("-device", "scsi-generic", origin=obj)
    controller_index = _int(address, "@controller")
    controller = next(
        (c for c in plan.controllers if c.type == "scsi" and c.index == controller_index), None
    )
    contr_alias = controller.alias if controller else f"scsi{controller_index}"
    location: list[tuple[str, Value]]
    if controller is not None and controller.model in NARROW_SCSI_MODELS:
        location = [
            ("bus", f"{contr_alias}.{_int(address, '@bus')}"),
            ("scsi-id", _int(address, "@unit")),
        ]
    else:
        location = [
            ("bus", f"{contr_alias}.0"),
            ("channel", _int(address, "@bus")),
            ("scsi-id", _int(address, "@target")),
            ("lun", _int(address, "@unit")),
        ]
    # libvirt 9.0 writes the drive and id first, the -drive era the address first
    ids: list[tuple[str, Value]] = [("drive", drive), ("id", alias)]
    device.props.extend(ids + location if blockdev else location + ids)
    return [backend, device]


def _iscsi_props(
    plan: StoragePlan,
    node,
    source,
    alias: str,  # type: ignore[no-untyped-def]
    blockdev: bool,
) -> list[tuple[str, Value]] | None:
    host = source.find("host")
    if host is None:
        plan.findings.append(
            unsupported(plan, XmlObject(node), "an iSCSI <hostdev> without a <host>")
        )
        return None
    # libvirt 9.0 fills in no default port for a host device's iSCSI host: without
    # port='…' its portal ends in ':0' (checked with its domxml-to-native)
    props = iscsi_props(
        f"{host.get('name')}:{host.get('port') or '0'}",
        source.get("name") or "",
        host.get("transport"),
        source,
    )
    user = source.xpath("string(auth/@username)")
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
                XmlObject(node),
                plan.domain.source,
            )
        )
    initiator = source.xpath("string(initiator/iqn/@name)")
    if initiator:
        props.append(("initiator-name", initiator))
    if blockdev:
        return props
    return [(f"file.{key}", value) for key, value in props]


def _vhost_scsi(plan: StoragePlan, node, alias: str, fd: int) -> Option | None:  # type: ignore[no-untyped-def]
    """vhost-scsi-pci (or -ccw) with the WWPN and the passed /dev/vhost-scsi descriptor
    (qemuBuildSCSIVHostHostdevDevProps)."""
    # model='virtio-transitional' picks the transitional device, as for disks
    address_node = node.find("address")
    placed_as = transport_device(
        plan,
        f"vhost-scsi-pci{transitional.model_suffix(node.get('model'))}",
        Address(address_node) if address_node is not None else None,
    )
    device, model_props = transitional.resolve(plan.caps, placed_as)
    if plan.caps.device(device) is None:
        plan.findings.append(
            unsupported(
                plan,
                XmlObject(node),
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
                XmlObject(node),
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
                XmlObject(node),
                plan.domain.source,
                hint=ASK_THE_HOST,
            )
        )
    option = Option("-device", device, origin=XmlObject(node))
    option.props.extend(model_props)
    option.add("wwpn", node.find("source").get("wwpn"))
    option.add("vhostfd", str(fd))
    option.add("id", alias)
    address = node.find("address")
    if address is not None and address.get("type") in ("pci", "ccw"):
        placed: tuple[str, str] | None = explicit_pci(plan, Address(address))
    else:
        placed = plan.placement.location_of(node)
    if placed is not None:
        add_location(option, placed)
    return option
