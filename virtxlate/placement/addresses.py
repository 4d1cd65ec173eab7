"""Addresses as libvirt assigns them: drive addresses from target names, PCI slots on pci.0."""

from __future__ import annotations

import bisect
import functools
from typing import NamedTuple

from ..caps.tables import MachineFamily
from ..errors import InvalidValue
from ..model import Controller, Disk, Domain
from ..model.devices import Address, Device
from ..model.display import Sound, Video
from ..model.fields import INT, XmlObject
from ..names import transitional

# virDomainDiskDefAssignAddress (src/conf/domain_conf.c): how many units a controller
# takes per bus, for the default mapping from a target name (sdb, hdc, …) to an address.
_DRIVE_LAYOUT = {
    # bus: (disks per controller, buses per controller, units per bus)
    "scsi": (7, 1, 7),  # QEMU's SCSI is "narrow" for libvirt: 7 units, target 0
    "ide": (4, 2, 2),
    "sata": (6, 1, 6),
    "fdc": (2, 1, 2),
}
_TARGET_PREFIXES = ("sd", "hd", "vd", "xvd", "ubd", "fd", "nvme")
_LONGEST_FIRST = sorted(_TARGET_PREFIXES, key=len, reverse=True)


class DriveAddress(NamedTuple):
    controller: int
    bus: int
    target: int
    unit: int


def disk_name(prefix: str, index: int) -> str:
    """virIndexToDiskName: ('sd', 0) → 'sda', ('sd', 26) → 'sdaa'."""
    letters = ""
    index += 1
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return prefix + letters


def disk_index(dev: str | None) -> int | None:
    """virDiskNameToIndex: 'sda' → 0, 'sdz' → 25, 'sdaa' → 26, 'hdc' → 2; None if not a name."""
    if not dev:
        return None
    return _disk_index(dev)


# placement, the props and the checks ask for each disk's index a dozen times
@functools.lru_cache(maxsize=4096)
def _disk_index(dev: str) -> int | None:
    prefix = next((p for p in _LONGEST_FIRST if dev.startswith(p)), None)
    if prefix is None:
        return None
    letters = dev[len(prefix) :]
    if not letters or not letters.isalpha() or not letters.islower():
        return None
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - ord("a") + 1)
    return index - 1


def drive_address(disk: Disk) -> DriveAddress | None:
    """The disk's drive address: the one written in the XML, else libvirt's default mapping
    (kept with the disk's reads: placement, props and checks ask for it many times)."""
    return disk.derived(drive_address, _drive_address, disk)


def _drive_address(disk: Disk) -> DriveAddress | None:
    address = disk.address
    if address is not None and address.type == "drive":
        return DriveAddress(
            address.controller or 0, address.bus or 0, address.target or 0, address.unit or 0
        )
    layout = _DRIVE_LAYOUT.get(disk.bus or "")
    index = disk_index(disk.dev)
    if layout is None or index is None:
        return None
    per_controller, _, per_bus = layout
    bus = (index % per_controller) // per_bus
    return DriveAddress(index // per_controller, bus, 0, index % per_bus)


def address_number(text: str | None) -> int | None:
    """A number of an <address> as libvirt reads it (decimal or 0x-prefixed hexadecimal,
    as the model's fields: virStrToLong_uip); None when absent or no number."""
    if text is None:
        return None
    try:
        return INT.parse(text)
    except ValueError:
        return None


def pci_address_text(slot: int, function: int = 0) -> str:
    """libvirt writes addr=0x3, or addr=0x4.0x1 for a non-zero function."""
    return f"{slot:#x}" if function == 0 else f"{slot:#x}.{function:#x}"


# Models of non-storage devices that libvirt places on PCI, for the slots they take
# before virtio disks (qemuDomainAssignDevicePCISlots: controllers, filesystems,
# interfaces, sound cards, secondary video cards, then disks).
_PCI_USB_MODELS = {
    "piix3-uhci",
    "piix4-uhci",
    "ehci",
    "vt82c686b-uhci",
    "pci-ohci",
    "nec-xhci",
    "qemu-xhci",
}
_PCI_SOUND_MODELS = {"ich6", "ich7", "ich9", "ac97", "es1370"}
_NON_PCI_INTERFACE_TYPES = {"hostdev"}
_NON_PCI_INTERFACE_MODELS = {"spapr-vlan", "usb-net", "smc91c111", "lan9118"}


def sorted_by_type_and_index(elements: list, type_of, index_of) -> list:  # type: ignore[no-untyped-def]
    """libvirt's *InsertPreAlloced order: grouped by type in order of first appearance,
    sorted by index within a type (used for disks and for controllers).  An element
    without an index (None: a controller without one) goes after the last of its type
    and counts as index -1 for those that come later."""
    # libvirt scans its whole array for each element it inserts (quadratic); an element
    # only ever goes into the run of its own type, before the first of that run with a
    # greater index (else at its end), so each type's run is kept apart: a bisection
    # while the run is in order, libvirt's scan within the run once it is not
    runs: dict = {}
    for element in elements:
        kind, index = type_of(element), index_of(element)
        keys, members, in_order = runs.setdefault(kind, ([], [], [True]))
        if index is None:
            if keys and keys[-1] > -1:
                in_order[0] = False
            keys.append(-1)
            members.append(element)
            continue
        if in_order[0]:
            at = bisect.bisect_right(keys, index)
        else:
            at = next((i for i, key in enumerate(keys) if key > index), len(keys))
        keys.insert(at, index)
        members.insert(at, element)
    return [element for _, members, _ in runs.values() for element in members]


def disks_in_order(domain: Domain) -> list[Disk]:
    """Disks in the order libvirt keeps them (virDomainDiskInsertPreAlloced at parse time):
    grouped by bus in order of first appearance, sorted by target name within a bus.
    The bus is the written one: libvirt derives a missing bus after it has ordered the
    array, so the disks without one are a group of their own (checked with libvirt 9.0).
    Kept with the domain's reads: placement and the disks' options both walk it."""
    return list(domain.derived(disks_in_order, _disks_in_order, domain))


def _disks_in_order(domain: Domain) -> list[Disk]:
    return sorted_by_type_and_index(
        domain.disks, lambda d: d.written_bus, lambda d: disk_index(d.dev) or 0
    )


# USB2 controllers that share an index as one companion set (IS_USB2_CONTROLLER)
_USB2_MODELS = ("ich9-ehci1", "ich9-uhci1", "ich9-uhci2", "ich9-uhci3")


def controller_indexes(domain: Domain) -> list[tuple[Controller, int]]:
    """The domain's controllers in libvirt's array order, each with its index: one
    without an index takes the lowest its type has free, in array order; a USB2 one
    right after another USB2 controller joins its companion set unless that set has
    its model already (virDomainAssignControllerIndexes)."""
    # kept with the domain's reads: placement, props and checks each ask for it
    return list(domain.derived(controller_indexes, _controller_indexes, domain))


def _controller_indexes(domain: Domain) -> list[tuple[Controller, int]]:
    ordered: list[Controller] = sorted_by_type_and_index(
        domain.controllers, lambda c: c.type, lambda c: c.index
    )
    indexes: list[int | None] = [c.index for c in ordered]
    for position, controller in enumerate(ordered):
        if indexes[position] is not None:
            continue
        same = None
        if controller.type == "usb" and controller.model in _USB2_MODELS:
            previous = next(
                (i for i in range(position - 1, -1, -1) if ordered[i].type == "usb"), None
            )
            if (
                previous is not None
                and ordered[previous].model in _USB2_MODELS
                and not any(
                    c.type == "usb"
                    and indexes[i] == indexes[previous]
                    and c.model == controller.model
                    for i, c in enumerate(ordered)
                )
            ):
                same = indexes[previous]
        if same is None:
            used = {indexes[i] for i, c in enumerate(ordered) if c.type == controller.type}
            same = next(i for i in range(len(ordered) + 1) if i not in used)
        indexes[position] = same
    return [
        (c, index if index is not None else 0) for c, index in zip(ordered, indexes, strict=True)
    ]


def number_of(obj: XmlObject, field: str) -> int | None:
    """A numeric FIELD of OBJ (an address's slot, a controller's index); None when
    absent or no number (the model's own finding says so)."""
    try:
        value: int | None = getattr(obj, field)
    except InvalidValue:
        return None
    return value


def _has_pci_address(device: Device) -> bool:
    """True when the device already has its place: a PCI slot, or another address type."""
    address = device.address
    return address is not None and (address.type != "pci" or number_of(address, "slot") is not None)


def addressed(domain: Domain, type_: str) -> list[tuple[Device, Address]]:
    """domain.addressed(TYPE_): the devices whose own <address> has that type, with it,
    in document order; kept with the domain's reads (the placement and the checks walk
    the written PCI addresses half a dozen times a check)."""
    return list(domain.derived((addressed, type_), domain.addressed, type_))


class WrittenPci(NamedTuple):
    """A device's written <address type='pci'>, its parts as numbers (slot None when
    the address names no slot)."""

    device: Device
    address: Address
    bus: int
    slot: int | None
    function: int


def written_pci(domain: Domain) -> list[WrittenPci]:
    """Every written PCI address of the domain's devices, in document order; one with a
    part that is no number is left out (the model's own finding says so).  Kept with the
    domain's reads: each pass of the placement asks for them several times."""
    return list(domain.derived(written_pci, _written_pci, domain))


def _written_pci(domain: Domain) -> list[WrittenPci]:
    found = []
    for device, address in addressed(domain, "pci"):
        try:
            bus, slot, function = address.bus or 0, address.slot, address.function or 0
        except InvalidValue:
            continue
        found.append(WrittenPci(device, address, bus, slot, function))
    return found


def written_root_slots(domain: Domain) -> frozenset[int]:
    """The root-bus slots the devices' written PCI addresses name (kept with the domain's
    reads: the placement asks three times a pass)."""
    return domain.derived(written_root_slots, _written_root_slots, domain)


def _written_root_slots(domain: Domain) -> frozenset[int]:
    slots = set()
    for _, address in addressed(domain, "pci"):
        # numbers, not their spelling: slot='0x001b' is slot 0x1b (issue 16)
        slot = number_of(address, "slot")
        if slot is not None and number_of(address, "bus") in (0, None):
            slots.add(slot)
    return frozenset(slots)


# q35: libvirt puts the first ich9 sound card at 00:1b.0, where the ICH9's own HD audio
# sits (qemuDomainValidateDevicePCISlotsQ35); it takes no root port (checked with 9.0)
Q35_SOUND_SLOT = 0x1B


def q35_sound(domain: Domain, family: MachineFamily | None) -> Sound | None:
    """The sound card libvirt places at 00:1b.0 of a q35 machine, if there is one."""
    if family is None or family.name != "q35":
        return None
    sounds = [sound for sound in domain.sounds if sound.model == "ich9"]
    if not sounds or Q35_SOUND_SLOT in written_root_slots(domain):
        return None  # none, or the slot is taken: the card is placed like any other
    return next((sound for sound in sounds if sound.address is None), None)


def non_storage_pci_devices(
    domain: Domain, family: MachineFamily | None = None
) -> dict[str, list[Device]]:
    """Non-storage devices that libvirt gives a root-bus slot, by phase: 'controller' (in
    the controller array), then 'other' (fs, net, sound) before the virtio disks.  Devices
    with an address of their own are not listed, nor the ich9 sound card of a q35 machine
    (at its fixed slot)."""
    q35 = family is not None and family.name == "q35"
    controllers: list[Device] = []
    for controller in domain.controllers:
        kind, model = controller.type, controller.model
        if kind == "usb" and model is None:
            model = "piix3-uhci"  # libvirt's model of a USB controller that names none
        if _has_pci_address(controller):
            continue
        # (the PIIX3's own UHCI at 00:01.2 is pc's first piix3-uhci; on q35 it is a
        # conventional PCI device like the others)
        builtin_uhci = (
            model == "piix3-uhci" and (number_of(controller, "index") or 0) == 0
        ) and not q35
        if kind == "virtio-serial" or (
            kind == "usb" and model in _PCI_USB_MODELS and not builtin_uhci
        ):
            controllers.append(controller)
        elif kind == "usb" and model == "ich9-ehci1" and not q35:
            # the ich9 EHCI and its UHCI companions share one multi-function slot, taken
            # where the master stands in the controller array (it sorts before its
            # companions); q35 has their slot 00:1d reserved (qemuDomainPCIAddressSetCreate)
            controllers.append(controller)
    other: list[Device] = [
        fs
        for fs in domain.filesystems
        if not _has_pci_address(fs) and (fs.driver is None or fs.driver.type != "mtp")
    ]
    for interface in domain.interfaces:
        if (
            interface.type in _NON_PCI_INTERFACE_TYPES
            or _has_pci_address(interface)
            or (interface.model_name or "") in _NON_PCI_INTERFACE_MODELS
        ):
            continue
        other.append(interface)
    fixed = q35_sound(domain, family)
    fixed_element = fixed.element if fixed is not None else None
    for sound in domain.sounds:
        if (
            sound.model in _PCI_SOUND_MODELS
            and not _has_pci_address(sound)
            and sound.element is not fixed_element
        ):
            other.append(sound)
    return {"controller": controllers, "other": other}


def primary_video(domain: Domain) -> Video | None:
    """The primary card: primary='yes', else the first (libvirt moves it first)."""
    videos = domain.videos
    return next(
        (video for video in videos if video.model is not None and video.model.primary),
        videos[0] if videos else None,
    )


def trailing_pci_devices(domain: Domain) -> list[Device]:
    """The non-storage devices libvirt places after the disks, host devices and balloon,
    in its order (qemuDomainAssignDevicePCISlots, libvirt 9.0): random number
    generators, i6300esb watchdogs, secondary video cards, shared memory, virtio input
    devices, PCI serial ports, a virtio IOMMU and vsock.  Those with an address of their
    own are not listed."""
    primary = primary_video(domain)
    primary_element = primary.element if primary is not None else None
    found: list[Device] = list(domain.rngs)
    found += [w for w in domain.watchdogs if w.model == "i6300esb"]
    found += [
        v
        for v in domain.videos
        if v.element is not primary_element and v.model_name not in ("none", "ramfb")
    ]
    found += domain.shmems
    found += [i for i in domain.inputs if i.bus == "virtio"]
    found += [s for s in domain.serials if s.target_type == "pci-serial"]
    found += [i for i in domain.iommus if i.model == "virtio"]
    found += domain.vsocks
    return [device for device in found if not _has_pci_address(device)]


def non_storage_device(device: Device, pci_express_machine: bool) -> str:
    """The QEMU device libvirt would create for a non-storage device, as far as its PCI
    connection goes (virtio ones are PCI Express on q35, most others conventional PCI)."""
    tag = device.kind
    # model='virtio-transitional' (or a <model type> of that name) picks the transitional
    # device, which libvirt plugs as conventional PCI
    # (a controller's model_name is a PCI controller's <model name>; its model is @model)
    model_name = device.model if isinstance(device, Controller) else device.model_name
    suffix = transitional.model_suffix(model_name)
    if isinstance(device, Controller):
        if device.type == "virtio-serial":
            return "virtio-serial-pci" + suffix
        model = device.model
        return {"qemu-xhci": "qemu-xhci", "nec-xhci": "nec-usb-xhci"}.get(
            model or "", f"usb-{model}"
        )
    if tag == "interface":
        # (e1000e is PCI Express for libvirt, like the virtio models; the rest are not)
        model = device.model_name or "e1000"
        return "virtio-net-pci" + suffix if model.startswith("virtio") else model
    if tag == "filesystem":
        return "virtio-9p-pci" + suffix
    if tag == "video":
        model = device.model_name
        return "virtio-gpu-pci" if model == "virtio" else model or "vga"
    if tag == "memballoon":
        return "virtio-balloon-pci" + suffix
    # the devices placed after the disks: virtio ones (PCI Express unless transitional)
    # and the conventional i6300esb, ivshmem and pci-serial
    virtio = {
        "rng": "virtio-rng-pci",
        "input": "virtio-input-pci",
        "iommu": "virtio-iommu-pci",
        "vsock": "vhost-vsock-pci",
    }
    if tag in virtio:
        return virtio[tag] + suffix
    return {"watchdog": "i6300esb", "shmem": "ivshmem-plain", "serial": "pci-serial"}.get(tag, tag)


_DEVICE_SLOTS = frozenset(range(1, 32))  # a root bus's slots for devices


class PciSlots:
    """Slots of the root PCI bus: reserved by the machine and libvirt, written, or free."""

    def __init__(self, family: MachineFamily, domain: Domain, video_primary: bool = True):
        """VIDEO_PRIMARY: QEMU has libvirt's device-video-primary capability; without it
        libvirt keeps the video slot even when the domain has no video card."""
        self.used: set[int] = set(family.reserved_pci_slots)
        primary = primary_video(domain)
        pci_video = (
            primary.model_name not in ("none", "ramfb")
            if primary is not None
            else bool(domain.graphics)
        )
        if family.video_slot is not None and (pci_video or not video_primary):
            # the primary video card (libvirt adds one for <graphics>) takes its own slot;
            # a card that is no PCI device (none, ramfb) keeps none, as
            # qemuDomainValidateDevicePCISlotsPIIX3/Q35
            self.used.add(family.video_slot)
        if q35_sound(domain, family) is not None:
            self.used.add(Q35_SOUND_SLOT)
        # Every explicit <address type='pci' bus='0'> of any device holds its slot.
        self.used |= written_root_slots(domain)
        self.free_at_start = len(_DEVICE_SLOTS - self.used)
        self.requested = 0  # slots asked for, whether there was one or not

    def take(self) -> int | None:
        self.requested += 1
        for slot in range(1, 32):
            if slot not in self.used:
                self.used.add(slot)
                return slot
        return None
