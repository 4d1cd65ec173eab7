"""The transitional virtio models before QEMU had devices for them.

QEMU 4.0 added virtio-*-pci-transitional and -non-transitional device types.  For an
older QEMU that has virtio-pci's disable-legacy property, libvirt writes the plain
device with disable-legacy/disable-modern instead (qemuBuildVirtioTransitional):
transitional is disable-legacy=off,disable-modern=off, non-transitional is
disable-legacy=on,disable-modern=off.  libvirt still places such a device as the model
says (conventional PCI for a transitional one), so placement keeps the suffixed name.
"""

from __future__ import annotations

from ..caps import CapsTable


def model_suffix(model: str | None) -> str:
    """The device-name suffix a virtio model='…' picks: -transitional, -non-transitional."""
    return {
        "virtio-transitional": "-transitional",
        "virtio-non-transitional": "-non-transitional",
    }.get(model or "", "")


# longest suffix first: "-non-transitional" also ends in "-transitional"
_DISABLE_LEGACY = (("-non-transitional", "on"), ("-transitional", "off"))


def resolve(caps: CapsTable, device: str) -> tuple[str, list[tuple[str, str]]]:
    """(the QEMU device to write, the properties the model adds to it)."""
    for suffix, disable_legacy in _DISABLE_LEGACY:
        if device.endswith(suffix):
            if caps.has_device(device) or not caps.has_flag("virtio-pci-disable-legacy"):
                return device, []
            return device[: -len(suffix)], [
                ("disable-legacy", disable_legacy),
                ("disable-modern", "off"),
            ]
    return device, []
