"""The domain as a whole: identity, OS/machine, CPUs, iothreads and storage devices."""

from __future__ import annotations

from lxml import etree

from ..xmlinput import XmlDocument
from .chardevs import Channel, Console, Parallel, Redirdev, RedirFilterRule, Serial, Smartcard
from .devices import Address, Controller, Device, Disk, IOThreadId, IOThreadIds
from .display import Audio, Graphics, Input, Sound, Video
from .fields import INT, ON_OFF, STR_OR_NONE, Child, Children, Field, Flag, XmlObject, _keep, view
from .hostdevs import Hostdev, Hub
from .network import Interface
from .platform import (
    Filesystem,
    Iommu,
    Memballoon,
    MemoryDevice,
    Panic,
    Rng,
    Shmem,
    Tpm,
    Vsock,
    Watchdog,
)
from .system import (
    Clock,
    Cpu,
    Features,
    HugePage,
    LaunchSecurity,
    NumaTune,
    Os,
    Pm,
    Sysinfo,
)

# element name under <devices> → its model class (libvirt's virDomainDeviceType)
DEVICE_CLASSES: dict[str, type[Device]] = {
    "disk": Disk,
    "controller": Controller,
    "filesystem": Filesystem,
    "interface": Interface,
    "smartcard": Smartcard,
    "serial": Serial,
    "parallel": Parallel,
    "console": Console,
    "channel": Channel,
    "input": Input,
    "tpm": Tpm,
    "graphics": Graphics,
    "sound": Sound,
    "audio": Audio,
    "video": Video,
    "hostdev": Hostdev,
    "redirdev": Redirdev,
    "hub": Hub,
    "watchdog": Watchdog,
    "memballoon": Memballoon,
    "rng": Rng,
    "panic": Panic,
    "shmem": Shmem,
    "memory": MemoryDevice,
    "iommu": Iommu,
    "vsock": Vsock,
}
# the key of Domain.devices among the domain's cached reads
_DEVICES = "@devices"

# Units libvirt accepts for <memory unit=…>, in bytes (virScaleInteger).
_MEMORY_UNITS = {
    "b": 1,
    "bytes": 1,
    "kb": 1000,
    "k": 1024,
    "kib": 1024,
    "mb": 1000**2,
    "m": 1024**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "g": 1024**3,
    "gib": 1024**3,
    "tb": 1000**4,
    "t": 1024**4,
    "tib": 1024**4,
}


class Domain(XmlObject):
    """<domain type>: the fields storage translation needs; everything else stays in the tree."""

    type = Field("@type")
    name = Field("name")
    uuid = Field("uuid")
    # <genid>: the VM generation ID; an empty one asks libvirt to make it up
    genid = Field("genid")
    has_genid = Flag("genid")
    title = Field("title")
    description = Field("description")
    # sizes as written: the number and its unit (KiB when the unit is absent)
    memory = Field("memory", INT)
    memory_unit = Field("memory/@unit", STR_OR_NONE)
    current_memory = Field("currentMemory", INT)
    current_memory_unit = Field("currentMemory/@unit", STR_OR_NONE)
    max_memory = Field("maxMemory", INT)
    max_memory_unit = Field("maxMemory/@unit", STR_OR_NONE)
    max_memory_slots = Field("maxMemory/@slots", INT)
    vcpu = Field("vcpu", INT)
    vcpu_placement = Field("vcpu/@placement")
    vcpu_cpuset = Field("vcpu/@cpuset")
    vcpu_current = Field("vcpu/@current", INT)
    os_type = Field("os/type")
    arch = Field("os/type/@arch")
    machine = Field("os/type/@machine", STR_OR_NONE)
    iothreads = Field("iothreads", INT)
    iothread_ids = Children(IOThreadId, "iothreadids/iothread")
    iothreadids = Child(IOThreadIds, "iothreadids")
    on_poweroff = Field("on_poweroff")
    on_reboot = Field("on_reboot")
    on_crash = Field("on_crash")
    on_lockfailure = Field("on_lockfailure")
    os = Child(Os, "os")
    features = Child(Features, "features")
    cpu = Child(Cpu, "cpu")
    clock = Child(Clock, "clock")
    pm = Child(Pm, "pm")
    launch_security = Child(LaunchSecurity, "launchSecurity")
    emulator = Field("devices/emulator")
    # each device kind in document order
    controllers = Children(Controller, "devices/controller")
    disks = Children(Disk, "devices/disk")
    filesystems = Children(Filesystem, "devices/filesystem")
    interfaces = Children(Interface, "devices/interface")
    smartcards = Children(Smartcard, "devices/smartcard")
    serials = Children(Serial, "devices/serial")
    parallels = Children(Parallel, "devices/parallel")
    consoles = Children(Console, "devices/console")
    channels = Children(Channel, "devices/channel")
    inputs = Children(Input, "devices/input")
    tpms = Children(Tpm, "devices/tpm")
    graphics = Children(Graphics, "devices/graphics")
    sounds = Children(Sound, "devices/sound")
    audios = Children(Audio, "devices/audio")
    videos = Children(Video, "devices/video")
    hostdevs = Children(Hostdev, "devices/hostdev")
    redirdevs = Children(Redirdev, "devices/redirdev")
    hubs = Children(Hub, "devices/hub")
    watchdogs = Children(Watchdog, "devices/watchdog")
    memballoons = Children(Memballoon, "devices/memballoon")
    rngs = Children(Rng, "devices/rng")
    panics = Children(Panic, "devices/panic")
    shmems = Children(Shmem, "devices/shmem")
    memory_devices = Children(MemoryDevice, "devices/memory")
    iommus = Children(Iommu, "devices/iommu")
    vsocks = Children(Vsock, "devices/vsock")
    redirfilter_rules = Children(RedirFilterRule, "devices/redirfilter/usbdev")
    memory_dump_core = Field("memory/@dumpCore", ON_OFF)
    nosharepages = Flag("memoryBacking/nosharepages")
    memory_locked = Flag("memoryBacking/locked")
    # <memoryBacking><source type><access mode><allocation mode threads>: what backs RAM
    hugepages = Flag("memoryBacking/hugepages")
    hugepage_pages = Children(HugePage, "memoryBacking/hugepages/page")
    numatune = Child(NumaTune, "numatune")
    memory_source = Field("memoryBacking/source/@type")
    memory_access = Field("memoryBacking/access/@mode")
    memory_allocation = Field("memoryBacking/allocation/@mode")
    memory_allocation_threads = Field("memoryBacking/allocation/@threads", INT)
    sysinfos = Children(Sysinfo, "sysinfo")

    __slots__ = ("document",)  # (the instance dict holds the reads)

    def __init__(self, element: etree._Element, document: XmlDocument | None = None):
        super().__init__(element)
        self.document = document

    @property
    def source(self) -> str:
        return self.document.source if self.document is not None else "<input>"

    @property
    def boot_devs(self) -> list[str]:
        """<os><boot dev=…/> in order."""
        os = self.os
        return os.boot_devs if os is not None else []

    @property
    def devices(self) -> list[Device]:
        """Every element of <devices> (but <emulator>) in document order, each through
        its kind's class (an element libvirt 9.0 does not know: a plain Device)."""
        found: list[Device] | None = self.__dict__.get(_DEVICES)
        if found is None:
            container = self.element.find("devices")
            found = _keep(
                self,
                _DEVICES,
                [
                    view(self, node, DEVICE_CLASSES.get(str(node.tag), Device))
                    for node in (container if container is not None else ())
                    if isinstance(node.tag, str) and node.tag != "emulator"
                ],
            )
        return list(found)

    def addressed(self, type_: str) -> list[tuple[Device, Address]]:
        """The devices whose own <address> has type TYPE_ ('pci', 'ccw', 'usb', 'drive',
        …), each with that address, in document order."""
        return list(self.derived(Domain.addressed, self._addressed).get(type_, ()))

    def _addressed(self) -> dict[str | None, list[tuple[Device, Address]]]:
        """Every device with its own <address>, by the address's type (placement asks
        for several types, each several times per domain)."""
        found: dict[str | None, list[tuple[Device, Address]]] = {}
        for device in self.devices:
            address = device.address
            if address is not None:
                found.setdefault(address.type, []).append((device, address))
        return found

    @property
    def memballoon(self) -> Memballoon | None:
        """The <memballoon> (libvirt keeps one; the first when several are written)."""
        balloons = self.memballoons
        return balloons[0] if balloons else None

    @property
    def memory_mib(self) -> int | None:
        """Memory as QEMU's -m takes it (MiB, rounded down like libvirt's KiB / 1024)."""
        amount = self.memory
        if amount is None:
            return None
        scale = _MEMORY_UNITS.get((self.memory_unit or "KiB").lower())
        if scale is None:
            return None
        return amount * scale // 1024**2

    def iothread_id_set(self) -> set[int] | range:
        """The iothread ids the domain defines: <iothreadids> or 1..<iothreads> (a range,
        so that a huge count costs nothing to ask about)."""
        ids = {entry.id for entry in self.iothread_ids if entry.id is not None}
        if not ids and self.iothreads:
            return range(1, self.iothreads + 1)
        return ids

    def controller(self, type_: str, index: int) -> Controller | None:
        for controller in self.controllers:
            if controller.type == type_ and (controller.index or 0) == index:
                return controller
        return None

    def user_xpath(self, xpath: str) -> str:
        """An XPath in the analysed tree as an XPath in the user's document.

        A fragment is analysed inside a synthetic <domain><devices>; its paths are given
        back relative to the fragment the user wrote (/devices/disk[2], /disk/target).
        """
        kind = self.document.kind if self.document is not None else "domain"
        if kind == "domain" or not xpath.startswith("/domain/devices"):
            return xpath
        rest = xpath[len("/domain/devices") :]
        if kind == "devices":
            return "/devices" + rest
        # a single <controller> or <disk>: the synthetic tree holds exactly that element
        head, _, tail = rest.lstrip("/").partition("/")
        return "/" + head.split("[", 1)[0] + (f"/{tail}" if tail else "")

    def to_xml(self) -> str:
        if self.document is not None:
            return self.document.to_xml()
        return str(etree.tostring(self.element, encoding="unicode"))


def to_kib(amount: int | None, unit: str | None) -> float | None:
    """AMOUNT in UNIT (libvirt's memory units, KiB when absent) as KiB; None when either
    is missing or the unit is unknown."""
    scale = _MEMORY_UNITS.get((unit or "KiB").lower())
    if amount is None or scale is None:
        return None
    return amount * scale / 1024


def domain_from_document(document: XmlDocument) -> Domain:
    """The domain of a document; a fragment is placed in an otherwise empty domain.

    A fragment is analysed inside a copy so that the user's own tree stays as it was
    (libvirt itself only accepts fragments through device hot-plug, where the domain
    around them is the running one; here it is empty and the release's defaults apply).
    """
    root = document.root
    if document.kind == "domain":
        return Domain(root, document)
    domain = etree.Element("domain", type="qemu")
    devices = etree.SubElement(domain, "devices")
    if document.kind == "devices":
        for child in root:
            devices.append(_copy(child))
    else:
        devices.append(_copy(root))
    return Domain(domain, document)


def _copy(element: etree._Element) -> etree._Element:
    # lxml's deepcopy keeps each node's source line, so findings still point at the user's file.
    from copy import deepcopy

    return deepcopy(element)
