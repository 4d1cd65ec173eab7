"""The XML ↔ QEMU property rows of the devices beside storage (libvirt 9.0's
qemuBuildVirtioOptionsProps, qemuBuildNicDevProps, qemuBuildMemballoonCommandLine,
qemuBuildRNGDevProps, qemuBuildDeviceVideoCmd …), read by the writers in props/ (net,
virtio, display, platform) and by native/devices.py to read a line back, so a property
is declared once (storage's rows are props/disk_table.py).

A row's ``only`` names the kinds of device it is written for: a NIC's "virtio" or
"other" (its model), a video card's model type.  What is not one field ↔ one property
(mq/vectors from the queues, a ROM's romfile from two attributes, a back-end chosen by
the type) stays code in the writers, each naming the libvirt function it matches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ..option import Value
from .mapping import BadValue, Context, Row, number, on_off, on_off_text, text


def _switch_text(value: bool, context: Context | None) -> str | None:
    # OnOffAuto properties (intel-iommu's intremap, eim): libvirt writes "on"/"off"
    return on_off_text(value)


# the options every virtio device's <driver> takes, in libvirt's order
# (qemuBuildVirtioOptionsProps); fields relative to the <driver>
VIRTIO_OPTIONS: tuple[Row, ...] = (
    Row("iommu_platform", "iommu", from_qemu=on_off),
    Row("ats", "ats", from_qemu=on_off),
    Row("packed", "packed", from_qemu=on_off),
    Row("page-per-vq", "page_per_vq", from_qemu=on_off),
)

# --- network cards (qemuBuildNicDevProps) ---------------------------------------------

_TXMODE = {"iothread": "bh", "timer": "timer"}


def _txmode(value: str, context: Context | None) -> str | None:
    return _TXMODE.get(value)


def _txmode_back(value: Any) -> str:
    found = {qemu: mode for mode, qemu in _TXMODE.items()}.get(text(value))
    if found is None:
        raise BadValue("expected bh or timer")
    return found


# a virtio NIC's <driver> properties after its transitional model's, in libvirt's order
# (kind "virtio"); the offloads of <driver><host> and <driver><guest> among them
NIC_VIRTIO: tuple[Row, ...] = (
    Row("tx", "driver.txmode", _txmode, _txmode_back),
    Row("ioeventfd", "driver.ioeventfd", from_qemu=on_off),
    Row("event_idx", "driver.event_idx", from_qemu=on_off),
    Row("csum", "driver.host.csum", from_qemu=on_off),
    Row("gso", "driver.host.gso", from_qemu=on_off),
    Row("host_tso4", "driver.host.tso4", from_qemu=on_off),
    Row("host_tso6", "driver.host.tso6", from_qemu=on_off),
    Row("host_ecn", "driver.host.ecn", from_qemu=on_off),
    Row("host_ufo", "driver.host.ufo", from_qemu=on_off),
    Row("mrg_rxbuf", "driver.host.mrg_rxbuf", from_qemu=on_off),
    Row("guest_csum", "driver.guest.csum", from_qemu=on_off),
    Row("guest_tso4", "driver.guest.tso4", from_qemu=on_off),
    Row("guest_tso6", "driver.guest.tso6", from_qemu=on_off),
    Row("guest_ecn", "driver.guest.ecn", from_qemu=on_off),
    Row("guest_ufo", "driver.guest.ufo", from_qemu=on_off),
)
# … then mq and vectors (from the queues: code), then these
NIC_VIRTIO_QUEUES: tuple[Row, ...] = (
    Row("rx_queue_size", "driver.rx_queue_size", from_qemu=number),
    Row("tx_queue_size", "driver.tx_queue_size", from_qemu=number),
    Row("rss", "driver.rss", from_qemu=on_off),
    Row("hash", "driver.rss_hash_report", from_qemu=on_off),
    Row("host_mtu", "mtu", from_qemu=number),
)
# every NIC's, after netdev and id
NIC_MAC = Row("mac", "mac", from_qemu=text)
NIC_BOOT = Row("bootindex", "boot_order", from_qemu=number)


def _rombar(value: bool, context: Context | None) -> Value:
    return int(value)


def _rombar_back(value: Any) -> bool:
    return bool(number(value))


# <rom bar> of a PCI device (qemuBuildRomProps; romfile, from two attributes, is code)
ROMBAR = Row("rombar", "rom.bar", _rombar, _rombar_back)
# a tap back-end's <tune><sndbuf> (qemuBuildHostNetProps)
NETDEV_TAP: tuple[Row, ...] = (Row("sndbuf", "sndbuf", from_qemu=number),)

# --- the balloon, RNGs, vsock, IOMMUs ---------------------------------------------------

# <memballoon> after its id (qemuBuildMemballoonCommandLine)
BALLOON: tuple[Row, ...] = (
    Row("deflate-on-oom", "autodeflate", from_qemu=on_off),
    Row("free-page-reporting", "free_page_reporting", from_qemu=on_off),
)

# libvirt's period when <rate bytes> has none (qemuBuildRNGDevProps), in milliseconds
DEFAULT_RNG_PERIOD = 1000


def _rng_period(rng: Any) -> int | None:
    if rng.rate_bytes is None:
        return None  # no <rate bytes>: libvirt writes neither
    return rng.rate_period or DEFAULT_RNG_PERIOD


# <rng><rate> after the device's id (qemuBuildRNGDevProps)
RNG: tuple[Row, ...] = (
    Row("max-bytes", "rate_bytes", from_qemu=number),
    Row("period", "rate_period", from_qemu=number, effective=_rng_period),
)

# intel-iommu's <driver> after its id (qemuBuildIOMMUCommandLine)
INTEL_IOMMU: tuple[Row, ...] = (
    Row("intremap", "driver.intremap", _switch_text, on_off),
    Row("caching-mode", "driver.caching_mode", from_qemu=on_off),
    Row("eim", "driver.eim", _switch_text, on_off),
    Row("device-iotlb", "driver.iotlb", from_qemu=on_off),
    Row("aw-bits", "driver.aw_bits", from_qemu=number),
)

# a memory device's guest NUMA node, its first property (qemuBuildMemoryDeviceProps)
MEMORY_DEVICE: tuple[Row, ...] = (Row("node", "target.node", from_qemu=number),)

# a virtio input's host device (qemuBuildInputVirtioDevProps), after its id
INPUT: tuple[Row, ...] = (Row("evdev", "source_evdev", from_qemu=text),)

# --- video cards (qemuBuildDeviceVideoCmd) ----------------------------------------------

# libvirt's default video RAM per model (virDomainVideoDefaultRAM), KiB
DEFAULT_VRAM = {"vga": 16384, "cirrus": 16384, "vmvga": 16384, "bochs": 16384, "qxl": 65536}
QXL_DEFAULT_RAM = 65536
QXL_DEFAULT_VGAMEM = 16384  # qemuDomainDeviceVideoDefPostParse


class Card(NamedTuple):
    """What the video rows' values are computed from: the card's <model> (None for the
    card libvirt adds) and the model type libvirt settled on (its default for none)."""

    model: Any
    kind: str


def _vram(card: Card) -> int | None:
    vram = card.model.vram if card.model is not None else None
    return vram or DEFAULT_VRAM.get(card.kind)


def _model_value(name: str, default: int | None = None) -> Callable[[Card], int | None]:
    def effective(card: Card) -> int | None:
        return (getattr(card.model, name) if card.model is not None else None) or default

    return effective


def _kib_to_mib(value: int, context: Context | None) -> int:
    return value // 1024


def _mib_to_kib(value: Any) -> int:
    return number(value) * 1024


def _kib_to_bytes(value: int, context: Context | None) -> int:
    return value * 1024


def _bytes_to_kib(value: Any) -> int:
    return number(value) // 1024


def _vram64_back(value: Any) -> int | None:
    return number(value) * 1024 or None  # libvirt writes 0 for none


# The sizes of a video card by its model type, in libvirt's order; the writer gives
# only those the release's card has (display.py's _video_props) and computes them from a
# Card (its defaults applied), from-argv sets the Video's fields.  VGA and vmware-svga
# size their VRAM by vgamem_mb, bochs-display by vgamem (bytes).
VIDEO: tuple[Row, ...] = (
    Row("vgamem_mb", "model.vram", _kib_to_mib, _mib_to_kib, ("vga", "vmvga"), effective=_vram),
    Row("vgamem", "model.vram", _kib_to_bytes, _bytes_to_kib, ("bochs",), effective=_vram),
    Row("max_outputs", "model.heads", from_qemu=number, only=("qxl", "virtio"),
        effective=_model_value("heads", 1)),
    Row("ram_size", "model.ram", _kib_to_bytes, _bytes_to_kib, ("qxl",),
        effective=_model_value("ram", QXL_DEFAULT_RAM)),
    Row("vram_size", "model.vram", _kib_to_bytes, _bytes_to_kib, ("qxl",),
        effective=_model_value("vram", DEFAULT_VRAM["qxl"])),
    Row("vram64_size_mb", "model.vram64", _kib_to_mib, _vram64_back, ("qxl",),
        effective=_model_value("vram64", 0)),
    Row("vgamem_mb", "model.vgamem", _kib_to_mib, _mib_to_kib, ("qxl",),
        effective=_model_value("vgamem", QXL_DEFAULT_VGAMEM)),
)  # fmt: skip
# <resolution x y>, after the sizes, where the release's card has xres
VIDEO_RESOLUTION: tuple[Row, ...] = (
    Row("xres", "model.resolution_x", from_qemu=number, effective=_model_value("resolution_x")),
    Row("yres", "model.resolution_y", from_qemu=number, effective=_model_value("resolution_y")),
)
