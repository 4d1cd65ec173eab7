"""Layer 1 of check: the XSD in schemas/domain-storage.xsd.

Each error is reported at the element or attribute that is wrong, with its line, by
xmlschema (the schema is XSD 1.1: open to everything that is not storage).  xmlschema is
pure Python, so a domain is first validated by lxml's C validator against the same
schema in XSD 1.0 form — the open content taken out of the schema and, equally, out of a
copy of the domain (undeclared elements and attributes, which the open content allows
anyway) — and only a domain that fails it goes through xmlschema for the findings.
tests/test_schema_fast.py checks that lxml never accepts what xmlschema refuses, on
every sample, corpus file, check variant and on fuzzed domains.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

from lxml import etree

from ..findings import Finding
from ..resources import schema_path
from ..xmlinput import XmlDocument

_ATTRIBUTE_RE = re.compile(r"attribute (?P<name>[\w:-]+)=")
_XS = "{http://www.w3.org/2001/XMLSchema}"


@functools.cache
def _schema():  # type: ignore[no-untyped-def]
    import xmlschema  # compiled once per process, on first use

    return xmlschema.XMLSchema11(str(schema_path("domain-storage.xsd")))


@functools.cache
def _fast_schema() -> etree.XMLSchema:
    """The same schema without XSD 1.1's open content, for lxml."""
    tree = etree.parse(str(schema_path("domain-storage.xsd")))
    root = tree.getroot()
    for node in root.findall(f"{_XS}defaultOpenContent"):
        root.remove(node)
    for name in list(root.attrib):
        if name == "defaultAttributes" or "XMLSchema-versioning" in name:
            del root.attrib[name]
    return etree.XMLSchema(tree)


# an element declaration → ({child name: its declaration}, {attribute names})
_Declared = dict[str, Any]


@functools.cache
def _declarations() -> dict[str, tuple[dict[str, Any], frozenset[str]]]:
    """Per declaration (by id), what it declares: child elements and attributes."""
    table: dict[str, tuple[dict[str, Any], frozenset[str]]] = {}

    def visit(decl: Any) -> None:
        key = str(id(decl))
        if key in table:
            return
        content = getattr(decl.type, "content", None)
        children = {child.name: child for child in content.iter_elements()
                    if getattr(child, "name", None)} if content is not None \
            and hasattr(content, "iter_elements") else {}
        attributes = frozenset(name for name in getattr(decl.type, "attributes", {})
                               if name is not None)
        table[key] = (children, attributes)
        for child in children.values():
            visit(child)

    for decl in _schema().elements.values():
        visit(decl)
    return table


def _project(element: etree._Element, decl: Any) -> None:
    """Remove what the open content allows: undeclared children and attributes."""
    declared = _declarations().get(str(id(decl)))
    if declared is None or not hasattr(decl.type, "content") \
            or not hasattr(decl.type.content, "iter_elements"):
        return   # a simple-typed element: nothing open about it
    children, attributes = declared
    for name in list(element.attrib):
        if name not in attributes:
            del element.attrib[name]
    for child in list(element):
        if not isinstance(child.tag, str):
            continue   # comments and processing instructions are always allowed
        child_decl = children.get(child.tag)
        if child_decl is None:
            _remove_keeping_tail(element, child)
        else:
            _project(child, child_decl)


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


def fast_valid(document: XmlDocument) -> bool:
    """lxml's verdict on the projected domain (True: the storage schema holds)."""
    root = document.root
    decl = _schema().elements.get(root.tag) if isinstance(root.tag, str) else None
    if decl is None:
        return False
    projected = copy.deepcopy(root)
    _project(projected, decl)
    return _fast_schema().validate(projected)


def schema_findings(document: XmlDocument) -> list[Finding]:
    if fast_valid(document):
        return []
    findings = []
    for error in _schema().iter_errors(document.root):
        element = error.elem
        line = getattr(element, "sourceline", None) or 0
        xpath = document.tree.getpath(element) if isinstance(element, etree._Element) \
            else (error.path or "")
        reason = (error.reason or str(error)).strip().rstrip(":")
        match = _ATTRIBUTE_RE.match(reason)
        if match:
            xpath += f"/@{match.group('name')}"
        tag = element.tag if isinstance(getattr(element, "tag", None), str) else "element"
        findings.append(Finding(
            code="VX0101", severity="error", message=f"<{tag}>: {reason}",
            source=document.source, line=line, xpath=xpath,
            hint="see https://libvirt.org/formatdomain.html#hard-drives-floppy-disks-cdroms",
        ))
    return findings
