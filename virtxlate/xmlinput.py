"""Hardened reading of libvirt domain XML: a whole <domain> or a storage fragment.

No DTDs, no entities, no network, no huge trees; element line numbers are kept so
that every message can point at the line the user wrote.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from .errors import InputError

RootKind = Literal["domain", "devices", "controller", "disk"]
ROOT_KINDS: tuple[str, ...] = ("domain", "devices", "controller", "disk")

# One parser for the whole process: entity resolution off, no DTD loading or
# validation, no network access, libxml2's default size limits (huge_tree off).
_PARSER = etree.XMLParser(
    resolve_entities=False,
    load_dtd=False,
    dtd_validation=False,
    no_network=True,
    huge_tree=False,
    remove_blank_text=False,
    remove_comments=False,
    remove_pis=False,
)


@dataclass
class XmlDocument:
    """A parsed input: the original tree (written back unchanged) and where it came from."""

    tree: etree._ElementTree
    source: str
    kind: RootKind
    source_text: str = ""

    @property
    def root(self) -> etree._Element:
        return self.tree.getroot()

    def to_xml(self) -> str:
        """The document as it was read, with everything virtxlate does not know kept."""
        return etree.tostring(self.tree, encoding="unicode")


def read_bytes(path: str) -> tuple[bytes, str]:
    """Read PATH, or standard input for ``-``; return the bytes and a name for messages."""
    if path == "-":
        return sys.stdin.buffer.read(), "<stdin>"
    try:
        with open(path, "rb") as handle:
            return handle.read(), path
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(f"cannot read: {reason}", source=path, line=0) from None


def parse_bytes(data: bytes, source: str = "<input>") -> XmlDocument:
    """Parse DATA as a domain or fragment; raise InputError with file and line on any problem."""
    if not data.strip():
        raise InputError("empty input: expected a <domain>, <devices>, <controller> or <disk>",
                         source=source, line=1)
    try:
        tree = etree.ElementTree(etree.fromstring(data, _PARSER))
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or (exc.position[0] if exc.position else 0)
        message = _clean_libxml_message(exc.msg or str(exc))
        raise InputError(f"malformed XML: {message}", source=source, line=line) from None
    _refuse_dtd(tree, source, data)
    root = tree.getroot()
    kind = _root_kind(root, source)
    return XmlDocument(tree=tree, source=source, kind=kind,
                       source_text=data.decode("utf-8", errors="replace"))


def parse_text(text: str, source: str = "<input>") -> XmlDocument:
    return parse_bytes(text.encode("utf-8"), source)


def load_document(path_or_xml: str | os.PathLike[str]) -> XmlDocument:
    """A file path, ``-`` for standard input, or XML text itself (starting with ``<``)."""
    text = os.fspath(path_or_xml)
    if text.lstrip().startswith("<"):
        return parse_text(text)
    data, source = read_bytes(text)
    return parse_bytes(data, source)


def _refuse_dtd(tree: etree._ElementTree, source: str, data: bytes) -> None:
    # libvirt never writes a DOCTYPE; one in a domain XML is at best noise and at
    # worst an entity-expansion bomb or an external entity pointing at a host file.
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        line = data[:data.find(b"<!DOCTYPE")].count(b"\n") + 1 if b"<!DOCTYPE" in data else 1
        raise InputError("DOCTYPE declarations and entities are not allowed in domain XML",
                         source=source, line=line)
    for node in tree.iter(etree.Entity):
        raise InputError(f"entity reference &{node.name}; is not allowed",
                         source=source, line=node.sourceline or 0)


def _root_kind(root: etree._Element, source: str) -> RootKind:
    tag = root.tag if isinstance(root.tag, str) else ""
    if tag not in ROOT_KINDS:
        shown = etree.QName(root).localname if tag else str(root.tag)
        raise InputError(
            f"root element <{shown}> is not a <domain>, <devices>, <controller> or <disk>",
            source=source, line=root.sourceline or 1)
    return tag  # type: ignore[return-value]


def _clean_libxml_message(message: str) -> str:
    # libxml2 appends ", line N, column M" which we already give as FILE:LINE.
    # It may also quote the offending text on a line of its own: the first line says it.
    head, _, _ = message.partition(", line ")
    return head.strip().splitlines()[0] if head.strip() else message.strip()
