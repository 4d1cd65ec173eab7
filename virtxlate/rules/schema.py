"""Layer 1 of check: the XSD in schemas/domain-storage.xsd.

Each error is reported at the element or attribute that is wrong, with its line, by
xmlschema (the schema is XSD 1.1: open to everything that is not storage).  xmlschema is
pure Python and slow to import and build (~0.4 s), so a domain is first validated by
lxml's C validator against the same schema in XSD 1.0 form — the open content taken out
of the schema and, equally, out of a copy of the domain (undeclared elements and
attributes, which the open content allows anyway; a domain that holds the schema as
it is needs no copy) — and xmlschema is built only for a domain that fails it, to
explain the failure.  What each declaration declares is read
from the XSD with lxml (`_projection`), not from xmlschema, so a valid domain never
imports xmlschema.  tests/test_schema_fast.py checks that lxml never accepts what
xmlschema refuses, on every sample, corpus file, check variant and on fuzzed domains,
and tests/test_schema_projection.py that `_projection` declares what xmlschema reads.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import TYPE_CHECKING

from lxml import etree

from ..findings import Finding
from ..resources import schema_path
from ..xmlinput import XmlDocument

if TYPE_CHECKING:
    import xmlschema

_ATTRIBUTE_RE = re.compile(r"attribute (?P<name>[\w:-]+)=")
_XS = "{http://www.w3.org/2001/XMLSchema}"
_MODEL_GROUPS = (f"{_XS}sequence", f"{_XS}all", f"{_XS}choice")
# bounds the walk over the XSD's declarations (references could otherwise loop)
_MAX_DEPTH = 64


@functools.cache
def _schema() -> xmlschema.XMLSchema11:
    import xmlschema  # built only to explain a failure: slow to import and to build

    return xmlschema.XMLSchema11(str(schema_path("domain-storage.xsd")))


@functools.cache
def _xsd_tree() -> etree._ElementTree:
    return etree.parse(str(schema_path("domain-storage.xsd")))


@functools.cache
def _fast_schema() -> etree.XMLSchema:
    """The same schema without XSD 1.1's open content, for lxml."""
    tree = copy.deepcopy(_xsd_tree())
    root = tree.getroot()
    for node in root.findall(f"{_XS}defaultOpenContent"):
        root.remove(node)
    for name in list(root.attrib):
        if name == "defaultAttributes" or "XMLSchema-versioning" in name:
            del root.attrib[name]
    return etree.XMLSchema(tree)


class _Declared:
    """What an element declaration with element content declares: its child elements
    (name → declaration; None for a simple-typed child, which is not projected) and
    its attributes.  Everything else there is open content."""

    __slots__ = ("children", "attributes")

    def __init__(self) -> None:
        self.children: dict[str, _Declared | None] = {}
        self.attributes: frozenset[str] = frozenset()


class _Reader:
    """Reads the XSD's declarations as xmlschema resolves them: named complex types,
    references to global elements, untyped elements (xs:anyType: nothing declared)."""

    def __init__(self, root: etree._Element) -> None:
        self._globals = {node.get("name"): node for node in root.iterfind(f"{_XS}element")}
        self._types = {node.get("name"): node for node in root.iterfind(f"{_XS}complexType")}
        self._done: dict[etree._Element, _Declared | None] = {}

    def roots(self) -> dict[str, _Declared | None]:
        return {name: self.element(node, 0) for name, node in self._globals.items()}

    def element(self, node: etree._Element, depth: int) -> _Declared | None:
        ref = node.get("ref")
        if ref is not None:
            node = self._globals[ref]
        type_name = node.get("type")
        if type_name is not None:
            complex_type = self._types.get(type_name)
            if complex_type is None:
                return None  # a simple type
            return self.complex_type(complex_type, depth)
        inline = node.find(f"{_XS}complexType")
        if inline is not None:
            return self.complex_type(inline, depth)
        if node.find(f"{_XS}simpleType") is not None:
            return None
        return _Declared()  # xs:anyType

    def complex_type(self, node: etree._Element, depth: int) -> _Declared | None:
        if node in self._done:
            return self._done[node]
        if depth > _MAX_DEPTH:
            raise ValueError("domain-storage.xsd: declarations nested too deep")
        if (
            node.find(f"{_XS}simpleContent") is not None
            or node.find(f"{_XS}complexContent") is not None
        ):
            self._done[node] = None  # text content (or derived): not projected
            return None
        declared = _Declared()
        self._done[node] = declared
        declared.attributes = frozenset(
            attribute.get("name") for attribute in node.iterfind(f"{_XS}attribute")
        )
        for group in node:
            if group.tag in _MODEL_GROUPS:
                self._group(group, declared, depth)
        return declared

    def _group(self, group: etree._Element, declared: _Declared, depth: int) -> None:
        for particle in group:
            if particle.tag == f"{_XS}element":
                name = particle.get("ref") or particle.get("name")
                declared.children[name] = self.element(particle, depth + 1)
            elif particle.tag in _MODEL_GROUPS:
                self._group(particle, declared, depth)


@functools.cache
def _projection() -> dict[str, _Declared | None]:
    """The global element declarations (the roots a document may have), read with lxml."""
    return _Reader(_xsd_tree().getroot()).roots()


def _project(element: etree._Element, declared: _Declared) -> None:
    """Remove what the open content allows: undeclared children and attributes."""
    for name in list(element.attrib):
        if name not in declared.attributes:
            del element.attrib[name]
    for child in list(element):
        if not isinstance(child.tag, str):
            continue  # comments and processing instructions are always allowed
        if child.tag not in declared.children:
            _remove_keeping_tail(element, child)
            continue
        child_declared = declared.children[child.tag]
        if child_declared is not None:
            _project(child, child_declared)


def _remove_keeping_tail(parent: etree._Element, child: etree._Element) -> None:
    """lxml removes an element's tail text with it: the text after it stays, since
    stray text between elements is itself something the schema refuses."""
    if child.tail:
        previous = child.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + child.tail
        else:
            parent.text = (parent.text or "") + child.tail
    parent.remove(child)


def _projected(document: XmlDocument) -> etree._Element | None:
    """A copy of the domain without what the open content allows (None: a root the
    schema does not declare)."""
    root = document.root
    roots = _projection()
    if not isinstance(root.tag, str) or root.tag not in roots:
        return None
    projected = copy.deepcopy(root)
    declared = roots[root.tag]
    if declared is not None:
        _project(projected, declared)
    return projected


def fast_valid(document: XmlDocument) -> bool:
    """lxml's verdict on the domain (True: the storage schema holds)."""
    return _fast_verdict(document)[0]


def _fast_verdict(document: XmlDocument) -> tuple[bool, etree._Element | None]:
    """(lxml's verdict, the projected copy when one was made).  A domain that holds the
    strict schema as it is holds it projected too (the projection takes out only what
    the schema does not declare, and nothing such is there but the content of
    <readonly/>-like elements of any type and <iotune>'s optional wildcard, which may
    be left empty): no copy is made for it."""
    if _fast_schema().validate(document.root):
        return True, None
    projected = _projected(document)
    return projected is not None and bool(_fast_schema().validate(projected)), projected


def schema_findings(document: XmlDocument) -> list[Finding]:
    valid, projected = _fast_verdict(document)
    if valid:
        return []
    # xmlschema explains the projected copy: what the open content allows (any number
    # of unknown attributes or elements, 100,000 of them in a hostile input) is not
    # there to slow it down, and the elements kept have the original's lines and paths
    # (only whole kinds of element are taken out, so the positions in paths hold)
    target = projected if projected is not None else document.root
    tree = target.getroottree() if projected is not None else document.tree
    findings = []
    for error in _schema().iter_errors(target):
        element = error.elem
        line = getattr(element, "sourceline", None) or 0
        xpath = tree.getpath(element) if isinstance(element, etree._Element) else (error.path or "")
        reason = (error.reason or str(error)).strip().rstrip(":")
        match = _ATTRIBUTE_RE.match(reason)
        if match:
            xpath += f"/@{match.group('name')}"
        tag = getattr(element, "tag", None)
        tag = tag if isinstance(tag, str) else "element"
        findings.append(
            Finding(
                code="VX0101",
                severity="error",
                message=f"<{tag}>: {reason}",
                source=document.source,
                line=line,
                xpath=xpath,
                hint="see https://libvirt.org/formatdomain.html#hard-drives-floppy-disks-cdroms",
            )
        )
    return findings
