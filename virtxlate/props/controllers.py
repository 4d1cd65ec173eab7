"""Storage controllers as libvirt emits them: implicit ones added, PCI slots in
libvirt's order, ``-device`` options (qemuBuildControllersCommandLine)."""

from __future__ import annotations

from ..findings import finding_at
from ..names import transitional
from ..names.scsi import SCSI_MODEL_DEVICES, VIRTIO_SCSI_MODELS
from ..option import Option
from ..placement.addresses import controller_indexes
from ..placement.controllers import controller_device, needs_device
from ..placement.zpci import with_zpci
from . import disk_table
from .context import (
    StoragePlan,
    add_location,
    root_bus,
    transport_device,
    unsupported,
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
        place = plan.placement.place_of(controller)
        if place is None:
            if model == "piix3-uhci" and not plan.caps.has_flag("piix3-usb-uhci"):
                options.append(Option("-usb", origin=controller))
            continue  # no place: said by the placement
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
        add_location(option, place.location, place.multifunction)
        options.append(option)
    return options


def _default_usb(plan: StoragePlan) -> list[Option]:
    """The USB controller libvirt adds at index 0: qemu-xhci on q35 (placed by
    the placement), the PIIX3's UHCI otherwise."""
    if plan.placement.usb0 is not None:
        bus, addr = plan.placement.usb0
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


def controller_options(plan: StoragePlan) -> list[Option]:
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
