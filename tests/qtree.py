"""A reader for `info qtree` text (real QEMU's or ours), for tests that compare graphs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_DEV_RE = re.compile(r'^dev: (?P<type>\S+), id "(?P<id>[^"]*)"$')


@dataclass
class QBus:
    name: str
    type: str = ""
    devices: list[QDevice] = field(default_factory=list)


@dataclass
class QDevice:
    type: str
    id: str
    props: dict[str, str] = field(default_factory=dict)
    buses: list[QBus] = field(default_factory=list)


def parse_qtree(text: str) -> QBus:
    """Indentation-structured: a bus holds 'type X' and devices; a device, props and buses."""
    root: QBus | None = None
    stack: list[tuple[int, QBus | QDevice]] = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        line = raw.strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else None
        if line.startswith("bus: "):
            bus = QBus(line[5:])
            if parent is None:
                root = bus
            elif isinstance(parent, QDevice):
                parent.buses.append(bus)
            stack.append((indent, bus))
        elif line.startswith("type ") and isinstance(parent, QBus):
            parent.type = line[5:]
        elif (match := _DEV_RE.match(line)) and isinstance(parent, QBus):
            device = QDevice(match.group("type"), match.group("id"))
            parent.devices.append(device)
            stack.append((indent, device))
        elif " = " in line and isinstance(parent, QDevice):
            name, _, value = line.partition(" = ")
            parent.props[name] = value
    assert root is not None, "no bus found in qtree text"
    return root


def find_device(bus: QBus, type_: str, id_: str | None = None) -> QDevice | None:
    for device in bus.devices:
        if device.type == type_ and (id_ is None or device.id == id_):
            return device
        for child in device.buses:
            found = find_device(child, type_, id_)
            if found is not None:
                return found
    return None
