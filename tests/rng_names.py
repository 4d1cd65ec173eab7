"""What libvirt's RelaxNG schema allows inside each element, for the model's path test.

For every element name the schema defines (all its definitions merged), the names of
the child elements and attributes it may carry, found by following <ref>s without
entering another <element>.  Coarse on purpose: it answers "can <driver> under
<interface> carry @queues", not in which combination.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from lxml import etree

RNG = "{http://relaxng.org/ns/structure/1.0}"
SCHEMAS = Path("/usr/share/libvirt/schemas")
FILES = (
    "domainoverrides.rng",
    "domaincommon.rng",
    "basictypes.rng",
    "storagecommon.rng",
    "networkcommon.rng",
    "cputypes.rng",
    "nwfilter_params.rng",
    "privatedata.rng",
)


class Allowed:
    """element name → (child element names, attribute names)."""

    def __init__(self, folder: Path = SCHEMAS):
        self.defines: dict[str, list[etree._Element]] = defaultdict(list)
        for name in FILES:
            path = folder / name
            if path.is_file():
                for node in etree.parse(str(path)).iter(f"{RNG}define"):
                    self.defines[node.get("name", "")].append(node)
        self.children: dict[str, set[str]] = defaultdict(set)
        self.attributes: dict[str, set[str]] = defaultdict(set)
        # (element, attribute) → the <value>s the schema lists for it; an attribute with
        # a data type (an integer, a path, a pattern) among its choices gets "*" too
        self.values: dict[tuple[str, str], set[str]] = defaultdict(set)
        for nodes in self.defines.values():
            for define in nodes:
                for element in define.iter(f"{RNG}element"):
                    name = _name_of(element)
                    if name:
                        self._collect(name, element, set())

    def _collect(self, owner: str, node: etree._Element, seen: set[str]) -> None:
        for child in node:
            if not isinstance(child.tag, str):
                continue
            if child.tag == f"{RNG}element":
                name = _name_of(child)
                if name:
                    self.children[owner].add(name)
            elif child.tag == f"{RNG}attribute":
                name = _name_of(child)
                if name:
                    self.attributes[owner].add(name)
                    self.values[(owner, name)] |= self._values(child, set())
            elif child.tag == f"{RNG}ref":
                ref = child.get("name", "")
                if ref not in seen:  # bound: each define is followed once per element
                    seen.add(ref)
                    for define in self.defines.get(ref, ()):
                        self._collect(owner, define, seen)
            else:
                self._collect(owner, child, seen)

    def _values(self, node: etree._Element, seen: set[str]) -> set[str]:
        found: set[str] = set()
        for child in node.iter():
            if child.tag == f"{RNG}value":
                found.add(child.text or "")
            elif child.tag in (f"{RNG}data", f"{RNG}text"):
                found.add("*")
            elif child.tag == f"{RNG}ref":
                ref = child.get("name", "")
                if ref not in seen:
                    seen.add(ref)
                    for define in self.defines.get(ref, ()):
                        found |= self._values(define, seen)
        return found

    def known(self, element: str) -> bool:
        return element in self.children or element in self.attributes


def _name_of(node: etree._Element) -> str | None:
    name = node.get("name")
    if name is None:
        child = node.find(f"{RNG}name")
        name = child.text if child is not None else None
    return name
