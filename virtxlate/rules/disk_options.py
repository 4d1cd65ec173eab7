"""Layer 2 of check, continued: the disk options libvirt refuses together, one function
per rule, each naming the libvirt check it mirrors (libvirt 9.0: qemu_validate.c and
domain_validate.c; the messages were read from `virsh domxml-to-native`)."""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import InvalidValue
from ..findings import Finding, finding_at
from ..model import Domain
from ..model.devices import Address
from ..model.fields import XmlObject
from ..placement.addresses import addressed

# io='native' needs the host page cache bypassed (O_DIRECT)
_NATIVE_IO_CACHES = ("none", "directsync")
# the formats that are raw: libvirt reads the old 'aio' format as raw
# (virDomainDiskDefDriverParseXML; checked with libvirt 9.0's domxml-to-native)
_RAW = (None, "raw", "aio")


def pci_numbers(address: Address) -> dict[str, int] | None:
    """domain, bus, slot, function of a PCI address (0 when absent, as libvirt reads an
    absent part); None when one is not a number (the model's own finding says so)."""
    try:
        return {
            "domain": address.domain or 0,
            "bus": address.bus or 0,
            "slot": address.slot or 0,
            "function": address.function or 0,
        }
    except InvalidValue:
        return None


# the elements whose absence from the whole domain lets a rule skip reading a field of
# every device (an <alias>, a <wwn>, a <geometry>: most domains have none; fewer than
# two <boot> elements: no boot order can be used twice)
_GATE_TAGS = ("alias", "wwn", "vendor", "product", "geometry", "boot")


def elements_named(domain: Domain, tag: str) -> int:
    """How many elements named TAG (one of _GATE_TAGS) the domain has anywhere: one walk
    of the tree in lxml's C for them all, kept with the domain's reads, so that a rule
    over every device returns at once when none can have what it looks for."""
    return domain.derived(elements_named, _count_tags, domain).get(tag, 0)


def _count_tags(domain: Domain) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in domain.element.iter(*_GATE_TAGS):
        counts[node.tag] = counts.get(node.tag, 0) + 1
    return counts


def has_elements(domain: Domain, *tags: str) -> bool:
    """True when the domain has an element of one of TAGS (of _GATE_TAGS) anywhere."""
    return any(elements_named(domain, tag) for tag in tags)


def lun_options(domain: Domain) -> Iterator[Finding]:
    """VX0212 — a SCSI LUN passes the host's device through: libvirt refuses a format
    other than raw ("disk device 'lun' must use 'raw' format") and, on the SCSI bus, a
    <serial> ("scsi-block 'lun' devices do not support the serial property")."""
    for disk in domain.disks:
        if disk.device != "lun":
            continue
        driver = disk.driver
        if driver is not None and driver.type not in _RAW:
            yield finding_at(
                "VX0212",
                "error",
                f"disk device 'lun' must use the 'raw' format, not '{driver.type}'",
                driver,
                domain.source,
                xpath_suffix="/@type",
            )
        if disk.bus == "scsi" and disk.serial is not None:
            yield finding_at(
                "VX0212",
                "error",
                "a SCSI 'lun' disk (scsi-block) takes no <serial>",
                disk.place_of("serial"),
                domain.source,
                hint="remove <serial>: the LUN reports the host device's own",
            )


def native_io_cache(domain: Domain) -> Iterator[Finding]:
    """VX0213 — "io='native' needs either no disk cache or directsync cache mode"
    (libvirt refuses the default cache mode too)."""
    for disk in domain.disks:
        driver = disk.driver
        if driver is None or driver.io != "native" or driver.cache in _NATIVE_IO_CACHES:
            continue
        cache = f"cache='{driver.cache}'" if driver.cache else "the default cache mode"
        yield finding_at(
            "VX0213",
            "error",
            f"io='native' needs cache='none' or cache='directsync', not {cache}",
            driver,
            domain.source,
            xpath_suffix="/@io",
            hint="set cache='none' (or use io='threads')",
        )


def shareable_format(domain: Domain) -> Iterator[Finding]:
    """VX0214 — a writable shared disk needs a format several guests can write at once:
    raw ("shared access for disk 'vda' requires use of supported storage format")."""
    for disk in domain.disks:
        if not disk.shareable or disk.readonly:
            continue
        driver = disk.driver
        if driver is not None and driver.type not in _RAW:
            yield finding_at(
                "VX0214",
                "error",
                f"a shareable, writable disk must be raw, not '{driver.type}'",
                driver,
                domain.source,
                xpath_suffix="/@type",
                hint="use a raw image, or make the disk <readonly/>",
            )


def bus_fits_device(domain: Domain) -> Iterator[Finding]:
    """VX0216 — the device and bus pairs libvirt refuses: removable media on virtio
    ("disk type of 'vda' does not support ejectable media"), a floppy anywhere but fdc
    and anything else on fdc ("Invalid bus type 'fdc' for disk")."""
    for disk in domain.disks:
        bus, device = disk.bus, disk.device or "disk"
        target = disk.target
        if bus == "virtio" and device in ("cdrom", "floppy"):
            message = f"a virtio disk cannot be a {device} (no removable media)"
        elif device == "floppy" and bus not in ("fdc", None):
            message = f"a floppy must be on bus 'fdc', not '{bus}'"
        elif bus == "fdc" and device != "floppy":
            message = f"bus 'fdc' takes only floppies, not a {device}"
        else:
            continue
        yield finding_at("VX0216", "error", message, target, domain.source, xpath_suffix="/@bus")


def readonly_hard_disk(domain: Domain) -> Iterator[Finding]:
    """VX0217 — "readonly ide disks are not supported" (and sata): an IDE/SATA hard disk
    cannot be read-only; a CD-ROM is read-only anyway."""
    for disk in domain.disks:
        if disk.readonly and disk.bus in ("ide", "sata") and (disk.device or "disk") == "disk":
            yield finding_at(
                "VX0217",
                "error",
                f"a {disk.bus} hard disk cannot be read-only",
                disk.place_of("readonly"),
                domain.source,
                hint="use bus='scsi' or 'virtio' for a read-only disk",
            )


def identity_fits_bus(domain: Domain) -> Iterator[Finding]:
    """VX0218 — "Only ide and scsi disk support wwn"; "Only scsi disk supports vendor
    and product"."""
    if not has_elements(domain, "wwn", "vendor", "product"):
        return
    for disk in domain.disks:
        if disk.wwn is not None and disk.bus not in ("ide", "scsi"):
            yield finding_at(
                "VX0218",
                "error",
                f"<wwn> is only for ide and scsi disks, not bus '{disk.bus}'",
                disk.place_of("wwn"),
                domain.source,
            )
        for name in ("vendor", "product"):
            if getattr(disk, name) is not None and disk.bus != "scsi":
                yield finding_at(
                    "VX0218",
                    "error",
                    f"<{name}> is only for scsi disks, not bus '{disk.bus}'",
                    disk.place_of(name),
                    domain.source,
                )


def unique_boot_order(domain: Domain) -> Iterator[Finding]:
    """VX0219 — "boot order '1' used for more than one device" (all devices count; the
    order is a number to libvirt, virXMLPropUInt, so order='01' is order 1)."""
    if elements_named(domain, "boot") < 2:
        return  # (one <boot order> or none: nothing can be used twice)
    seen: dict[int, XmlObject] = {}
    for device in domain.devices:
        try:
            order = device.boot_order
        except InvalidValue:
            continue  # the schema reports it
        if order is None:
            continue
        if order in seen:
            yield finding_at(
                "VX0219",
                "error",
                f"boot order {order} is already used by the device on line {seen[order].line}",
                device.place_of("boot_order"),
                domain.source,
                xpath_suffix="/@order",
            )
        else:
            seen[order] = device


def unique_pci_address(domain: Domain) -> Iterator[Finding]:
    """VX0220 — "Attempted double use of PCI Address 0000:00:07.0" between devices the
    XML places itself."""
    seen: dict[tuple[int, int, int, int], XmlObject] = {}
    for device, address in addressed(domain, "pci"):
        values = pci_numbers(address)
        if values is None:
            continue  # the schema reports it
        key = (values["domain"], values["bus"], values["slot"], values["function"])
        if key in seen:
            text = "{:04x}:{:02x}:{:02x}.{:x}".format(*key)
            yield finding_at(
                "VX0220",
                "error",
                f"PCI address {text} is already used by the device on line {seen[key].line}",
                address,
                domain.source,
            )
        else:
            seen[key] = device


def unfiltered_sgio(domain: Domain) -> Iterator[Finding]:
    """VX0212 — sgio='unfiltered': libvirt 9.0 refuses it ("unfiltered sgio is no longer
    supported", qemuValidateDomainDeviceDefDiskFrontend)."""
    for disk in domain.disks:
        if disk.sgio == "unfiltered":
            yield finding_at(
                "VX0212",
                "error",
                "libvirt 9.0 no longer supports sgio='unfiltered' (\"unfiltered sgio is no "
                'longer supported")',
                disk,
                domain.source,
                xpath_suffix="/@sgio",
                hint="drop sgio (filtered is what QEMU does)",
            )


def driver_name_is_qemu(domain: Domain) -> Iterator[Finding]:
    """VX0227 — <driver name> other than 'qemu' on a QEMU domain ("unsupported driver name
    'xyz' for disk 'hdc'", qemuValidateDomainDeviceDefDiskFrontend; checked with 9.0)."""
    for disk in domain.disks:
        driver = disk.driver
        if driver is not None and driver.name is not None and driver.name != "qemu":
            yield finding_at(
                "VX0227",
                "error",
                f"unsupported driver name '{driver.name}' for disk '{disk.dev}': QEMU's "
                "driver is 'qemu'",
                driver,
                domain.source,
                xpath_suffix="/@name",
                hint="write <driver name='qemu' …/> or leave name out",
            )


def chs_translation_on_ide(domain: Domain) -> Iterator[Finding]:
    """VX0228 — <geometry trans> on a disk not on the IDE bus ("CHS translation mode can
    only be set for 'ide' bus not 'scsi'", checked with libvirt 9.0)."""
    if not has_elements(domain, "geometry"):
        return
    for disk in domain.disks:
        geometry = disk.geometry
        if geometry is not None and geometry.trans is not None and disk.bus != "ide":
            yield finding_at(
                "VX0228",
                "error",
                f"a CHS translation mode can only be set for the 'ide' bus, not "
                f"'{disk.bus}' (libvirt 9.0)",
                geometry,
                domain.source,
                xpath_suffix="/@trans",
                hint="drop trans, or put the disk on bus='ide'",
            )


def network_source_name(domain: Domain) -> Iterator[Finding]:
    """VX0231 — a network disk's <source> names its image or target in @name, which
    libvirt 9.0 requires of every protocol but NBD ("missing name for disk source").  An
    empty iSCSI name is refused too: libvirt 9.0's daemon crashes reading it (a segfault
    in domxml-to-native, seen in a differential test), so no such domain starts."""
    for disk in domain.disks:
        source = disk.source
        if disk.type != "network" or source is None or source.protocol in (None, "nbd"):
            continue
        name = source.name
        if name is None:
            message = (
                f"a '{source.protocol}' disk source needs a name "
                '(libvirt: "missing name for disk source")'
            )
        elif name == "" and source.protocol == "iscsi":
            message = "an empty iSCSI name: libvirt 9.0's daemon crashes reading it"
        else:
            continue
        yield finding_at(
            "VX0231",
            "error",
            message,
            source,
            domain.source,
            xpath_suffix="/@name" if name is not None else "",
            hint="name the iSCSI target and LUN (IQN/LUN), the RBD pool/image, the path …",
        )


DISK_OPTION_RULES = (
    network_source_name,
    lun_options,
    unfiltered_sgio,
    driver_name_is_qemu,
    chs_translation_on_ide,
    native_io_cache,
    shareable_format,
    bus_fits_device,
    readonly_hard_disk,
    identity_fits_bus,
    unique_boot_order,
    unique_pci_address,
)
