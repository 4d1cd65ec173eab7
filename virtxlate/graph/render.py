"""Renderers of a device graph: `info qtree` text and the stable JSON form."""

from __future__ import annotations

import json
from typing import Any

from .nodes import Bus, Device, Graph, Prop


def qtree_text(graph: Graph) -> str:
    """`info qtree` text: each bus, then its devices, each device's buses below it.
    Walked with a stack, not recursion: a chain of bridges may nest 256 deep."""
    lines: list[str] = []
    stack: list[tuple[Bus | Device, int]] = [(graph.root, 0)]
    while stack:
        node, indent = stack.pop()
        pad = " " * indent
        if isinstance(node, Bus):
            lines += [f"{pad}bus: {node.name}", f"{pad}  type {node.type}"]
            stack.extend((device, indent + 2) for device in reversed(node.devices))
            continue
        lines.append(f'{pad}dev: {node.type}, id "{node.id or ""}"')
        lines += [
            f"{pad}  {prop.name} = {format_prop(prop, graph.value_style)}" for prop in node.props
        ]
        stack.extend((bus, indent + 2) for bus in reversed(shown_buses(node)))
    return "\n".join(lines) + "\n"


def shown_buses(device: Device) -> list[Bus]:
    """A device's buses as qtree lists them: the newest first (QEMU inserts each child
    bus at the head of the list); the graph keeps them in creation order."""
    return device.buses[::-1]


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
        # the string output visitor prints every integer as int64 (%#"PRIx64): an int32
        # -1 (virtio-net's speed) is 0xffffffffffffffff in QEMU 7.2's qtree
        shown = value & 0xFFFFFFFFFFFFFFFF if value < 0 else value
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
    {"type","id","props","buses"}.  Other tools parse this: keep it stable.  Built with
    a stack, not recursion (a chain of bridges may nest 256 deep)."""
    root: dict[str, Any] = {}
    stack: list[tuple[Bus | Device, dict[str, Any]]] = [(graph.root, root)]
    while stack:
        node, out = stack.pop()
        if isinstance(node, Bus):
            out.update(name=node.name, type=node.type, devices=[])
            children: list[Bus | Device] = list(node.devices)
            key = "devices"
        else:
            out.update(
                type=node.type,
                id=node.id,
                props={prop.name: prop.value for prop in node.props},
                buses=[],
            )
            children, key = list(shown_buses(node)), "buses"
        for child in children:
            out[key].append({})
            stack.append((child, out[key][-1]))
    return {"qemu": graph.qemu, "machine": graph.machine, "root": root}


def graph_json_text(graph: Graph) -> str:
    """graph_json as json.dumps(indent=2) writes it, without its recursion."""
    return "".join(_json_chunks(graph_json(graph))) + "\n"


def _json_chunks(value: Any) -> list[str]:
    """The text of VALUE (dicts, lists, scalars) in json.dumps's indent=2 layout."""
    chunks: list[str] = []
    # ("value", VALUE, INDENT) writes a value; ("text", TEXT, 0) a piece of text
    stack: list[tuple[str, Any, int]] = [("value", value, 0)]
    while stack:
        kind, item, indent = stack.pop()
        if kind == "text":
            chunks.append(item)
            continue
        if isinstance(item, dict | list) and item:
            pad, inner = "\n" + " " * indent, "\n" + " " * (indent + 2)
            is_dict = isinstance(item, dict)
            chunks.append("{" if is_dict else "[")
            entries: list[tuple[Any, Any]] = (
                list(item.items()) if isinstance(item, dict) else [(None, v) for v in item]
            )
            work: list[tuple[str, Any, int]] = []
            for number, (key, child) in enumerate(entries):
                lead = inner if number == 0 else "," + inner
                if is_dict:
                    lead += json.dumps(key) + ": "
                work += [("text", lead, 0), ("value", child, indent + 2)]
            work.append(("text", pad + ("}" if is_dict else "]"), 0))
            stack.extend(reversed(work))
        else:
            chunks.append(json.dumps(item))
    return chunks
