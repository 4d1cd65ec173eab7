"""Storage controllers as libvirt emits them: implicit ones added, PCI slots in
libvirt's order, ``-device`` options (qemuBuildControllersCommandLine)."""

from __future__ import annotations

from ..caps import index as caps_index
from ..findings import Finding, finding_at
from ..model import Controller, Device
from ..model.fields import XmlObject
from ..names import transitional
from ..names.scsi import SCSI_MODEL_DEVICES, VIRTIO_SCSI_MODELS
from ..option import Option, Value
from ..placement.addresses import controller_indexes
from ..placement.assign import IMPLICIT_USB, Place, q35_default_usb
from ..placement.controllers import controller_device, needs_device
from ..placement.usb import usb_devices
from ..placement.zpci import with_zpci
from . import disk_table
from .context import (
    StoragePlan,
    add_location,
    add_virtio_options,
    transport_device,
    unsupported,
    user_alias,
)
from .mapping import add_props

# libvirt's USB controller models → the QEMU device it writes (qemuBuildUSBControllerDevProps;
# a controller without a model is piix3-uhci: checked with libvirt 9.0, also on q35)
USB_DEVICES = {
    "piix3-uhci": "piix3-usb-uhci",
    "piix4-uhci": "piix4-usb-uhci",
    "ehci": "usb-ehci",
    "ich9-ehci1": "ich9-usb-ehci1",
    "ich9-uhci1": "ich9-usb-uhci1",
    "ich9-uhci2": "ich9-usb-uhci2",
    "ich9-uhci3": "ich9-usb-uhci3",
    "vt82c686b-uhci": "vt82c686b-usb-uhci",
    "pci-ohci": "pci-ohci",
    "nec-xhci": "nec-usb-xhci",
    "qemu-xhci": "qemu-xhci",
}
_PORTS_MODELS = frozenset({"qemu-xhci", "nec-xhci"})


def usb_options(plan: StoragePlan) -> list[Option]:
    """Every USB controller, as qemuBuildUSBControllerDevProps writes it, in the controller
    array's order (by index; at one index an ich9 EHCI before its UHCI companions), and
    the one libvirt adds at index 0 when the domain names none (pc: the PIIX3's UHCI at
    00:01.2, or the legacy ``-usb`` without that device; q35: a qemu-xhci).
    <controller type='usb' model='none'> means no USB at all: libvirt refuses USB devices
    beside it."""
    usb = [(c, index) for c, index in controller_indexes(plan.domain) if c.type == "usb"]
    none = next((c for c, _ in usb if c.model == "none"), None)
    if none is not None:
        _no_usb_devices(plan, none)
        return []
    # virDomainControllerInsertPreAlloced: at one index a USB controller with a master
    # goes after one without
    usb.sort(key=lambda pair: (pair[1], (pair[0].model or "").startswith("ich9-uhci")))
    options = []
    for controller, index in usb:
        option = _usb_controller(plan, controller, index, usb)
        if option is not None:
            options.append(option)
    if not any(index == 0 for _, index in usb):
        # virDomainDefAddImplicitControllers appends it to the controller array: after
        # the declared ones (checked with libvirt 9.0)
        options += _default_usb(plan)
    return options


def _usb_controller(
    plan: StoragePlan, controller: Controller, index: int, usb: list[tuple[Controller, int]]
) -> Option | None:
    model = controller.model or "piix3-uhci"
    if model not in USB_DEVICES:
        plan.findings.append(unsupported(plan, controller, f"USB controller model '{model}'"))
        return None
    device = USB_DEVICES[model]
    place = plan.placement.place_of(controller)
    if place is None:
        if model == "piix3-uhci" and index == 0 and not plan.caps.has_flag("piix3-usb-uhci"):
            return Option("-usb", origin=controller)
        return None  # no place: said by the placement
    if not plan.caps.has_device(device):
        plan.findings.append(missing_device(plan, controller, device, f"USB model '{model}'"))
        return None
    option = Option("-device", device, origin=controller)
    if controller.ports is not None:
        # qemuBuildUSBControllerDevProps: only the xHCI controllers have ports
        if model not in _PORTS_MODELS:
            plan.findings.append(
                finding_at(
                    "VX0100",
                    "error",
                    f"USB controller model '{model}' has no 'ports' (libvirt: \"usb "
                    f"controller type {model} doesn't support 'ports' with this QEMU binary\")",
                    controller,
                    plan.domain.source,
                    xpath_suffix="/@ports",
                )
            )
            return None
        option.add("p2", controller.ports)
        option.add("p3", controller.ports)
    if model.startswith("ich9-uhci"):
        # a companion: its master's bus and first port, and no id of its own
        master = next(
            (c for c, i in usb if i == index and not (c.model or "").startswith("ich9-uhci")),
            None,
        )
        master_alias = (user_alias(master) if master is not None else None) or (_usb_alias(index))
        option.add("masterbus", f"{master_alias}.0")
        option.add("firstport", controller.master_startport or 0)
    else:
        option.add("id", user_alias(controller) or _usb_alias(index))
    add_location(option, place.location, place.multifunction)
    return option


def _usb_alias(index: int) -> str:
    """qemuAssignDeviceControllerAlias: the USB controller of index 0 is 'usb'."""
    return "usb" if index == 0 else f"usb{index}"


def _no_usb_devices(plan: StoragePlan, none: Controller) -> None:
    """qemuValidateDomainDeviceDefController…: USB devices beside <controller type='usb'
    model='none'>."""
    hubs = [hub for hub in plan.domain.hubs if hub.type == "usb"]
    # (a USB input or sound card has its own refusal, VX0242: "Can't add USB input
    # device. USB bus is disabled")
    others = [d for d in usb_devices(plan.domain) if d.kind not in ("input", "sound")]
    if not others and not hubs:
        return
    plan.findings.append(
        finding_at(
            "VX0211",
            "error",
            "this domain has USB devices and <controller type='usb' model='none'> "
            '(libvirt: "USB is disabled for this domain, but USB devices are present in the '
            'domain XML")',
            none,
            plan.domain.source,
        )
    )


def missing_device(plan: StoragePlan, obj: XmlObject, device: str, what: str) -> Finding:
    """VX0303: QEMU of this release lacks DEVICE; since: the first newer release that has
    it, else the hint names the last one that had it.  Where the release's table cannot
    say (a derived release whose neighbours disagree), VX0307: not known, the device left out."""
    if not _absence_known(plan, device):
        return finding_at(
            "VX0307",
            "warning",
            f"{what} needs QEMU device '{device}'; virtxlate does not know whether QEMU "
            f"{plan.caps.version} has it (its table does not record this device type), so "
            "the device is left out of the command line",
            obj,
            plan.domain.source,
        )
    since = caps_index.first_with("devices", device, plan.caps.arch, after=plan.caps.version)
    last = caps_index.last_with("devices", device, plan.caps.arch, before=plan.caps.version)
    hint = None
    if since is None:
        hint = f"QEMU {last} is the last release with it" if last else "no release has it"
    return finding_at(
        "VX0303",
        "error",
        f"{what} needs QEMU device '{device}', which QEMU {plan.caps.version} does not have",
        obj,
        plan.domain.source,
        since=since,
        hint=hint,
    )


def _absence_known(plan: StoragePlan, device: str) -> bool:
    """Whether the release's table knows DEVICE is missing: not when it lists it as
    uncertain (a derived release whose neighbours disagree)."""
    return device not in plan.caps.uncertain_devices


def _default_usb(plan: StoragePlan) -> list[Option]:
    """The USB controller libvirt adds at index 0: on q35 qemu-xhci, else nec-usb-xhci
    (placed by the placement), the PIIX3's UHCI otherwise."""
    default = q35_default_usb(plan.caps)
    if plan.placement.usb0 is not None and default is not None:
        bus, addr = plan.placement.usb0
        return [Option("-device", default[1], [("id", "usb"), ("bus", bus), ("addr", addr)])]
    place = plan.placement.place_of(IMPLICIT_USB)
    if place is not None:
        return [Option("-device", "piix3-usb-uhci", [("id", "usb"), *_location(place)])]
    if (
        plan.family is not None
        and plan.family.libvirt_addressing == "root-bus"
        and not plan.caps.has_flag("piix3-usb-uhci")
    ):
        return [Option("-usb")]  # QEMU without the PIIX3's UHCI device
    return []


def _location(place: Place) -> list[tuple[str, Value]]:
    option = Option("-device")
    add_location(option, place.location, place.multifunction)
    return option.props


def controller_options(plan: StoragePlan) -> list[Option]:
    """The storage controllers' -device options, then the virtio-serial controllers'
    (qemuBuildControllersCommandLine's order of types)."""
    return _storage_controller_options(plan) + virtio_serial_options(plan)


def _storage_controller_options(plan: StoragePlan) -> list[Option]:
    options = []
    for controller in plan.placement.controllers:
        if not needs_device(controller):
            continue
        if controller.type == "scsi":
            driver = SCSI_MODEL_DEVICES.get(controller.model or "")
            if driver is None:
                plan.findings.append(
                    unsupported(
                        plan, controller.element, f"SCSI controller model '{controller.model}'"
                    )
                )
                continue
        else:
            driver = controller_device(controller)
        explicit = controller.element.address if controller.element is not None else None
        device, model_props = transitional.resolve(
            plan.caps, transport_device(plan, driver, explicit)
        )
        option = Option("-device", device, origin=controller.element)
        option.props.extend(model_props)
        element = controller.element
        is_virtio = controller.model in VIRTIO_SCSI_MODELS
        if element is not None and is_virtio:
            # the virtio options first (qemuBuildVirtioDevProps), as libvirt 9.0 writes them
            add_props(option, disk_table.VIRTIO_OPTIONS, element, None, None)
            add_props(option, (disk_table.IOTHREAD,), element, None, None)
        option.add("id", controller.alias)
        if element is not None and is_virtio:
            add_props(option, disk_table.SCSI_CONTROLLER, element, None, None)
        multifunction = (
            explicit.multifunction if explicit is not None and explicit.type == "pci" else None
        )
        placed = plan.placement.location_of(controller.key)
        if placed is not None:
            add_location(option, placed, multifunction)
        if controller.element is not None:
            options.extend(with_zpci(plan, controller.element.element, controller.alias, option))
        else:
            options.append(option)
    return options


def virtio_serial_options(plan: StoragePlan) -> list[Option]:
    """The virtio-serial controllers: the domain's by index, then those libvirt adds for
    virtio channels and consoles (virDomainDefMaybeAddVirtioSerialController appends them)
    (qemuBuildControllerDevProps: the virtio options, id, max_ports, vectors)."""
    declared = sorted(
        ((c, index) for c, index in controller_indexes(plan.domain) if c.type == "virtio-serial"),
        key=lambda pair: pair[1],
    )
    options = []
    for controller, index in declared:
        options += _virtio_serial(plan, controller, controller, controller.model, index)
    for key in plan.placement.places:
        if isinstance(key, str) and key.startswith("virtio-serial"):
            index = int(key.removeprefix("virtio-serial"))
            options += _virtio_serial(plan, key, None, None, index)
    return options


def _virtio_serial(
    plan: StoragePlan, key: object, controller: Controller | None, model: str | None, index: int
) -> list[Option]:
    place = plan.placement.place_of(key)
    if place is None:
        return []  # said by the placement
    explicit = controller.address if controller is not None else None
    device, model_props = transitional.resolve(
        plan.caps,
        transport_device(plan, f"virtio-serial-pci{transitional.model_suffix(model)}", explicit),
    )
    if not plan.caps.has_device(device):
        plan.findings.append(
            missing_device(plan, controller or plan.domain, device, "a virtio-serial controller")
        )
        return []
    option = Option("-device", device, origin=controller)
    option.props.extend(model_props)
    if controller is not None:
        add_virtio_options(option, controller.driver)
    alias = user_alias(controller) if controller is not None else None
    option.add("id", alias or f"virtio-serial{index}")
    if controller is not None:
        option.add("max_ports", controller.ports)
        option.add("vectors", controller.vectors)
    add_location(option, place.location, place.multifunction)
    if controller is not None:
        return with_zpci(plan, controller.element, str(option.get("id")), option)
    return [option]


def ccid_options(plan: StoragePlan) -> list[Option]:
    """The CCID (smartcard reader) controllers: usb-ccid on a USB port, written after
    the USB hubs (qemuBuildCommandLine: CCID controllers go on the USB bus)."""
    options = []
    declared = [(c, i) for c, i in controller_indexes(plan.domain) if c.type == "ccid"]
    added = [(c, c.index or 0) for c in plan.placement.added_ccid]
    for controller, index in sorted(declared + added, key=lambda pair: pair[1]):
        if not plan.caps.has_device("usb-ccid"):
            plan.findings.append(missing_device(plan, controller, "usb-ccid", "a CCID controller"))
            continue
        option = Option("-device", "usb-ccid", origin=controller)
        option.add("id", user_alias(controller) or f"ccid{index}")
        option.props.extend(usb_location(plan, controller))
        options.append(option)
    return options


def usb_bus(plan: StoragePlan, index: int) -> str:
    """The bus of the USB controller of INDEX: its user alias's when it has one (libvirt
    names a controller's bus after its id), else usb.0, usbN.0 for the others."""
    controller = next(
        (c for c, i in controller_indexes(plan.domain) if c.type == "usb" and i == index), None
    )
    alias = controller.user_alias if controller is not None else None
    return f"{alias or _usb_alias(index)}.0"


def usb_location(plan: StoragePlan, device: Device) -> list[tuple[str, Value]]:
    """bus= and port= of a USB device (qemuBuildDeviceAddressProps): the USB controller
    its <address type='usb' bus> names (0 unless written) and its port, written or
    given by the placement."""
    address = device.address
    if address is not None and address.type != "usb":
        address = None
    bus = (address.bus if address is not None else None) or 0
    props: list[tuple[str, Value]] = [("bus", usb_bus(plan, bus))]
    ports = plan.placement.usb_ports
    port = ports.port_of(device.element) if ports is not None else None
    if port is None and address is not None:
        port = address.port
    if port is not None:
        props.append(("port", port))
    return props
