"""Storage devices of a libvirt domain: controllers, disks and what they hold.

Names follow libvirt's domain XML (https://libvirt.org/formatdomain.html); every
field reads ``None`` when the user did not write it.
"""

from __future__ import annotations

import re

from lxml import etree

from .fields import (
    COUNT,
    HEX,
    INT,
    ON_OFF,
    YES_NO,
    Child,
    Children,
    Computed,
    Converter,
    Field,
    Flag,
    XmlObject,
    element_text,
    enumeration,
)

# The SCSI controller models of libvirt's schema (the other enumerations live in
# schemas/domain-storage.xsd).
SCSI_MODELS = (
    "auto",
    "buslogic",
    "lsilogic",
    "lsisas1068",
    "vmpvscsi",
    "ibmvscsi",
    "virtio-scsi",
    "lsisas1078",
    "virtio-transitional",
    "virtio-non-transitional",
    "ncr53c90",
    "am53c974",
    "dc390",
)


# libvirt's PCI controller models → the <model name> each accepts: the enumeration of
# domaincommon.rng, paired as qemuValidateDomainDeviceDefControllerPCI pairs them.  The
# name becomes the -device driver, so nothing outside this table may reach it.
PCI_MODEL_NAMES: dict[str, tuple[str, ...]] = {
    "pci-root": ("spapr-pci-host-bridge",),
    "pcie-root": (),
    "pci-bridge": ("pci-bridge",),
    "dmi-to-pci-bridge": ("i82801b11-bridge",),
    "pcie-to-pci-bridge": ("pcie-pci-bridge",),
    "pcie-root-port": ("ioh3420", "pcie-root-port"),
    "pcie-switch-upstream-port": ("x3130-upstream",),
    "pcie-switch-downstream-port": ("xio3130-downstream",),
    "pci-expander-bus": ("pxb",),
    "pcie-expander-bus": ("pxb-pcie",),
}
PCI_MODEL_NAME: Converter[str] = enumeration(
    "PCI controller model name", sorted({n for names in PCI_MODEL_NAMES.values() for n in names})
)


class _PciModelName(Field[str]):
    """<controller type='pci'><model name>: one of libvirt's names, and one that fits the
    controller's model (libvirt refuses ioh3420 on a pci-bridge)."""

    def validate(self, obj: XmlObject, node: etree._Element | None, value: str) -> None:
        model = obj.element.get("model")
        if model in PCI_MODEL_NAMES and value not in PCI_MODEL_NAMES[model]:
            raise self.invalid(
                obj,
                node,
                value,
                f"PCI controller model name '{value}' is not "
                f"valid for a PCI controller with model '{model}'",
            )


# <disk><driver type>: libvirt's storage formats (storagecommon.rng storageFormat, and
# 'aio', kept for compatibility as raw); the name becomes a QEMU block driver
STORAGE_FORMAT: Converter[str] = enumeration(
    "disk format",
    (
        "raw",
        "dir",
        "bochs",
        "cloop",
        "dmg",
        "iso",
        "vpc",
        "vdi",
        "fat",
        "vhd",
        "ploop",
        "luks",
        "cow",
        "qcow",
        "qcow2",
        "qed",
        "vmdk",
        "aio",
    ),
)


class Address(XmlObject):
    """<address>: where a device sits (pci, drive, ccw, virtio-mmio, …)."""

    type = Field("@type")
    domain = Field("@domain", HEX)
    bus = Field("@bus", INT)
    slot = Field("@slot", HEX)
    function = Field("@function", HEX)
    multifunction = Field("@multifunction", ON_OFF)
    controller = Field("@controller", INT)
    target = Field("@target", INT)
    unit = Field("@unit", INT)
    cssid = Field("@cssid", HEX)
    ssid = Field("@ssid", HEX)
    devno = Field("@devno", HEX)
    zpci_uid = Field("zpci/@uid", HEX)
    zpci_fid = Field("zpci/@fid", HEX)
    # usb: a dotted hub path ('1.2'); virtio-serial and ccid: a number, kept as written
    port = Field("@port")
    iobase = Field("@iobase", HEX)
    irq = Field("@irq", HEX)
    reg = Field("@reg", HEX)
    base = Field("@base", HEX)
    uuid = Field("@uuid")


class VirtioOptions(XmlObject):
    """The virtio options every virtio device's <driver> takes (libvirt's virtioOptions)."""

    iommu = Field("@iommu", ON_OFF)
    ats = Field("@ats", ON_OFF)
    packed = Field("@packed", ON_OFF)
    page_per_vq = Field("@page_per_vq", ON_OFF)


def _find_child(element: etree._Element, tag: str) -> etree._Element | None:
    return next(element.iterchildren(tag), None)


_USER_ALIAS = re.compile(r"ua-[A-Za-z0-9_-]*")


class Device(XmlObject):
    """What every device of <devices> may carry: its place, its alias, its boot order and
    its ACPI index (libvirt's virDomainDeviceInfo).  A device without one of them in its
    schema simply never has that child; reading it gives None."""

    address = Child(Address, "address")
    alias = Field("alias/@name")
    boot_order = Field("boot/@order", INT)
    boot_loadparm = Field("boot/@loadparm")
    acpi_index = Field("acpi/@index", INT)

    @property
    def kind(self) -> str:
        """The element's name: 'disk', 'interface', 'video', …"""
        return str(self.element.tag)

    @property
    def model_name(self) -> str | None:
        """The model libvirt names the device by, wherever its kind writes it: @model
        (disk, controller, rng, memballoon, input, hostdev, filesystem, vsock, …) or
        <model type> (interface, video, shmem)."""
        written: str | None = self.element.get("model")
        if written is None:
            child = _find_child(self.element, "model")
            written = child.get("type") if child is not None else None
        return written

    @Computed
    def user_alias(self) -> str | None:
        """alias/@name when libvirt keeps it as the device's id: "ua-" then ASCII letters,
        digits, '_' and '-' (checked with libvirt 9.0: any other alias, e.g. 'ua-a,b',
        is dropped without a word and the device gets an alias of its own)."""
        alias = self.alias
        return alias if alias is not None and _USER_ALIAS.fullmatch(alias) else None


class ControllerDriver(VirtioOptions):
    """<controller><driver>: virtio-scsi tuning."""

    queues = Field("@queues", COUNT)
    cmd_per_lun = Field("@cmd_per_lun", COUNT)
    max_sectors = Field("@max_sectors", COUNT)
    ioeventfd = Field("@ioeventfd", ON_OFF)
    iothread = Field("@iothread", COUNT)


class Controller(Device):
    """<controller type index model>."""

    type = Field("@type")
    index = Field("@index", INT)
    model = Field("@model")
    ports = Field("@ports", INT)
    vectors = Field("@vectors", INT)
    driver = Child(ControllerDriver, "driver")
    # a PCI controller's QEMU device and its <target> options
    model_name = _PciModelName("model/@name", PCI_MODEL_NAME)
    chassis = Field("target/@chassis", INT)
    chassis_nr = Field("target/@chassisNr", INT)
    port = Field("target/@port", INT)
    hotplug = Field("target/@hotplug", ON_OFF)
    bus_nr = Field("target/@busNr", INT)
    target_index = Field("target/@index", INT)
    numa_node = Field("target/node", INT)
    pcihole64 = Field("pcihole64", INT)
    pcihole64_unit = Field("pcihole64/@unit")
    # a USB companion controller's (ich9-uhci*) master and first port on it
    master_startport = Field("master/@startport", INT)


class DiskDriver(VirtioOptions):
    """<disk><driver>: backend and frontend tuning."""

    name = Field("@name")
    type = Field("@type", STORAGE_FORMAT)
    cache = Field("@cache")
    io = Field("@io")
    discard = Field("@discard")
    detect_zeroes = Field("@detect_zeroes")
    error_policy = Field("@error_policy")
    rerror_policy = Field("@rerror_policy")
    copy_on_read = Field("@copy_on_read", ON_OFF)
    iothread = Field("@iothread", INT)
    queues = Field("@queues", COUNT)
    queue_size = Field("@queue_size", COUNT)
    ioeventfd = Field("@ioeventfd", ON_OFF)
    event_idx = Field("@event_idx", ON_OFF)


class SourceHost(XmlObject):
    """<source><host name port transport socket>."""

    name = Field("@name")
    port = Field("@port")
    transport = Field("@transport")
    socket = Field("@socket")


class DiskSource(XmlObject):
    """<disk><source>: file, block device, directory, network, pool volume, NVMe, vhost-user."""

    type = Field("@type")
    path = Field("@path")
    namespace = Field("@namespace", INT)
    managed = Field("@managed", YES_NO)
    file = Field("@file")
    dev = Field("@dev")
    dir = Field("@dir")
    protocol = Field("@protocol")
    name = Field("@name")
    pool = Field("@pool")
    volume = Field("@volume")
    mode = Field("@mode")
    startup_policy = Field("@startupPolicy")
    hosts = Children(SourceHost, "host")
    # <reservations managed>: SCSI persistent reservations through qemu-pr-helper
    reservations_managed = Field("reservations/@managed", YES_NO)
    reservations_path = Field("reservations/source/@path")


class BackingStore(XmlObject):
    """<backingStore type index>: one layer below a disk's image, with its <format> and
    <source>; one without @type (``<backingStore/>``) ends the chain: the layer above has
    no backing image (virDomainDiskBackingStoreParse)."""

    type = Field("@type")
    index = Field("@index", INT)
    format = Field("format/@type")
    source = Child(DiskSource, "source")

    @property
    def backing(self) -> BackingStore | None:
        """The next layer down (its own <backingStore>), None when not written."""
        node = _find_child(self.element, "backingStore")
        return BackingStore(node) if node is not None else None


class DiskTarget(XmlObject):
    """<disk><target dev bus tray removable rotation_rate>."""

    dev = Field("@dev")
    bus = Field("@bus")
    tray = Field("@tray")
    removable = Field("@removable", ON_OFF)
    rotation_rate = Field("@rotation_rate", INT)


class BlockIO(XmlObject):
    logical_block_size = Field("@logical_block_size", COUNT)
    physical_block_size = Field("@physical_block_size", COUNT)


class Geometry(XmlObject):
    cyls = Field("@cyls", INT)
    heads = Field("@heads", INT)
    secs = Field("@secs", INT)
    trans = Field("@trans")


class IoTune(XmlObject):
    """<iotune>: each child element is one limit; kept as name → text."""

    @property
    def limits(self) -> dict[str, str]:
        return {
            str(child.tag): element_text(child).strip()
            for child in self.element
            if isinstance(child.tag, str)
        }


class Disk(Device):
    """<disk type device>."""

    type = Field("@type")
    device = Field("@device")
    model = Field("@model")
    snapshot = Field("@snapshot")
    sgio = Field("@sgio")
    driver = Child(DiskDriver, "driver")
    source = Child(DiskSource, "source")
    target = Child(DiskTarget, "target")
    readonly = Flag("readonly")
    shareable = Flag("shareable")
    transient = Flag("transient")
    serial = Field("serial")
    wwn = Field("wwn")
    vendor = Field("vendor")
    product = Field("product")
    blockio = Child(BlockIO, "blockio")
    geometry = Child(Geometry, "geometry")
    iotune = Child(IoTune, "iotune")
    backing_store = Child(BackingStore, "backingStore")

    # target/@bus and target/@dev: the translation and the checks ask for them a dozen
    # times per disk, so they are computed once (like every field, until the next write)
    @Computed
    def bus(self) -> str | None:
        """target/@bus, or when absent the bus libvirt derives (derived_bus); None
        without a <target>.  The XML itself is left as the user wrote it."""
        target = self.target
        return None if target is None else (target.bus or derived_bus(self.device, target.dev))

    @property
    def written_bus(self) -> str | None:
        """target/@bus as written (None when absent): libvirt orders its disk array
        (virDomainDiskInsert) before it derives a missing bus, so bus-less disks sort as
        one group by target index."""
        target = self.target
        return target.bus if target is not None else None

    @Computed
    def dev(self) -> str | None:
        """target/@dev; None without a <target>."""
        target = self.target
        return target.dev if target is not None else None

    @Computed
    def effective_device(self) -> str:
        """libvirt's default device is 'disk'."""
        return self.device or "disk"


# target name prefix → the bus libvirt gives a disk without target/@bus
_BUS_OF_PREFIX = (("hd", "ide"), ("sd", "scsi"), ("vd", "virtio"), ("xvd", "xen"), ("ubd", "uml"))


def derived_bus(device: str | None, dev: str | None) -> str:
    """The bus of a disk whose <target> names none, as virDomainDiskDefPostParse sets it
    when libvirt reads the XML: fdc for a floppy, else by the target name's prefix
    (hd ide, sd scsi, vd virtio, xvd xen, ubd uml), ide otherwise."""
    if device == "floppy":
        return "fdc"
    name = (dev or "").removeprefix("ioemu:")
    return next((bus for prefix, bus in _BUS_OF_PREFIX if name.startswith(prefix)), "ide")


class IOThreadId(XmlObject):
    """<iothreadids><iothread id>."""

    id = Field("@id", INT)


class IOThreadIds(XmlObject):
    """<iothreadids>: the iothreads the domain names."""

    ids = Children(IOThreadId, "iothread")


__all__ = [
    "PCI_MODEL_NAMES",
    "Address",
    "BackingStore",
    "BlockIO",
    "Controller",
    "Device",
    "ControllerDriver",
    "Disk",
    "DiskDriver",
    "DiskSource",
    "DiskTarget",
    "Geometry",
    "derived_bus",
    "IOThreadId",
    "IOThreadIds",
    "IoTune",
    "SourceHost",
    "VirtioOptions",
]
