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

# virtio model='…' → the device-name suffix it picks and the disable-legacy it sets
# before QEMU 4.0; longest suffix first ("-non-transitional" also ends in "-transitional")
_MODELS = (
    ("virtio-non-transitional", "-non-transitional", "on"),
    ("virtio-transitional", "-transitional", "off"),
)
_DISABLE_LEGACY = tuple((suffix, legacy) for _, suffix, legacy in _MODELS)


def model_suffix(model: str | None) -> str:
    """The device-name suffix a virtio model='…' picks: -transitional, -non-transitional."""
    return next((suffix for name, suffix, _ in _MODELS if name == model), "")


def model_of(device: str, disable_legacy: bool | None, disable_modern: bool | None) -> str | None:
    """The virtio model='…' of a QEMU DEVICE written with DISABLE_LEGACY/DISABLE_MODERN
    (resolve() read backwards); None for a plain virtio device."""
    for name, suffix, _ in _MODELS:
        if device.endswith(suffix):
            return name
    if disable_legacy is None or disable_modern is not False:
        return None
    return _MODELS[0][0] if disable_legacy else _MODELS[1][0]


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
