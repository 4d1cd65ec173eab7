"""`virtxlate from-tree`: a device graph (`tree --format json`) back to domain XML.

The graph becomes the -device options that build it — each device on its bus, a virtio
proxy carrying its embedded device's properties, properties left out where they hold the
release's default (a graph shows defaults too, the XML names only what was chosen) — and
those are read back as a command line.  The machine's built-in devices are the machine.
A graph names the drive a device uses, never the file behind it: each such drive is read
as the placeholder file /unknown-source/DRIVE (libvirt refuses a hard disk without one);
a network card's back-end, never shown either, is read as user networking.
"""

from __future__ import annotations

import json
from typing import Any

from .. import caps as caps_tables
from ..argv.storage import STORAGE_DEVICES
from ..caps import CapsTable
from ..errors import InputError, UsageError
from ..graph.build import convert
from .options import json_depth
from .todomain import Readback, domain_from_argv
from .tree import MAX_BUS_DEPTH
from .words import CommandLine

_MAX_DEPTH = 4 * MAX_BUS_DEPTH + 4


def domain_from_tree(text: str, source: str = "<input>") -> Readback:
    try:
        tree = json.loads(text)
        release, machine, root = tree["qemu"], tree["machine"], tree["root"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(
            f"not the JSON of `virtxlate tree --format json`: {exc}",
            source=source,
            line=getattr(exc, "lineno", 0),
        ) from None
    except RecursionError:
        tree = None
    # each device on a bus is four levels of JSON (bus, its device list, device, its bus
    # list): a graph deeper than tree --argv reads is refused before it is walked
    if tree is None or json_depth(tree, _MAX_DEPTH) > _MAX_DEPTH:
        raise InputError(
            f"the graph nests more than {MAX_BUS_DEPTH} devices deep", source=source, line=1
        )
    try:
        version = caps_tables.normalize_version(str(release))
    except UsageError:  # not a release number at all (5,000 digits): the file is wrong
        raise InputError(
            f"\"qemu\" is not a QEMU release: '{str(release)[:20]}'", source=source, line=1
        ) from None
    caps = caps_tables.load(version)
    words = ["-machine", str(machine)]
    try:
        _bus_words(caps, root, words)
    except (AttributeError, TypeError, KeyError) as exc:
        raise InputError(
            f"not the graph JSON of `virtxlate tree --format json`: {exc!r}", source=source, line=0
        ) from None
    features = _feature_words(caps, str(machine), root)
    if features[:1] == ["-machine"]:  # the machine type with the features it turns off
        words[1], features = features[1], features[2:]
    words += features
    placeholders = _placeholder_drives(words) + _placeholder_netdevs(words)
    return domain_from_argv(CommandLine(None, words + placeholders, source))


def _placeholder_netdevs(words: list[str]) -> list[str]:
    """A -netdev for each back-end a -device of WORDS names: the graph shows the NIC, not
    its host side, which is read as user networking."""
    netdevs: list[str] = []
    for flag, value in zip(words, words[1:], strict=False):
        netdev = json.loads(value).get("netdev") if flag == "-device" else None
        if isinstance(netdev, str) and netdev:
            netdevs += ["-netdev", json.dumps({"type": "user", "id": netdev})]
    return netdevs


# The options that turn a machine feature off (a built-in's needs in the table), as
# graph/build.py reads them; any other feature is -machine FEATURE=off.
_FEATURE_OFF = {"acpi": ["-no-acpi"], "hpet": ["-no-hpet"], "tcg": ["-accel", "kvm"]}


def _feature_words(caps: CapsTable, machine: str, root: dict[str, Any]) -> list[str]:
    """The options that explain the built-ins the graph lacks: a feature is off when the
    machine has built-ins that need it and the graph shows none of those whose other needs
    are met (pc's PIIX4_PM without ACPI; isa-i8259 needs pic and TCG, so under KVM its
    absence says nothing about pic).  TCG first: the accelerator explains the most."""
    known = caps.machine(machine)
    family = caps.family_of(known) if known is not None else None
    if family is None:
        return []
    shown = _types(root)
    needs = [(b.type, (b.needs or "").split()) for b in family.builtins]
    words = sorted({w for _, ws in needs for w in ws}, key=lambda w: (w != "tcg", w))
    off: set[str] = set()
    for word in words:
        deciding = {t for t, ws in needs if word in ws and not off & set(ws)}
        if deciding and not deciding & shown:
            off.add(word)
    found: list[str] = []
    for word in words:
        if word in off and word in _FEATURE_OFF:
            found += _FEATURE_OFF[word]
        elif word in off:
            found[:0] = [] if found[:1] == ["-machine"] else ["-machine", machine]
            found[1] += f",{word}=off"
    return found


def _types(bus: dict[str, Any], depth: int = 0) -> set[str]:
    """Every device type on BUS and below (bounded: the graph's depth was checked)."""
    found: set[str] = set()
    for device in bus.get("devices", []):
        found.add(str(device.get("type", "")))
        if depth < _MAX_DEPTH:
            for child in device.get("buses", []):
                found |= _types(child, depth + 1)
    return found


def _placeholder_drives(words: list[str]) -> list[str]:
    """A -drive for each drive a -device of WORDS names: the file is a placeholder."""
    drives: list[str] = []
    for flag, value in zip(words, words[1:], strict=False):
        drive = json.loads(value).get("drive") if flag == "-device" else None
        if isinstance(drive, str) and drive:
            escaped = drive.replace(",", ",,")
            drives += ["-drive", f"file={PLACEHOLDER}{escaped},if=none,id={escaped}"]
    return drives


PLACEHOLDER = "/unknown-source/"


def _bus_words(caps: CapsTable, bus: dict[str, Any], words: list[str]) -> None:
    # a graph lists devices and buses as qtree does, the newest first: created in reverse
    for device in reversed(bus.get("devices", [])):
        dtype = caps.device(device.get("type", ""))
        builtin = device.get("id") is None and (
            dtype is None or not dtype.creatable or not _is_storage(device)
        )
        if builtin:
            for child in reversed(device.get("buses", [])):
                _bus_words(caps, child, words)
            continue
        fields: dict[str, Any] = {"driver": device["type"]}
        if device.get("id"):
            fields["id"] = device["id"]
        fields["bus"] = bus.get("name")
        fields.update(_chosen(caps, device))
        children = device.get("buses", [])
        inner = [
            d
            for child in children
            if child.get("type", "").startswith("virtio-")
            for d in child.get("devices", [])
            if d.get("id") is None
        ]
        for embedded in inner:  # a virtio proxy: its embedded device's settings are its own
            fields.update(_chosen(caps, embedded))
            children = embedded.get("buses", [])
        if device["type"] == "usb-storage":
            # the SCSI disk QEMU puts inside a USB stick is the stick itself: its drive
            # is the stick's
            inner = [d for child in children for d in child.get("devices", [])]
            drive = next((d.get("props", {}).get("drive") for d in inner), None)
            if drive is not None:
                fields["drive"] = drive
            words += ["-device", json.dumps(fields, separators=(",", ":"))]
            continue
        words += ["-device", json.dumps(fields, separators=(",", ":"))]
        for child in reversed(children):
            _bus_words(caps, child, words)


def _is_storage(device: dict[str, Any]) -> bool:
    """A device a domain's storage names (not a chipset part such as piix3-ide); a graph
    shows QEMU's own type names, lsi53c895a for libvirt's lsi."""
    kind = str(device.get("type", ""))
    return (
        kind in STORAGE_DEVICES
        or kind == "lsi53c895a"
        or kind.startswith(("virtio-", "scsi-", "ide-", "vhost-scsi"))
    )


def _chosen(caps: CapsTable, device: dict[str, Any]) -> dict[str, Any]:
    """The device's properties that differ from the release's defaults."""
    dtype = caps.device(device.get("type", ""))
    chosen = {}
    for name, value in device.get("props", {}).items():
        spec = dtype.prop(name) if dtype is not None else None
        if (
            spec is not None
            and spec.default is not None
            and convert(spec.type, spec.default) == value
        ):
            continue
        chosen[name] = value
    return chosen
