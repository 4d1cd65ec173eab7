"""Renderers of a device graph: `info qtree` text and the stable JSON form."""

from __future__ import annotations

import json
from typing import Any

from .nodes import Bus, Device, Graph, Prop


def qtree_text(graph: Graph) -> str:
    lines: list[str] = []
    _bus_lines(graph.root, 0, graph.value_style, lines)
    return "\n".join(lines) + "\n"


def _bus_lines(bus: Bus, indent: int, style: str, out: list[str]) -> None:
    pad = " " * indent
    out.append(f"{pad}bus: {bus.name}")
    out.append(f"{pad}  type {bus.type}")
    for device in bus.devices:
        _device_lines(device, indent + 2, style, out)


def shown_buses(device: Device) -> list[Bus]:
    """A device's buses as qtree lists them: the newest first (QEMU inserts each child
    bus at the head of the list); the graph keeps them in creation order."""
    return device.buses[::-1]


def _device_lines(device: Device, indent: int, style: str, out: list[str]) -> None:
    pad = " " * indent
    out.append(f'{pad}dev: {device.type}, id "{device.id or ""}"')
    for prop in device.props:
        out.append(f"{pad}  {prop.name} = {format_prop(prop, style)}")
    for bus in shown_buses(device):
        _bus_lines(bus, indent + 2, style, out)


def format_prop(prop: Prop, style: str) -> str:
    """A value as that release's `info qtree` prints it.

    qdev-1 (QEMU 1.x qdev printers): decimal numbers, on/off bits, quoted strings,
    drive names bare.  qom (later releases): "N (0xN)", true/false, quoted strings.
    """
    value = prop.value
    if prop.type == "pci-devfn":
        return str(value)
    if isinstance(value, bool):
        if style == "qdev-1":
            return "on" if value else "off"
        return "true" if value else "false"
    if isinstance(value, int):
        if prop.type == "hex64":
            return f"0x{value:016x}"
        if style == "qdev-1":
            return str(value)
        if prop.type in ("size", "blocksize"):
            return f"{value} ({_size_text(value)})"
        shown = value & 0xFFFFFFFF if value < 0 else value
        return f"{value} ({shown:#x})"
    if prop.type == "drive" and style == "qdev-1":
        return str(value)
    return f'"{value}"'


def _size_text(value: int) -> str:
    """QEMU's size_to_str: '512 B', '4 KiB', '1 GiB', three significant digits."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    scaled, unit = float(value), 0
    while scaled >= 1024 and unit < len(units) - 1:
        scaled /= 1024
        unit += 1
    return f"{scaled:.3g} {units[unit]}"


def graph_json(graph: Graph) -> dict[str, Any]:
    """{"qemu", "machine", "root": BUS}; BUS {"name","type","devices"}; DEVICE
    {"type","id","props","buses"}.  Other tools parse this: keep it stable."""
    return {"qemu": graph.qemu, "machine": graph.machine, "root": _bus_json(graph.root)}


def _bus_json(bus: Bus) -> dict[str, Any]:
    return {"name": bus.name, "type": bus.type, "devices": [_device_json(d) for d in bus.devices]}


def _device_json(device: Device) -> dict[str, Any]:
    return {
        "type": device.type,
        "id": device.id,
        "props": {prop.name: prop.value for prop in device.props},
        "buses": [_bus_json(bus) for bus in shown_buses(device)],
    }


def graph_json_text(graph: Graph) -> str:
    return json.dumps(graph_json(graph), indent=2) + "\n"
