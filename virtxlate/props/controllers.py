"""Storage controllers as libvirt emits them: implicit ones added, PCI slots in
libvirt's order, ``-device`` options (qemuBuildControllersCommandLine)."""

from __future__ import annotations

from typing import Any

from ..caps import index as caps_index
from ..caps.tables import MachineFamily
from ..findings import finding_at
from ..libvirt.context import (
    ControllerPlan,
    StoragePlan,
    add_location,
    explicit_pci,
    root_bus,
    take_slot,
    transport_device,
    unsupported,
    user_alias,
)
from ..model.fields import XmlObject
from ..placement.addresses import (
    controller_indexes,
    drive_address,
    non_storage_device,
    non_storage_pci_devices,
    pci_address_text,
)
from ..placement.pcibuses import DEFAULT_DEVICE
from ..placement.zpci import with_zpci
from . import disk_table, transitional
from .mapping import add_props
from .option import Option
from .scsi import SCSI_MODEL_DEVICES, VIRTIO_SCSI_MODELS, default_scsi_model

# libvirt's qemuBuildControllersCommandLine emits controllers grouped by type in this order.
_CONTROLLER_ORDER = ("pci", "usb", "scsi", "ide", "sata", "fdc", "virtio-serial", "ccid")

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
# the ich9 USB2 set shares one slot: the EHCI master at function 7, its UHCI companions
# at 0-2 (virDomainPCIAddressReserveNextAddr for IS_USB2_CONTROLLER); q35 has the set's
# slot 00:1d (qemuDomainValidateDevicePCISlotsQ35)
_ICH9_FUNCTIONS = {"ich9-ehci1": 7, "ich9-uhci1": 0, "ich9-uhci2": 1, "ich9-uhci3": 2}
_Q35_USB2_SLOT = 0x1D


def usb_options(plan: StoragePlan) -> list[Option]:
    """The USB controllers of bus usb.0, which USB disks plug into (libvirt's index 0:
    one controller, or an ich9 EHCI with its UHCI companions), or the one libvirt adds.

    libvirt's own default is ``-device piix3-usb-uhci,id=usb,bus=pci.0,addr=0x1.0x2``
    (the PIIX3's UHCI) when QEMU has that device, else the legacy ``-usb``; on q35 the
    qemu-xhci it adds.  Emitted only when the domain has a USB disk: virtxlate writes the
    storage part of the command line, and a USB disk needs the bus.
    <controller type='usb' model='none'> means no USB at all.
    """
    if not any(disk.bus == "usb" for disk in plan.domain.disks):
        return []
    # the companions after their master (virDomainControllerInsertPreAlloced: at one
    # index a USB controller with a master goes after one without)
    at_zero = sorted(
        (c for c, index in controller_indexes(plan.domain) if c.type == "usb" and index == 0),
        key=lambda c: (c.model or "").startswith("ich9-uhci"),
    )
    if not at_zero:
        return _default_usb(plan)
    none = next((c for c in at_zero if c.model == "none"), None)
    if none is not None:
        plan.findings.append(
            finding_at(
                "VX0211",
                "error",
                "a USB disk needs a USB controller, and this domain "
                "has <controller type='usb' model='none'>",
                none,
                plan.domain.source,
            )
        )
        return []
    options = []
    for controller in at_zero:
        model = controller.model or "piix3-uhci"
        if model not in USB_DEVICES:
            plan.findings.append(unsupported(plan, controller, f"USB controller model '{model}'"))
            continue
        place = _usb_place(plan, controller, model, at_zero)
        if place is None:
            if model == "piix3-uhci" and not plan.caps.has_flag("piix3-usb-uhci"):
                options.append(Option("-usb", origin=controller))
            continue  # no place: said by take_slot
        option = Option("-device", USB_DEVICES[model], origin=controller)
        master = controller.element.find("master")
        if model.startswith("ich9-uhci"):
            # a companion: libvirt writes its master's bus and first port, and no id
            option.add("masterbus", "usb.0")
            option.add(
                "firstport",
                int(master.get("startport") or "0")
                if master is not None and (master.get("startport") or "0").isdigit()
                else 0,
            )
        else:
            option.add("id", "usb")
        add_location(option, place[:2], place[2])
        options.append(option)
    return options


def _default_usb(plan: StoragePlan) -> list[Option]:
    """The USB controller libvirt adds at index 0: qemu-xhci on q35 (placed by
    assign_controller_slots), the PIIX3's UHCI otherwise."""
    if plan.usb_address is not None:
        bus, addr = plan.usb_address
        return [Option("-device", "qemu-xhci", [("id", "usb"), ("bus", bus), ("addr", addr)])]
    if not plan.caps.has_flag("piix3-usb-uhci"):
        return [Option("-usb")]
    return [
        Option(
            "-device",
            "piix3-usb-uhci",
            [("id", "usb"), ("bus", root_bus(plan)), ("addr", "0x1.0x2")],
        )
    ]


def _usb_place(
    plan: StoragePlan,
    controller,
    model: str,  # type: ignore[no-untyped-def]
    at_zero: list,
) -> tuple[str, str, bool | None] | None:
    """(bus, addr, multifunction) of a usb.0 controller: its written address, its ich9
    set's slot, the PIIX3's UHCI (pc), or the place assign_controller_slots took."""
    address = controller.address
    if (
        address is not None
        and address.type in ("pci", "ccw")
        and (address.type == "ccw" or address.slot is not None)
    ):
        bus, addr = explicit_pci(plan, address)
        multifunction = address.multifunction
        if (
            multifunction is None
            and address.type == "pci"
            and not address.function
            and sum(1 for c in at_zero if c.address is not None and c.address.slot == address.slot)
            > 1
        ):
            multifunction = True
        return bus, addr, multifunction
    q35 = plan.family is not None and plan.family.name == "q35"
    if model in _ICH9_FUNCTIONS:
        if q35:
            slot_text: str | None = pci_address_text(_Q35_USB2_SLOT)
            bus = root_bus(plan)
        elif plan.usb_address is not None:
            bus, slot_text = plan.usb_address
        else:
            return None
        function = _ICH9_FUNCTIONS[model]
        shared = (
            sum(
                1
                for c in at_zero
                if c.model in _ICH9_FUNCTIONS and (c.address is None or c.address.slot is None)
            )
            > 1
        )
        return (
            bus,
            pci_address_text(int(slot_text or "0", 0), function),
            True if function == 0 and shared else None,
        )
    if model == "piix3-uhci" and not q35:
        if not plan.caps.has_flag("piix3-usb-uhci"):
            return None
        return root_bus(plan), "0x1.0x2", None  # the PIIX3's own UHCI
    if plan.usb_address is None:
        return None
    return plan.usb_address[0], plan.usb_address[1], None


def plan_controllers(plan: StoragePlan) -> None:
    domain, family = plan.domain, plan.family
    # "ide:0" in the table: libvirt's controller that the machine already has
    builtin_of: dict[tuple[str, int], str] = {}
    for builtin in family.builtins if family else ():
        if builtin.libvirt_controller:
            kind, _, number = builtin.libvirt_controller.partition(":")
            builtin_of[(kind, int(number or 0))] = builtin.type
    seen: set[tuple[str, int]] = set()
    grouped: dict[str, list[ControllerPlan]] = {}
    for controller in domain.controllers:
        type_ = controller.type or ""
        index = controller.index or 0
        seen.add((type_, index))
        model = controller.model
        if type_ == "scsi" and model in (None, "auto"):
            model = default_scsi_model(plan.caps)
        grouped.setdefault(type_, []).append(
            ControllerPlan(
                type=type_,
                index=index,
                model=model,
                element=controller,
                alias=user_alias(controller.element) or _controller_alias(type_, index, family),
                builtin=builtin_of.get((type_, index)),
            )
        )
    # virDomainDefAddImplicitControllers: the highest controller index a drive address
    # names (of a disk, or of a SCSI host device) implies every controller of that type
    # from 0 up to it (virDomainDefAddDiskControllersForType,
    # virDomainDefMaybeAddHostdevSCSIcontroller; checked with libvirt 9.0).
    highest: dict[str, int] = {}
    for disk in domain.disks:
        address = drive_address(disk)
        if address is not None and disk.bus in ("scsi", "ide", "sata", "fdc"):
            highest[disk.bus] = max(highest.get(disk.bus, -1), address.controller)
    for node in domain.element.iterfind("devices/hostdev[@type='scsi']/address[@type='drive']"):
        try:
            index = int(node.get("controller", "0"), 0)
        except ValueError:
            continue
        highest["scsi"] = max(highest.get("scsi", -1), index)
    for bus, top in highest.items():
        if top >= MAX_IMPLIED_CONTROLLERS:
            plan.findings.append(
                finding_at(
                    "VX0205",
                    "error",
                    f"{bus} controller index {top} implies {top + 1} "
                    "controllers, more than the machine has PCI slots for",
                    domain,
                    domain.source,
                    hint="use a lower controller index in <address type='drive'>",
                )
            )
            continue
        for index in range(top + 1):
            if (bus, index) in seen:
                continue
            seen.add((bus, index))
            model = default_scsi_model(plan.caps) if bus == "scsi" else None
            grouped.setdefault(bus, []).append(
                ControllerPlan(
                    type=bus,
                    index=index,
                    model=model,
                    element=None,
                    alias=_controller_alias(bus, index, family),
                    builtin=builtin_of.get((bus, index)),
                )
            )
    for type_ in sorted(
        grouped, key=lambda t: _CONTROLLER_ORDER.index(t) if t in _CONTROLLER_ORDER else 99
    ):
        plan.controllers.extend(sorted(grouped[type_], key=lambda c: c.index))
    _pci_devices_in_release(plan)


def _pci_devices_in_release(plan: StoragePlan) -> None:
    """A PCI controller's QEMU device (its <model name>, else the model's default) must be
    in the release: qemuValidateDomainDeviceDefControllerPCI refuses one the binary lacks
    ("the PCI controller with model name '…' isn't supported by this QEMU binary")."""
    for controller in plan.domain.controllers:
        if controller.type != "pci" or controller.model not in DEFAULT_DEVICE:
            continue
        device = controller.model_name or DEFAULT_DEVICE[controller.model]
        if (
            controller.model_name is None
            and device == "pcie-root-port"
            and not plan.caps.has_device(device)
        ):
            device = "ioh3420"  # qemuDomainPCIControllerSetDefaultModelName's fallback
        if plan.caps.has_device(device):
            continue
        since = caps_index.first_with("devices", device, plan.caps.arch, after=plan.caps.version)
        plan.findings.append(
            finding_at(
                "VX0303",
                "error",
                f"the PCI controller with model name '{device}' needs QEMU "
                f"device '{device}', which QEMU {plan.caps.version} does not have",
                controller,
                plan.domain.source,
                since=since,
                hint=None if since else "no release virtxlate knows has it",
            )
        )


# Each implied controller takes a PCI slot: 32 buses' worth of slots is more than any
# machine libvirt builds can give (libvirt itself gives up placing them, slowly).
MAX_IMPLIED_CONTROLLERS = 32 * 32


def _controller_alias(type_: str, index: int, family: MachineFamily | None) -> str:
    # qemuAssignDeviceControllerAlias: the q35 built-in AHCI is 'ide', the
    # i440fx built-in IDE is 'ide' too; others are TYPE + index.
    if family is not None and family.name == "q35" and type_ == "sata" and index == 0:
        return "ide"
    if type_ == "ide" and index == 0:
        return "ide"
    return f"{type_}{index}"


def _needs_device(controller: ControllerPlan) -> bool:
    return controller.builtin is None and controller.type in ("scsi", "sata")


def controller_device(controller: ControllerPlan) -> str:
    """The QEMU device of a storage controller that needs one."""
    if controller.type == "scsi":
        return SCSI_MODEL_DEVICES.get(controller.model or "", "lsi")
    return "ahci"


def assign_controller_slots(plan: StoragePlan) -> None:
    """Slots in libvirt 9.0's order (checked with its domxml-to-native): filesystems,
    interfaces and sound first; then every controller that needs one, storage or not, in
    the controller array's order: the domain's own, then the USB controller libvirt adds
    to a q35 domain without one, then the storage controllers it implies.  The virtio
    disks come after."""
    others = non_storage_pci_devices(plan.domain, plan.family)
    for node in others["other"]:
        take_slot(plan, XmlObject(node), non_storage_device(node, plan.pcie is not None))
    by_element = {
        id(c.element.element): c
        for c in plan.controllers
        if c.element is not None and _needs_device(c)
    }
    wanted = set(by_element) | {id(node) for node in others["controller"]}
    # (type, index, kind, what): the domain's controllers as libvirt's parser keeps them
    # (grouped by type, by index), then the USB controller libvirt adds and the storage
    # controllers it implies, appended in that order (virDomainDefAddController appends;
    # checked with libvirt 9.0: an implied lsi comes after the added qemu-xhci)
    # (the groups' order comes from every controller, those that take no slot included)
    # (controller_indexes: one without an index takes the lowest its type has free)
    entries: list[tuple[str, int, str, Any]] = [
        (controller.type or "", index, "element", controller.element)
        for controller, index in controller_indexes(plan.domain)
        if id(controller.element) in wanted
    ]
    if plan.pcie is not None and _implicit_usb(plan):
        # libvirt adds a USB controller to a q35 domain that names none: qemu-xhci
        entries.append(("usb", 0, "implicit-usb", None))
    entries += [
        (c.type, c.index, "implied", c)
        for c in plan.controllers
        if c.element is None and _needs_device(c)
    ]
    for type_, index, kind, what in entries:
        if kind == "implicit-usb":
            plan.usb_address = take_slot(plan, plan.domain, "qemu-xhci")
        elif kind == "implied":
            _place_controller(plan, what, None)
        elif id(what) in by_element:
            controller = by_element[id(what)]
            assert controller.element is not None  # by_element holds written ones only
            _place_controller(plan, controller, controller.element.address)
        else:  # a non-storage controller
            placed = take_slot(
                plan, XmlObject(what), non_storage_device(what, plan.pcie is not None)
            )
            if type_ == "usb" and index == 0:
                plan.usb_address = placed


def _place_controller(plan: StoragePlan, controller: ControllerPlan, explicit) -> None:  # type: ignore[no-untyped-def]
    """A storage controller's place: its written PCI or ccw address, else libvirt's."""
    if explicit is not None and explicit.type in ("pci", "ccw"):
        controller.pci_bus, controller.pci_addr = explicit_pci(plan, explicit)
        return
    placed = take_slot(plan, controller.element or plan.domain, controller_device(controller))
    if placed is not None:
        controller.pci_bus, controller.pci_addr = placed


def _implicit_usb(plan: StoragePlan) -> bool:
    """libvirt adds its default USB controller when none has index 0
    (virDomainDefAddImplicitControllers; checked with libvirt 9.0: a q35 domain with only
    a qemu-xhci of index 1 gets a qemu-xhci 'usb' beside it)."""
    return not any(
        controller.type == "usb" and index == 0
        for controller, index in controller_indexes(plan.domain)
    )


def controller_options(plan: StoragePlan) -> list[Option]:
    options = []
    for controller in plan.controllers:
        if not _needs_device(controller):
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
        if controller.pci_addr:
            add_location(option, (controller.pci_bus or "", controller.pci_addr), multifunction)
        else:
            option.add("bus", controller.pci_bus)
        if controller.element is not None:
            options.extend(with_zpci(plan, controller.element.element, controller.alias, option))
        else:
            options.append(option)
    return options
