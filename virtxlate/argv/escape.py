"""QEMU's key=value option syntax (QemuOpts): a comma inside a value is written twice.

Doubling every comma is what keeps a path such as ``/img/a,file=/etc/shadow`` one
value instead of a second option (libvirt's virQEMUBuildBufferEscapeComma).
"""

from __future__ import annotations

import json

from ..option import BARE, Option, Value


def escape_value(value: str) -> str:
    return value.replace(",", ",,")


def format_value(value: Value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def json_value(option: Option, implied_key: str | None = None) -> str:
    """The option as one JSON object (libvirt's -blockdev, and -device from QEMU 6.2):
    the implied value under IMPLIED_KEY ('driver' for -device), then the properties."""
    data: dict[str, object] = {}
    if implied_key is not None and option.implied is not None:
        data[implied_key] = option.implied
    data.update(option.props)
    return _JSON.encode(data)


# one encoder for every option: json.dumps with arguments builds a new one per call
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def keyval(option: Option) -> str:
    """'virtio-scsi-pci,id=scsi0,bus=pci.0' for an Option."""
    parts = []
    if option.implied is not None:
        parts.append(escape_value(option.implied))
    parts.extend(
        key if value is BARE else f"{key}={escape_value(format_value(value))}"
        for key, value in option.props
    )
    return ",".join(parts)


def split_keyval(text: str) -> list[str]:
    """The inverse of keyval's joining: split on single commas, undouble doubled ones."""
    parts, current, index = [], [], 0
    while index < len(text):
        char = text[index]
        if char == ",":
            if index + 1 < len(text) and text[index + 1] == ",":
                current.append(",")
                index += 2
                continue
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    parts.append("".join(current))
    return parts
