"""Values QEMU fills in while it realizes a device, which `info qtree` then prints instead
of the property's default: the SCSI address of a device given without scsi-id or lun
(scsi_qdev_realize), the IDE unit of one given without unit (ide_dev_initfn), and a virtio
PCI proxy's disable-legacy=auto (virtio_pci_realize).  Checked with QEMU 7.2's qtree."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping

from ..caps.tables import DeviceType
from ..caps.tables import Prop as PropSpec
from .nodes import Bus, Device, Prop, PropValue

# Virtio devices QEMU still lets a PCI proxy offer the legacy interface for (QEMU's
# virtio_legacy_allowed: the device ids of net, block, console, rng, balloon, scsi, 9p,
# rproc-serial, caif); a proxy of any other (gpu, input, iommu, mem, crypto, vsock …) is
# modern only and shows disable-legacy "on" wherever it sits, as QEMU 7.2's qtree shows
# for virtio-vga, virtio-tablet-pci, virtio-mem-pci, virtio-crypto-pci on pc's pci.0.
_LEGACY_ALLOWED = {
    "virtio-net-device",
    "virtio-blk-device",
    "vhost-user-blk",
    "virtio-serial-device",
    "virtio-rng-device",
    "virtio-balloon-device",
    "virtio-scsi-device",
    "vhost-scsi",
    "vhost-user-scsi",
    "virtio-9p-device",
}

# QEMU's own limits when a table names none (SCSIBusInfo of virtio-scsi: the largest)
_ANY_TARGET, _ANY_LUN = 255, 16383


class BusLimits:
    """A SCSI bus's largest target and LUN (None: QEMU's own limits)."""

    __slots__ = ("max_target", "max_lun")

    def __init__(self, max_target: int | None = None, max_lun: int | None = None) -> None:
        self.max_target = max_target
        self.max_lun = max_lun


# (in TypeInfo.shown: a property without a default; one whose default does not convert)
NO_DEFAULT: object = object()
UNCONVERTED: object = object()


class TypeInfo:
    """What the graph asks of one device type for every device of it, worked out once:
    its properties by name (the first of a name, as DeviceType.prop finds it), their
    places in the type's list, and the ones qtree shows with their defaults converted."""

    __slots__ = (
        "dtype",
        "by_name",
        "order",
        "shown",
        "shown_types",
        "unique",
        "positions",
        "defaults",
        "convertible",
        "masked",
    )

    def __init__(self, dtype: DeviceType):
        self.dtype = dtype
        self.by_name: dict[str, PropSpec] = {}
        self.order: dict[str, int] = {}
        for index, spec in enumerate(dtype.props):
            self.by_name.setdefault(spec.name, spec)
            self.order.setdefault(spec.name, index)
        self.unique = len(self.order) == len(dtype.props)  # no name twice
        # (name, type, the default as qtree shows it or NO_DEFAULT, the default as the
        # table gives it): a default that does not convert is UNCONVERTED, converted
        # again (and failing) where it is used, as before
        self.shown: list[tuple[str, str, Prop | object, str | None]] = []
        self.shown_types: dict[str, str] = {}  # (the last of a name, as before)
        for spec in dtype.props:
            if spec.in_qtree:
                self.shown_types[spec.name] = spec.type
                default: Prop | object = NO_DEFAULT
                if spec.default is not None:
                    try:
                        default = Prop(spec.name, spec.type, convert(spec.type, spec.default))
                    except ValueError:
                        default = UNCONVERTED
                self.shown.append((spec.name, spec.type, default, spec.default))
        # where each name is among the shown, their defaults (None: none), and whether
        # every default converted
        self.positions: dict[str, list[int]] = {}
        for at, (name, *_) in enumerate(self.shown):
            self.positions.setdefault(name, []).append(at)
        self.defaults: list[Prop | None] = [
            entry[2] if isinstance(entry[2], Prop) else None for entry in self.shown
        ]
        self.convertible = all(entry[2] is not UNCONVERTED for entry in self.shown)
        # the defaults without the names an embedded type takes (template())
        self.masked: dict[int, tuple[TypeInfo, list[Prop | None]]] = {}

    def template(self, inner: TypeInfo | None) -> list[Prop | None]:
        """The defaults, aligned with shown, without INNER's names (a proxy's options for
        the device it embeds belong to that device)."""
        if inner is None:
            return self.defaults
        kept = self.masked.get(id(inner))
        if kept is None or kept[0] is not inner:
            row = [
                None if entry[0] in inner.order else default
                for entry, default in zip(self.shown, self.defaults, strict=True)
            ]
            kept = self.masked[id(inner)] = (inner, row)
        return kept[1]


_TYPE_INFO: dict[int, TypeInfo] = {}


def type_info(dtype: DeviceType) -> TypeInfo:
    """DTYPE's TypeInfo, made on its first device (kept by the type's identity: a
    DeviceType is a tuple of tuples, slow to hash)."""
    info = _TYPE_INFO.get(id(dtype))
    if info is None or info.dtype is not dtype:
        if len(_TYPE_INFO) > 4096:  # tables made and dropped (tests): bounded
            _TYPE_INFO.clear()
        info = _TYPE_INFO[id(dtype)] = TypeInfo(dtype)
    return info


def realize(
    device: Device,
    dtype: DeviceType,
    bus: Bus,
    given: Mapping[str, object],
    limits: BusLimits | None,
    root_bus: Bus,
    embeds: str | None = None,
    accel: str = "tcg",
    scsi_taken: TakenAddresses | None = None,
) -> str | None:
    """Set DEVICE's realized properties in place (DEVICE not yet on BUS; the devices
    already there were realized before it; EMBEDS: the virtio device a proxy embeds).
    ACCEL: the accelerator, tcg or kvm; SCSI_TAKEN: the SCSI addresses already taken on
    each bus, kept up to date here).  The refusal QEMU gives, or None."""
    realized: dict[str, PropValue] = {}
    info = type_info(dtype)
    specs = info.by_name
    if bus.type == "SCSI" and "lun" in specs:
        refusal = _scsi_address(bus, given, limits or BusLimits(), realized, scsi_taken)
        if refusal is not None:
            return refusal
    elif bus.type == "IDE" and "unit" in specs and "unit" not in given:
        # the master's unit is 0: a device without one takes 0, or 1 beside a master
        realized["unit"] = 1 if any(_value(d, "unit") == 0 for d in bus.devices) else 0
    spec = specs.get("disable-legacy")
    if (
        spec is not None
        and spec.type == "string"
        and "disable-legacy" not in given
        and spec.default in (None, "auto")
    ):
        # a modern-capable proxy drops the legacy interface in a PCI Express port (a
        # PCIE bus that is not the root complex's), keeps it elsewhere
        express_port = bus.type == "PCIE" and bus is not root_bus
        modern_only = embeds is not None and embeds not in _LEGACY_ALLOWED
        realized["disable-legacy"] = "on" if express_port or modern_only else "off"
    _apply(device, info, realized)
    name = dtype.name
    if name == "zpci":
        _zpci_interpretation(device, given, accel)
    elif name == "intel-iommu":
        _intel_iommu(device, given, accel)
    elif name in _EDID_REALIZED:
        _edid_defaults(device, given)
    if "romsize" not in given:
        _drop_rom_size(device, info, given)
    return None


def _zpci_interpretation(device: Device, given: Mapping[str, object], accel: str) -> None:
    """zPCI interpretation and forwarding assist need KVM and the host kernel's support
    (s390_pci_kvm_interp_allowed): off under TCG, as QEMU 7.2's qtree shows them; under
    KVM a fact of the host kernel, so not shown."""
    names = ("interpret", "forwarding-assist")
    if accel == "kvm":
        device.props = [p for p in device.props if p.name not in names or p.name in given]
        return
    device.props = [p._replace(value=False) if p.name in names else p for p in device.props]


def _intel_iommu(device: Device, given: Mapping[str, object], accel: str) -> None:
    """intel-iommu decides intremap=auto and eim=auto at realize from the interrupt
    controller (x86_iommu_realize, vtd_decide_config): with TCG's userspace irqchip
    interrupt remapping is on and EIM off, as QEMU 7.2's qtree shows; with KVM they
    follow the irqchip (kernel_irqchip=split or not), so not shown."""
    decided = {"intremap": "on", "eim": "off"}
    kept = []
    for prop in device.props:
        if prop.name in decided and prop.name not in given and prop.value == "auto":
            if accel == "kvm":
                continue
            prop = prop._replace(value=decided[prop.name])
        kept.append(prop)
    device.props = kept


# pci_std_vga_realize / pci_secondary_vga_realize generate the EDID blob with the device's
# own edid_info, and qemu_edid_generate fills in a preferred mode of 1280x800 where none
# is set: QEMU 7.2's qtree shows xres = 1280, yres = 800 for a plain -device VGA
_EDID_DEFAULTS = {"xres": 1280, "yres": 800}
_EDID_REALIZED = {"VGA", "secondary-vga"}


def _edid_defaults(device: Device, given: Mapping[str, object]) -> None:
    if str(given.get("edid", "on")) in ("off", "false"):
        return
    device.props = [
        p._replace(value=_EDID_DEFAULTS[p.name])
        if p.name in _EDID_DEFAULTS and p.name not in given and p.value == 0
        else p
        for p in device.props
    ]


def _drop_rom_size(device: Device, info: TypeInfo, given: Mapping[str, object]) -> None:
    """A PCI device that loads an option ROM file (pci_add_option_rom) sets romsize to the
    file's size, a fact of the host's QEMU build (VGA's vgabios-stdvga.bin: 65536 in
    Debian's 7.2): not shown unless given or the device has no ROM file (romfile "")."""
    if "romsize" not in info.order:
        return  # (no such property on the type: nothing to drop)
    romfile = given.get("romfile")
    if romfile is None:
        spec = info.by_name.get("romfile")
        romfile = spec.default if spec is not None else None
    if romfile != "":
        device.props = [p for p in device.props if p.name != "romsize"]


# a SCSI bus's taken (channel, scsi-id, lun) addresses by id(bus): the bus, how many
# devices were on it when they were counted, and the addresses
TakenAddresses = dict[int, tuple[Bus, int, set[tuple[object, object, object]]]]


def _taken(bus: Bus, cache: TakenAddresses | None) -> set[tuple[object, object, object]]:
    """The (channel, scsi-id, lun) of every device on BUS.  With CACHE, only the devices
    plugged since the last count are read: plug puts each new device first, and the
    built-ins (which plug sorts to the end) are none on a SCSI bus (else all are read)."""
    devices = bus.devices
    entry = cache.get(id(bus)) if cache is not None else None
    if (
        entry is not None
        and entry[0] is bus
        and entry[1] <= len(devices)
        and (not devices or devices[-1].builtin_rank is None)
    ):
        taken = entry[2]
        for device in devices[: len(devices) - entry[1]]:
            taken.add(_address(device))
    else:
        taken = {_address(device) for device in devices}
    if cache is not None:
        cache[id(bus)] = (bus, len(devices), taken)
    return taken


def _address(device: Device) -> tuple[object, object, object]:
    """(channel, scsi-id, lun) of DEVICE, each the first of its name (as _value), None
    when absent: one walk of the props for the three."""
    found: dict[str, PropValue] = {}
    for prop in device.props:
        if prop.name in _ADDRESS_NAMES and prop.name not in found:
            found[prop.name] = prop.value
    return found.get("channel"), found.get("scsi-id"), found.get("lun")


_ADDRESS_NAMES = frozenset({"channel", "scsi-id", "lun"})


def _scsi_address(
    bus: Bus,
    given: Mapping[str, object],
    limits: BusLimits,
    realized: dict[str, PropValue],
    cache: TakenAddresses | None = None,
) -> str | None:
    """scsi_qdev_realize: without scsi-id, the first target free at the LUN (0 if none
    given); with scsi-id but without lun, the first free LUN of that target."""
    channel = int(str(given.get("channel", 0)), 0)
    lun = int(str(given["lun"]), 0) if "lun" in given else None
    if lun is not None and "scsi-id" in given:
        return None  # the address as given (libvirt gives its disks all three)
    taken = _taken(bus, cache)
    max_target = limits.max_target if limits.max_target is not None else _ANY_TARGET
    max_lun = limits.max_lun if limits.max_lun is not None else _ANY_LUN
    if "scsi-id" not in given:
        lun = 0 if lun is None else lun
        target = next((t for t in range(max_target + 1) if (channel, t, lun) not in taken), None)
        if target is None:
            return "no free target"
        realized.update({"channel": channel, "scsi-id": target, "lun": lun})
    elif lun is None:
        target = int(str(given["scsi-id"]), 0)
        lun = next((n for n in range(max_lun + 1) if (channel, target, n) not in taken), None)
        if lun is None:
            return "no free lun"
        realized.update({"channel": channel, "lun": lun})
    return None


def _value(device: Device, name: str) -> PropValue | None:
    return next((p.value for p in device.props if p.name == name), None)


def _apply(device: Device, info: TypeInfo, realized: dict[str, PropValue]) -> None:
    """DEVICE's props with the REALIZED values in place of the given or default ones,
    in the type's order."""
    if not realized:
        return
    shown = info.shown_types
    order, last = info.order, len(info.dtype.props)
    props = [p for p in device.props if p.name not in realized]
    added = [Prop(name, shown[name], value) for name, value in realized.items() if name in shown]
    keys = [order.get(p.name, -1) for p in props]
    if info.unique and -1 not in keys and keys == sorted(keys):
        # every name once in the type, the rest already in its order: each realized
        # value goes where the stable sort below would put it
        for prop in added:
            key = order[prop.name]
            at = bisect_right(keys, key)
            keys.insert(at, key)
            props.insert(at, prop)
        device.props = props
        return
    props += added
    props.sort(key=lambda p: order.get(p.name, last))
    device.props = props


def convert(prop_type: str, value: PropValue) -> PropValue:
    """VALUE (as given on the command line or as a table default) as qtree shows a property
    of PROP_TYPE: integers, booleans, a PCI devfn as slot.function."""
    if isinstance(value, bool):
        return value
    text = str(value)
    if prop_type in ("uint8", "uint16", "uint32", "uint64", "int32", "size", "blocksize"):
        return int(text, 0)
    if prop_type in ("on-off", "bool"):
        return text in ("on", "true", "yes")
    if prop_type == "pci-devfn":
        return _devfn(text)
    if prop_type == "hex64":
        return int(text, 16)
    return text


def _devfn(text: str) -> str:
    """'0x3' → '03.0', '0x4.0x1' → '04.1', as qtree prints a PCI devfn."""
    if "." in text and not text.startswith("0x") and len(text.split(".")[0]) == 2:
        return text  # already qtree style (built-ins)
    slot_text, _, function_text = text.partition(".")
    slot = int(slot_text, 0)
    function = int(function_text, 0) if function_text else 0
    return f"{slot:02x}.{function:x}"
