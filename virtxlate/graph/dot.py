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
    lines = [
        "digraph qtree {",
        f"  label={_quote(f'QEMU {graph.qemu}, machine {graph.machine}')};",
        "  labelloc=t;",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=10];',
        "  edge [arrowsize=0.6];",
    ]
    _walk(graph.root, graph.value_style, lines)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _walk(root: Bus, style: str, lines: list[str]) -> None:
    """Each node's line, then for each child its subtree and the edge to it (names
    numbered in that order), with a stack, not recursion: a chain of bridges may nest
    256 deep."""
    number = 0
    # ("node", NODE, PARENT NAME or None) visits; ("edge", LINE, None) writes after a subtree
    stack: list[tuple[str, Bus | Device | str, str | None]] = [("node", root, None)]
    while stack:
        kind, item, parent = stack.pop()
        if kind == "edge":
            lines.append(str(item))
            continue
        if isinstance(item, Bus):
            name = f"b{number}"
            label = _quote(item.name + "\n" + item.type)
            lines.append(f"  {name} [shape=ellipse, label={label}];")
            children: list[Bus | Device] = list(item.devices)
        else:
            assert isinstance(item, Device)
            name = f"d{number}"
            label_lines = [item.type] + ([f'id "{item.id}"'] if item.id else [])
            label_lines += [
                f"{p.name} = {format_prop(p, style)}" for p in item.props if p.name in SHOWN_PROPS
            ]
            lines.append(f"  {name} [shape=box, label={_quote(chr(10).join(label_lines))}];")
            children = list(shown_buses(item))
        number += 1
        if parent is not None:
            # the edge follows the child's subtree: pushed below the child's own work
            stack.append(("edge", f"  {parent} -> {name};", None))
        stack.extend(("node", child, name) for child in reversed(children))


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def dot_to_svg(dot_text: str) -> str:
    """SVG from Graphviz's `dot` program; UsageError in one line when it is missing."""
    program = shutil.which("dot")
    if program is None:
        raise UsageError(
            "--format svg needs Graphviz's 'dot' program "
            "(Debian: apt-get install graphviz); --format dot writes its input"
        )
    result = subprocess.run(
        [program, "-Tsvg"], input=dot_text, capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0:
        raise UsageError(f"dot failed: {result.stderr.strip().splitlines()[0]}")
    return result.stdout
