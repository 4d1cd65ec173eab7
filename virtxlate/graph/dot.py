"""The device graph as a picture: Graphviz DOT, and SVG through the `dot` program.

Buses are ellipses, devices boxes (type, id, and the placement properties libvirt sets:
drive, channel, scsi-id, lun, unit, addr); an edge runs from each bus to the devices on
it and from each device to the buses it provides, in qtree's order.
"""

from __future__ import annotations

import shutil
import subprocess

from ..errors import UsageError
from .nodes import Bus, Device, Graph
from .render import format_prop, shown_buses

SHOWN_PROPS = ("drive", "channel", "scsi-id", "lun", "unit", "addr", "devno")


def graph_dot(graph: Graph) -> str:
    lines = ["digraph qtree {",
             f"  label={_quote(f'QEMU {graph.qemu}, machine {graph.machine}')};",
             "  labelloc=t;", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];',
             '  edge [arrowsize=0.6];']
    counter = iter(range(1_000_000))
    _bus(graph.root, graph.value_style, lines, counter)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _bus(bus: Bus, style: str, lines: list[str], counter) -> str:  # type: ignore[no-untyped-def]
    name = f"b{next(counter)}"
    label = _quote(bus.name + "\n" + bus.type)
    lines.append(f"  {name} [shape=ellipse, label={label}];")
    for device in bus.devices:
        lines.append(f"  {name} -> {_device(device, style, lines, counter)};")
    return name


def _device(device: Device, style: str, lines: list[str], counter) -> str:  # type: ignore[no-untyped-def]
    name = f"d{next(counter)}"
    label = [device.type] + ([f'id "{device.id}"'] if device.id else [])
    label += [f"{p.name} = {format_prop(p, style)}" for p in device.props
              if p.name in SHOWN_PROPS]
    text = _quote("\n".join(label))
    lines.append(f"  {name} [shape=box, label={text}];")
    for bus in shown_buses(device):
        lines.append(f"  {name} -> {_bus(bus, style, lines, counter)};")
    return name


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def dot_to_svg(dot_text: str) -> str:
    """SVG from Graphviz's `dot` program; UsageError in one line when it is missing."""
    program = shutil.which("dot")
    if program is None:
        raise UsageError("--format svg needs Graphviz's 'dot' program "
                         "(Debian: apt-get install graphviz); --format dot writes its input")
    result = subprocess.run([program, "-Tsvg"], input=dot_text, capture_output=True,
                            text=True, timeout=60)
    if result.returncode != 0:
        raise UsageError(f"dot failed: {result.stderr.strip().splitlines()[0]}")
    return result.stdout
