"""A disk's XML ↔ QEMU property rows (libvirt's qemuBuildDiskDeviceProps and
qemuBlockStorageSourceGetBackendProps), read by props/disks.py and props/backends.py
to write options and by native/todomain.py to read them back."""

from __future__ import annotations

import re
from typing import Any

from ..model import Disk
from ..model.fields import INT, YES_NO
from ..option import Value
from . import device_table
from .mapping import BadValue, Context, Row, given, number, on_off, text, under


def _wwn(value: str, context: Context | None) -> Value | None:
    if not value:
        return None  # an empty <wwn/> gives none
    # a number for QEMU; the -drive era's libvirt wrote it in hexadecimal
    wwn = value if value.startswith("0x") else f"0x{value}"
    return int(wwn, 16) if context is not None and context.caps.json_device else wwn


def _wwn_back(value: Any) -> str:
    # key=value gives 0x…, JSON a number
    return f"{value:016x}" if isinstance(value, int) else text(value).removeprefix("0x")


def _serial(value: str, context: Context | None) -> str:
    # libvirt escapes blanks in the serial with a backslash (qemuSafeSerialParamValue)
    return value.replace(" ", "\\ ")


def _serial_back(value: Any) -> str:
    return text(value).replace("\\ ", " ")


def _switched_on(value: bool, context: Context | None) -> str | None:
    # libvirt writes copy-on-read=on, never off
    return "on" if value else None


def detect_zeroes(disk: Disk) -> str | None:
    """detect_zeroes='unmap' needs discard='unmap'; libvirt falls back to 'on' otherwise."""
    driver = disk.driver
    if driver is None or driver.detect_zeroes is None:
        return None
    if driver.detect_zeroes == "unmap" and driver.discard != "unmap":
        return "on"
    return driver.detect_zeroes


def _iothread(value: int, context: Context | None) -> str:
    return f"iothread{value}"


def _iothread_back(value: Any) -> int:
    digits = re.sub(r"\D", "", text(value))
    if not digits:
        raise BadValue("expected an iothread's id, iothreadN")
    return int(digits)


# The frontend properties one field gives, as libvirt 9.0 writes them after bootindex
# (write-cache and the error policies come from the cache mode and error_policy,
# computed in props/disks.py).
FRONTEND: tuple[Row, ...] = (
    Row("logical_block_size", "blockio.logical_block_size", from_qemu=number),
    Row("physical_block_size", "blockio.physical_block_size", from_qemu=number),
    Row("wwn", "wwn", _wwn, _wwn_back, only=("scsi", "ide", "sata")),
    Row("rotation_rate", "target.rotation_rate", from_qemu=number, style="blockdev"),
    Row("vendor", "vendor", from_qemu=text, only=("scsi",)),
    Row("product", "product", from_qemu=text, only=("scsi",)),
    Row("removable", "target.removable", from_qemu=on_off, only=("usb",)),
    Row("cyls", "geometry.cyls", from_qemu=number),
    Row("heads", "geometry.heads", from_qemu=number),
    Row("secs", "geometry.secs", from_qemu=number),
    Row("bios-chs-trans", "geometry.trans", from_qemu=text),
    Row("serial", "serial", _serial, _serial_back),
)

# <driver iothread> of virtio-blk and virtio-scsi
IOTHREAD = Row("iothread", "driver.iothread", _iothread, _iothread_back)
# virtio-blk's <driver> properties, before and after its scsi= (qemuBuildDiskDeviceProps)
VIRTIO_BEFORE_SCSI: tuple[Row, ...] = (
    IOTHREAD,
    Row("ioeventfd", "driver.ioeventfd", from_qemu=on_off),
    Row("event_idx", "driver.event_idx", from_qemu=on_off),
)
VIRTIO_AFTER_SCSI: tuple[Row, ...] = (
    Row("num-queues", "driver.queues", from_qemu=number, also=("num_queues",)),
    Row("queue-size", "driver.queue_size", from_qemu=number),
)

# the options every virtio device's <driver> takes (qemuBuildVirtioOptionsProps)
# a disk's and a controller's virtio options, read from the device: device_table's rows
# (the one declaration, page-per-vq included) behind <driver>
VIRTIO_OPTIONS = under("driver", device_table.VIRTIO_OPTIONS)

# virtio-scsi's <controller><driver> properties after its id, in libvirt's order
# (qemuBuildControllerSCSIDevProps)
SCSI_CONTROLLER: tuple[Row, ...] = (
    Row("num_queues", "driver.queues", from_qemu=number),
    Row("cmd_per_lun", "driver.cmd_per_lun", from_qemu=number),
    Row("max_sectors", "driver.max_sectors", from_qemu=number),
    Row("ioeventfd", "driver.ioeventfd", from_qemu=on_off),
)

_CURL = ("http", "https", "ftp", "ftps")
# A network <source>'s storage-node properties after its url, in libvirt 9.0's order
# (qemuBlockStorageSourceGetCURLProps); fields relative to <source>
NETWORK_STORAGE: tuple[Row, ...] = (
    Row("sslverify", "ssl/@verify", from_qemu=on_off, only=("https", "ftps"), converter=YES_NO),
    Row("timeout", "timeout/@seconds", from_qemu=number, only=_CURL, converter=INT),
    Row("readahead", "readahead/@size", from_qemu=number, only=_CURL, converter=INT),
)

# A -drive's backend settings after werror and rerror, in the order of libvirt's
# qemuBuildDriveStr (the -drive era); from-argv reads a -drive with them too
DRIVE: tuple[Row, ...] = (
    Row("cache", "driver.cache", given, text, style="drive"),
    Row("copy-on-read", "driver.copy_on_read", _switched_on, on_off, style="drive"),
    Row("discard", "driver.discard", given, text, style="drive", flag="drive-discard"),
    Row(
        "detect-zeroes",
        "driver.detect_zeroes",
        given,
        text,
        style="drive",
        flag="drive-detect-zeroes",
        effective=detect_zeroes,
    ),
    Row("aio", "driver.io", given, text, style="drive"),
)
