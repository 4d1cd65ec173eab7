"""The storage part of a QEMU command line, as written: what `compare` and the tests set
side by side with libvirt's own command line."""

from __future__ import annotations

import json

# -device drivers that are storage: controllers, disks, host devices and their helpers.
STORAGE_DEVICES = frozenset(
    {
        "virtio-scsi-pci",
        "lsi",
        "megasas",
        "mptsas1068",
        "pvscsi",
        "spapr-vscsi",
        "ahci",
        "am53c974",
        "dc390",
        "esp",
        "scsi-hd",
        "scsi-cd",
        "scsi-block",
        "scsi-generic",
        "scsi-disk",
        "ide-hd",
        "ide-cd",
        "ide-drive",
        "virtio-blk-pci",
        "usb-storage",
        "floppy",
        "virtio-blk-pci-transitional",
        "virtio-blk-pci-non-transitional",
        "virtio-scsi-pci-transitional",
        "virtio-scsi-pci-non-transitional",
        "virtio-blk-ccw",
        "virtio-scsi-ccw",
        "virtio-blk-device",
        "virtio-scsi-device",
        "isa-fdc",
        "vhost-scsi-pci",
        "vhost-scsi-ccw",
        "vhost-scsi",
        "vhost-scsi-pci-transitional",
        "vhost-scsi-pci-non-transitional",
        "zpci",
    }
)


def device_driver(value: str) -> str:
    if value.startswith("{"):
        try:
            return str(json.loads(value).get("driver", ""))
        except json.JSONDecodeError:
            return ""
    return value.split(",", 1)[0]


def storage_options(words: list[str]) -> list[tuple[str, str]]:
    """-blockdev, -drive, iothread objects, the floppy controller's -global and -device of
    storage devices, in their order, each as (flag, value) exactly as written."""
    found = []
    for flag, value in zip(words, words[1:], strict=False):
        if flag in ("-blockdev", "-drive"):
            found.append((flag, value))
        elif flag == "-object" and (
            '"qom-type":"iothread"' in value or value.startswith("iothread,")
        ):
            found.append((flag, value))
        elif flag == "-device" and device_driver(value) in STORAGE_DEVICES:
            found.append((flag, value))
        elif flag == "-global" and value.startswith("isa-fdc."):
            found.append((flag, value))
    return found
