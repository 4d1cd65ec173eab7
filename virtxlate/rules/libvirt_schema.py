"""`check --libvirt-schema`: libvirt's own RelaxNG schema, when installed, run by lxml.

libvirt reports a RelaxNG failure at the element it gave up on; each error here keeps
the line and path libxml2 names.  Only whole domains are checked: the schema's start
is <domain>.
"""

from __future__ import annotations

import functools
from pathlib import Path

from lxml import etree

from ..errors import UsageError
from ..findings import Finding
from ..xmlinput import XmlDocument

LIBVIRT_DOMAIN_RNG = Path("/usr/share/libvirt/schemas/domain.rng")


@functools.cache
def _relaxng(path: Path) -> etree.RelaxNG:
    if not path.is_file():
        raise UsageError(f"libvirt's schema {path} is not installed (Debian: libvirt0)")
    try:
        return etree.RelaxNG(file=str(path))
    except etree.RelaxNGParseError as exc:
        raise UsageError(f"{path}: not a RelaxNG schema lxml can read: {exc}") from None


def libvirt_schema_findings(
    document: XmlDocument, path: Path = LIBVIRT_DOMAIN_RNG
) -> list[Finding]:
    schema = _relaxng(path)
    if document.root.tag != "domain" or schema.validate(document.tree):
        return []
    return [
        Finding(
            "VX0102",
            "error",
            f"libvirt's RelaxNG schema: {entry.message}",
            document.source,
            entry.line,
            entry.path or "",
            hint=f"validated with {path}",
        )
        for entry in schema.error_log
    ]
