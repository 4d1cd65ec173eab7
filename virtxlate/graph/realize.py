"""Values QEMU fills in while it realizes a device, which `info qtree` then prints instead
of the property's default: the SCSI address of a device given without scsi-id or lun
(scsi_qdev_realize), the IDE unit of one given without unit (ide_dev_initfn), and a virtio
PCI proxy's disable-legacy=auto (virtio_pci_realize).  Checked with QEMU 7.2's qtree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..caps.tables import DeviceType
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


@dataclass(frozen=True)
class BusLimits:
    max_target: int | None = None
    max_lun: int | None = None


def realize(
    device: Device,
    dtype: DeviceType,
    bus: Bus,
    given: Mapping[str, object],
    limits: BusLimits | None,
    root_bus: Bus,
    embeds: str | None = None,
    accel: str = "tcg",
) -> str | None:
    """Set DEVICE's realized properties in place (DEVICE not yet on BUS; the devices
    already there were realized before it; EMBEDS: the virtio device a proxy embeds).
    ACCEL: the accelerator, tcg or kvm).  The refusal QEMU gives, or None."""
    realized: dict[str, PropValue] = {}
    if bus.type == "SCSI" and dtype.prop("lun") is not None:
        refusal = _scsi_address(bus, given, limits or BusLimits(), realized)
        if refusal is not None:
            return refusal
    elif bus.type == "IDE" and dtype.prop("unit") is not None and "unit" not in given:
        # the master's unit is 0: a device without one takes 0, or 1 beside a master
        realized["unit"] = 1 if any(_value(d, "unit") == 0 for d in bus.devices) else 0
    spec = dtype.prop("disable-legacy")
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
    _apply(device, dtype, realized)
    _zpci_interpretation(device, dtype, given, accel)
    _intel_iommu(device, dtype, given, accel)
    _edid_defaults(device, dtype, given)
    _drop_rom_size(device, dtype, given)
    return None


def _zpci_interpretation(
    device: Device, dtype: DeviceType, given: Mapping[str, object], accel: str
) -> None:
    """zPCI interpretation and forwarding assist need KVM and the host kernel's support
    (s390_pci_kvm_interp_allowed): off under TCG, as QEMU 7.2's qtree shows them; under
    KVM a fact of the host kernel, so not shown."""
    if dtype.name != "zpci":
        return
    names = ("interpret", "forwarding-assist")
    if accel == "kvm":
        device.props = [p for p in device.props if p.name not in names or p.name in given]
        return
    for prop in device.props:
        if prop.name in names:
            prop.value = False


def _intel_iommu(
    device: Device, dtype: DeviceType, given: Mapping[str, object], accel: str
) -> None:
    """intel-iommu decides intremap=auto and eim=auto at realize from the interrupt
    controller (x86_iommu_realize, vtd_decide_config): with TCG's userspace irqchip
    interrupt remapping is on and EIM off, as QEMU 7.2's qtree shows; with KVM they
    follow the irqchip (kernel_irqchip=split or not), so not shown."""
    if dtype.name != "intel-iommu":
        return
    decided = {"intremap": "on", "eim": "off"}
    kept = []
    for prop in device.props:
        if prop.name in decided and prop.name not in given and prop.value == "auto":
            if accel == "kvm":
                continue
            prop.value = decided[prop.name]
        kept.append(prop)
    device.props = kept


# pci_std_vga_realize / pci_secondary_vga_realize generate the EDID blob with the device's
# own edid_info, and qemu_edid_generate fills in a preferred mode of 1280x800 where none
# is set: QEMU 7.2's qtree shows xres = 1280, yres = 800 for a plain -device VGA
_EDID_DEFAULTS = {"xres": 1280, "yres": 800}
_EDID_REALIZED = {"VGA", "secondary-vga"}


def _edid_defaults(device: Device, dtype: DeviceType, given: Mapping[str, object]) -> None:
    if dtype.name not in _EDID_REALIZED or str(given.get("edid", "on")) in ("off", "false"):
        return
    for prop in device.props:
        if prop.name in _EDID_DEFAULTS and prop.name not in given and prop.value == 0:
            prop.value = _EDID_DEFAULTS[prop.name]


def _drop_rom_size(device: Device, dtype: DeviceType, given: Mapping[str, object]) -> None:
    """A PCI device that loads an option ROM file (pci_add_option_rom) sets romsize to the
    file's size, a fact of the host's QEMU build (VGA's vgabios-stdvga.bin: 65536 in
    Debian's 7.2): not shown unless given or the device has no ROM file (romfile "")."""
    if "romsize" in given:
        return
    romfile = given.get("romfile")
    if romfile is None:
        spec = dtype.prop("romfile")
        romfile = spec.default if spec is not None else None
    if romfile != "":
        device.props = [p for p in device.props if p.name != "romsize"]


def _scsi_address(
    bus: Bus, given: Mapping[str, object], limits: BusLimits, realized: dict[str, PropValue]
) -> str | None:
    """scsi_qdev_realize: without scsi-id, the first target free at the LUN (0 if none
    given); with scsi-id but without lun, the first free LUN of that target."""
    channel = int(str(given.get("channel", 0)), 0)
    taken = {(_value(d, "channel"), _value(d, "scsi-id"), _value(d, "lun")) for d in bus.devices}
    max_target = limits.max_target if limits.max_target is not None else _ANY_TARGET
    max_lun = limits.max_lun if limits.max_lun is not None else _ANY_LUN
    lun = int(str(given["lun"]), 0) if "lun" in given else None
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


def _apply(device: Device, dtype: DeviceType, realized: dict[str, PropValue]) -> None:
    if not realized:
        return
    shown = {spec.name: spec for spec in dtype.props if spec.in_qtree}
    props = [p for p in device.props if p.name not in realized]
    props += [
        Prop(name, shown[name].type, value) for name, value in realized.items() if name in shown
    ]
    order = [spec.name for spec in dtype.props]
    props.sort(key=lambda p: order.index(p.name) if p.name in order else len(order))
    device.props = props
