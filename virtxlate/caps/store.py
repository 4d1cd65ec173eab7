"""The shipped form of a capability table: the schemas/caps.xsd document as compact JSON.

Each element is [tag, {attributes}, [children]] or [tag, {attributes}, "text"]; the file
holds one top-level element per line, so a rebuild's diff reads per device type.  JSON
loads several times faster than XML and needs no validation at start: the build step and
the tests validate every table's XML form against the schema (to_element).
"""

from __future__ import annotations

import json
from typing import Any

from lxml import etree

Node = list[Any]


def to_node(element: etree._Element) -> Node:
    children = [child for child in element if isinstance(child.tag, str)]
    if children:
        return [element.tag, dict(element.attrib), [to_node(child) for child in children]]
    text = (element.text or "").strip()
    return (
        [element.tag, dict(element.attrib), text] if text else [element.tag, dict(element.attrib)]
    )


def to_element(node: Node) -> etree._Element:
    element = etree.Element(node[0], node[1])
    if len(node) > 2:
        if isinstance(node[2], str):
            element.text = node[2]
        else:
            element.extend(to_element(child) for child in node[2])
    return element


def dumps(element: etree._Element) -> str:
    node = to_node(element)
    head = json.dumps([node[0], node[1]], ensure_ascii=False, separators=(",", ":"))[:-1]
    lines = [json.dumps(child, ensure_ascii=False, separators=(",", ":")) for child in node[2]]
    return head + ",[\n" + ",\n".join(lines) + "\n]]\n"
