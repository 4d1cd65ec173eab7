"""Reading `info qtree` text, as QEMU prints it, into nested dicts.

A bus is {"name", "type", "devices"}, a device {"type", "id" (None when empty), "props"
(name → the value as printed), "buses"} — the shape of virtxlate's own tree JSON.
"""

from __future__ import annotations

import re
from typing import Any

_DEVICE_RE = re.compile(r'dev: (\S+), id "([^"]*)"')


def parse_qtree(text: str) -> dict[str, Any]:
    """`info qtree` as nested dicts: bus {name, type, devices}, device {type, id, props, buses}."""
    root: dict[str, Any] | None = None
    stack: list[tuple[int, dict[str, Any], str]] = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        line = raw.strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1] if stack else None
        if line.startswith("bus: "):
            bus = {"name": line[5:], "type": "", "devices": []}
            if parent is None:
                root = bus
            elif parent[2] == "device":
                parent[1]["buses"].append(bus)
            stack.append((indent, bus, "bus"))
        elif line.startswith("type ") and parent is not None and parent[2] == "bus":
            parent[1]["type"] = line[5:]
        elif line.startswith("dev: ") and parent is not None and parent[2] == "bus":
            match = _DEVICE_RE.match(line)
            if match:
                device: dict[str, Any] = {
                    "type": match.group(1),
                    "id": match.group(2) or None,
                    "props": {},
                    "buses": [],
                }
                parent[1]["devices"].append(device)
                stack.append((indent, device, "device"))
        elif " = " in line and parent is not None and parent[2] == "device":
            key, _, value = line.partition(" = ")
            parent[1]["props"][key] = value
    return root or {"name": "", "type": "", "devices": []}
