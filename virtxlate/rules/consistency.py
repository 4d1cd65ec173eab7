"""Layer 2 of check: what libvirt itself refuses for QEMU storage, one function per rule.

Each rule names the libvirt behaviour it mirrors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..findings import Finding, finding_at
from ..model import Domain
from ..model.devices import SCSI_MODELS
from ..model.fields import XmlObject
from ..placement.addresses import addressed, controller_indexes, drive_address
from .disk_options import DISK_OPTION_RULES, has_elements, pci_numbers

Rule = Callable[[Domain], Iterator[Finding]]


def duplicate_target(domain: Domain) -> Iterator[Finding]:
    """VX0201 — virDomainDefCheckDuplicateDiskInfo: "target 'sda' duplicated for disk sources"."""
    seen: dict[str, XmlObject] = {}
    for disk in domain.disks:
        dev = disk.dev
        if dev is None:
            continue
        if dev in seen:
            yield finding_at(
                "VX0201",
                "error",
                f"target dev '{dev}' is already used by the disk on line {seen[dev].line}",
                disk.target,
                domain.source,
                xpath_suffix="/@dev",
                hint="give every disk its own <target dev>",
            )
        else:
            seen[dev] = disk


def duplicate_drive_address(domain: Domain) -> Iterator[Finding]:
    """VX0202 — virDomainDiskDefCheckDuplicateInfo: two disks at one drive address,
    after libvirt's automatic assignment from the target name."""
    seen: dict[tuple[str, object], XmlObject] = {}
    for disk in domain.disks:
        if disk.bus not in ("scsi", "ide", "sata", "fdc"):
            continue
        address = drive_address(disk)
        if address is None:
            continue
        key = (disk.bus, address)
        if key in seen:
            where = (
                f"controller {address.controller} bus {address.bus} "
                f"target {address.target} unit {address.unit}"
            )
            yield finding_at(
                "VX0202",
                "error",
                f"{disk.bus} drive address ({where}) is already used by the disk "
                f"on line {seen[key].line}",
                disk,
                domain.source,
                hint="set <address type='drive' …> or another target dev",
            )
        else:
            seen[key] = disk


def scsi_model_known(domain: Domain) -> Iterator[Finding]:
    """VX0203 — libvirt's schema and virDomainControllerModelSCSITypeFromString."""
    for controller in domain.controllers:
        if (
            controller.type == "scsi"
            and controller.model is not None
            and controller.model not in SCSI_MODELS
        ):
            yield finding_at(
                "VX0203",
                "error",
                f"unknown SCSI controller model '{controller.model}'",
                controller,
                domain.source,
                xpath_suffix="/@model",
                hint="one of: " + ", ".join(SCSI_MODELS),
            )


def virtio_scsi_only_driver(domain: Domain) -> Iterator[Finding]:
    """VX0206 — qemuValidateDomainDeviceDefControllerAttributes: queues, cmd_per_lun,
    max_sectors, ioeventfd and iothread are only for virtio-scsi controllers."""
    for controller in domain.controllers:
        driver = controller.driver
        if driver is None or controller.type != "scsi":
            continue
        if controller.model in (
            None,
            "auto",
            "virtio-scsi",
            "virtio-transitional",
            "virtio-non-transitional",
        ):
            continue
        for name in ("queues", "cmd_per_lun", "max_sectors", "ioeventfd", "iothread"):
            if getattr(driver, name) is not None:
                yield finding_at(
                    "VX0206",
                    "error",
                    f"'{name}' is only supported by virtio-scsi controllers, "
                    f"not by model '{controller.model}'",
                    driver,
                    domain.source,
                    xpath_suffix=f"/@{name}",
                )


def iothread_defined(domain: Domain) -> Iterator[Finding]:
    """VX0207 — "controller iothread '1' not defined in iothreadid"; disk iothread likewise,
    and a disk iothread only on virtio disks (qemuValidateDomainDeviceDefDiskIOThreads)."""
    ids = domain.iothread_id_set()
    for controller in domain.controllers:
        driver = controller.driver
        if driver is not None and driver.iothread is not None and driver.iothread not in ids:
            yield finding_at(
                "VX0207",
                "error",
                f"controller iothread '{driver.iothread}' not defined in iothreadid",
                driver,
                domain.source,
                xpath_suffix="/@iothread",
                hint="add <iothreads> or <iothreadids> to the domain",
            )
    for disk in domain.disks:
        disk_driver = disk.driver
        if disk_driver is None or disk_driver.iothread is None:
            continue
        if disk.bus != "virtio":
            yield finding_at(
                "VX0208",
                "error",
                f"IOThreads are only available for virtio disks, not bus '{disk.bus}'",
                disk_driver,
                domain.source,
                xpath_suffix="/@iothread",
            )
        elif disk_driver.iothread not in ids:
            yield finding_at(
                "VX0207",
                "error",
                f"disk iothread '{disk_driver.iothread}' not defined in iothreadid",
                disk_driver,
                domain.source,
                xpath_suffix="/@iothread",
                hint="add <iothreads> or <iothreadids> to the domain",
            )


# More iothread objects than virtxlate writes out (libvirt would try to write them all).
MAX_IOTHREADS = 65536


def iothread_count(domain: Domain) -> Iterator[Finding]:
    """VX0222 — a count of <iothreads> beyond what virtxlate writes (one -object each)."""
    if domain.iothreads is not None and domain.iothreads > MAX_IOTHREADS:
        yield finding_at(
            "VX0222",
            "error",
            f"<iothreads> of {domain.iothreads} is more than virtxlate writes "
            f"(at most {MAX_IOTHREADS} iothread objects)",
            domain.place_of("iothreads") or domain,
            domain.source,
        )


def address_fits_bus(domain: Domain) -> Iterator[Finding]:
    """VX0209 — virDomainDiskDefValidate: a drive address only on a controller bus,
    a PCI address not on one ("Invalid address type for the disk bus")."""
    drive_buses = ("scsi", "ide", "sata", "fdc")
    for disk in domain.disks:
        address = disk.address
        if address is None or disk.bus is None:
            continue
        if address.type == "drive" and disk.bus not in drive_buses:
            yield finding_at(
                "VX0209",
                "error",
                f"a drive address does not fit a disk on bus '{disk.bus}'",
                address,
                domain.source,
                xpath_suffix="/@type",
            )
        if address.type != "drive" and disk.bus in drive_buses:
            yield finding_at(
                "VX0209",
                "error",
                f"a {address.type} address does not fit a disk on bus '{disk.bus}'",
                address,
                domain.source,
                xpath_suffix="/@type",
                hint="use <address type='drive' controller bus target unit>",
            )


# virPCIDeviceAddressIsValid: the largest value of each PCI address part, as libvirt
# prints it in its refusal
_PCI_LIMITS = (("bus", 0xFF, "0xFF"), ("slot", 0x1F, "0x1F"), ("function", 7, "7"))


def pci_address_in_range(domain: Domain) -> Iterator[Finding]:
    """VX0100 — libvirt's parser refuses a PCI address part beyond what PCI has
    ("Invalid PCI address bus='0x100', must be <= 0xFF"; slot 0x1F, function 7) and a
    PCI domain other than 0 ("Only PCI domain 0 is available")."""
    for _, address in addressed(domain, "pci"):
        values = pci_numbers(address)
        if values is None:
            continue  # the model reports the number it cannot read
        for name, limit, text in _PCI_LIMITS:
            if values[name] > limit:
                shown = (
                    f"{name}=0x{values[name]:x}"
                    if name == "function"
                    else f"{name}='0x{values[name]:x}'"
                )
                yield finding_at(
                    "VX0100",
                    "error",
                    f"a PCI {name} is at most {text} "
                    f'(libvirt: "Invalid PCI address {shown}, must be <= '
                    f'{text}")',
                    address,
                    domain.source,
                    xpath_suffix=f"/@{name}",
                )
                break
        else:
            if values["domain"] != 0:
                yield finding_at(
                    "VX0100",
                    "error",
                    'only PCI domain 0 exists (libvirt: "Only PCI domain 0 is available")',
                    address,
                    domain.source,
                    xpath_suffix="/@domain",
                )


# the slots a PCI controller's bus has for devices (virDomainPCIAddressBusSetModel; the
# refusals checked with libvirt 9.0): a port has one, a bridge's start at 1
_BUS_SLOTS = {
    "pcie-root-port": (0, 0),
    "pcie-switch-downstream-port": (0, 0),
    "pci-bridge": (1, 31),
    "pcie-to-pci-bridge": (1, 31),
}


def pci_slot_fits_bus(domain: Domain) -> Iterator[Finding]:
    """VX0100 — a device written at a slot its bus does not have: beyond slot 0 of a
    root or downstream port ("Invalid PCI address 0000:01:01.0. slot must be <= 0"),
    at slot 0 of a PCI bridge ("… slot must be >= 1")."""
    if not any(controller.type == "pci" for controller in domain.controllers):
        return  # most domains declare no PCI controller
    models = {
        index: controller.model
        for controller, index in controller_indexes(domain)
        if controller.type == "pci"
    }
    for _, address in addressed(domain, "pci"):
        values = pci_numbers(address)
        if values is None:
            continue  # the model reports the number it cannot read
        bus, slot, function = values["bus"], values["slot"], values["function"]
        low, high = _BUS_SLOTS.get(models.get(bus) or "", (0, 31))
        if bus == 0 or address.slot is None or low <= slot <= high:
            continue
        bound = f"<= {high}" if slot > high else f">= {low}"
        yield finding_at(
            "VX0100",
            "error",
            f"bus {bus} is a {models[bus]}, which has no "
            f'slot {slot} (libvirt: "Invalid PCI address '
            f'0000:{bus:02x}:{slot:02x}.{function:x}. slot must be {bound}")',
            address,
            domain.source,
            xpath_suffix="/@slot",
        )


def unique_user_alias(domain: Domain) -> Iterator[Finding]:
    """VX0100 — two devices with one user alias: libvirt refuses it ("non unique alias
    detected: ua-disk"); an alias it does not keep (user_alias) is not counted."""
    if not has_elements(domain, "alias"):
        return
    seen: dict[str, XmlObject] = {}
    for device in domain.devices:
        alias = device.user_alias
        if alias is None:
            continue
        if alias in seen:
            yield finding_at(
                "VX0100",
                "error",
                f"the alias '{alias}' is already the device's "
                f'on line {seen[alias].line} (libvirt: "non unique alias detected: '
                f'{alias}")',
                device.place_of("alias"),
                domain.source,
                xpath_suffix="/@name",
            )
        else:
            seen[alias] = device


def lun_needs_block(domain: Domain) -> Iterator[Finding]:
    """VX0210 — virDomainDiskDefValidate: device='lun' needs a block or iSCSI source,
    and only scsi or virtio buses."""
    for disk in domain.disks:
        if disk.device != "lun":
            continue
        source = disk.source
        is_iscsi = disk.type == "network" and source is not None and source.protocol == "iscsi"
        if disk.type != "block" and not is_iscsi and disk.type != "volume":
            yield finding_at(
                "VX0210",
                "error",
                "disk device='lun' is only valid for block type disk source",
                disk,
                domain.source,
                xpath_suffix="/@device",
            )
        if disk.bus not in ("scsi", "virtio", None):
            yield finding_at(
                "VX0210",
                "error",
                f"disk device='lun' is not supported for bus='{disk.bus}'",
                disk,
                domain.source,
                xpath_suffix="/@device",
            )


_USB_COMPANIONS = ("ich9-uhci1", "ich9-uhci2", "ich9-uhci3")


def usb_companion_master(domain: Domain) -> Iterator[Finding]:
    """VX0223 — an ich9 UHCI companion needs a master (the ich9 EHCI) at its index:
    libvirt 9.0 refuses one without ("No master USB controller specified", and with a
    <master> element "masterbus not found"); indexes as libvirt gives them."""
    indexes = controller_indexes(domain)
    masters = {
        index
        for controller, index in indexes
        if controller.type == "usb" and controller.model not in _USB_COMPANIONS
    }
    for controller, index in indexes:
        if (
            controller.type == "usb"
            and controller.model in _USB_COMPANIONS
            and index not in masters
        ):
            yield finding_at(
                "VX0223",
                "error",
                f"USB controller model '{controller.model}' at index {index} has "
                "no master controller at that index",
                controller,
                domain.source,
                xpath_suffix="/@model",
                hint=f"add <controller type='usb' index='{index}' model='ich9-ehci1'/>",
            )


# QEMU_USB_XHCI_MAXPORTS: the ports an xHCI controller takes (qemu-xhci's p2 and p3)
XHCI_MAX_PORTS = 15


def xhci_ports_limit(domain: Domain) -> Iterator[Finding]:
    """VX0230 — libvirt's controller post-parse (qemuDomainControllerDefPostParse)
    refuses more than 15 ports on a nec-xhci or qemu-xhci controller ("'qemu-xhci'
    controller only supports up to '15' ports"; checked with libvirt 9.0)."""
    for controller in domain.controllers:
        if controller.type != "usb" or controller.model not in ("nec-xhci", "qemu-xhci"):
            continue
        ports = controller.ports
        if ports is not None and ports > XHCI_MAX_PORTS:
            yield finding_at(
                "VX0230",
                "error",
                f"'{controller.model}' controller only supports up to '{XHCI_MAX_PORTS}' "
                f"ports (libvirt), not {ports}",
                controller,
                domain.source,
                xpath_suffix="/@ports",
            )


# libvirt keeps a controller's index in an int (virDomainControllerDef's idx)
_INT_MAX = 2**31 - 1


def controller_index_in_range(domain: Domain) -> Iterator[Finding]:
    """VX0100 — a controller index libvirt's parser cannot keep ("Invalid value for
    attribute 'index' in element 'controller': '2147483648'. Expected integer value";
    checked with libvirt 9.0).  (A PCI controller's index above 255 is the placement's:
    libvirt refuses it after its addressing, whose refusal may come first.)"""
    for controller in domain.controllers:
        index = controller.index
        if index is not None and index > _INT_MAX:
            yield finding_at(
                "VX0100",
                "error",
                f'controller index {index} is more than libvirt reads (libvirt: "Invalid '
                f"value for attribute 'index' in element 'controller': '{index}'. "
                'Expected integer value")',
                controller,
                domain.source,
                xpath_suffix="/@index",
            )


def uefi_needs_acpi(domain: Domain) -> Iterator[Finding]:
    """VX0224 — qemuValidateDomainDefBoot: UEFI firmware (a pflash <loader>, or
    firmware='efi') on x86 needs <features><acpi/> ("UEFI requires ACPI on this
    architecture")."""
    os = domain.os
    if os is None or domain.arch not in (None, "x86_64", "i686"):
        return
    loader = os.loader
    pflash = loader is not None and loader.type == "pflash"
    features = domain.features
    if (pflash or os.firmware == "efi") and (features is None or not features.acpi):
        where = loader if pflash and loader is not None else os
        yield finding_at(
            "VX0224",
            "error",
            "UEFI firmware needs ACPI on x86, and the domain has no <features><acpi/>",
            where,
            domain.source,
            hint="add <features><acpi/></features>",
        )


def firmware_autoselection_alone(domain: Domain) -> Iterator[Finding]:
    """VX0225 — with <os firmware='…'> libvirt picks the loader and NVRAM template itself
    (virDomainDefOSValidate, checked with libvirt 9.0): a <loader> with readonly, type or a
    path, or an <nvram template>, is refused ("loader attribute 'readonly' cannot be
    specified when firmware autoselection is enabled")."""
    os = domain.os
    if os is None or os.firmware is None:
        return
    loader, nvram = os.loader, os.nvram
    said: tuple[str, XmlObject] | None = None
    if loader is not None and loader.readonly is not None:
        said = ("loader attribute 'readonly'", loader)
    elif loader is not None and (loader.type is not None or (loader.path or "").strip()):
        said = ("loader attribute 'type'", loader)
    elif nvram is not None and nvram.template is not None:
        said = ("nvram attribute 'template'", nvram)
    if said is not None:
        what, where = said
        yield finding_at(
            "VX0225",
            "error",
            f"libvirt refuses the {what} beside firmware autoselection (<os firmware="
            f"'{os.firmware}'>): \"{what} cannot be specified when firmware autoselection "
            'is enabled"',
            where,
            domain.source,
            hint="drop the attribute, or drop firmware='…' and name the loader yourself",
        )


def secure_boot_needs_smm(domain: Domain) -> Iterator[Finding]:
    """VX0226 — a secure-boot loader without <smm state='on'/> (checked with libvirt
    9.0: "Secure boot requires SMM feature enabled").  With firmware autoselection
    libvirt turns SMM on itself for a secure firmware it finds on the host."""
    os = domain.os
    loader = os.loader if os is not None else None
    if os is None or os.firmware is not None or loader is None or not loader.secure:
        return
    features = domain.features
    smm = features.smm if features is not None else None
    if smm is None or smm.state is False:
        yield finding_at(
            "VX0226",
            "error",
            "a secure-boot loader (secure='yes') needs SMM, and the domain has no "
            "<features><smm state='on'/> (libvirt: \"Secure boot requires SMM feature "
            'enabled")',
            loader,
            domain.source,
            hint="add <smm state='on'/> to <features>",
        )


def bios_serial_needs_serial(domain: Domain) -> Iterator[Finding]:
    """VX0229 — virDomainDefOSValidate: <bios useserial='yes'> (SeaBIOS on the serial
    console, as oVirt writes it) needs a serial port: a <serial>, or a <console> libvirt
    turns into one (its target type serial, or none)."""
    os = domain.os
    if os is None or not os.bios_useserial:
        return
    if domain.serials or any(c.target_type in (None, "serial") for c in domain.consoles):
        return
    yield finding_at(
        "VX0229",
        "error",
        "need at least one serial port to use BIOS serial output",
        os,
        domain.source,
        xpath_suffix="/bios/@useserial",
        hint="add a <serial type='pty'/>, or drop useserial='yes'",
    )


RULES: tuple[Rule, ...] = (
    duplicate_target,
    duplicate_drive_address,
    scsi_model_known,
    virtio_scsi_only_driver,
    iothread_defined,
    iothread_count,
    address_fits_bus,
    lun_needs_block,
    usb_companion_master,
    xhci_ports_limit,
    controller_index_in_range,
    uefi_needs_acpi,
    firmware_autoselection_alone,
    secure_boot_needs_smm,
    pci_address_in_range,
    pci_slot_fits_bus,
    unique_user_alias,
    bios_serial_needs_serial,
    *DISK_OPTION_RULES,
)


def consistency_findings(domain: Domain) -> list[Finding]:
    return [finding for rule in RULES for finding in rule(domain)]
