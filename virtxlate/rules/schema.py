"""Layer 1 of check: the XSD in schemas/domain-storage.xsd, applied with xmlschema.

Each error is reported at the element or attribute that is wrong, with its line.
"""

from __future__ import annotations

import functools
import re

from lxml import etree

from ..findings import Finding
from ..resources import schema_path
from ..xmlinput import XmlDocument

_ATTRIBUTE_RE = re.compile(r"attribute (?P<name>[\w:-]+)=")


@functools.cache
def _schema():  # type: ignore[no-untyped-def]
    import xmlschema  # compiled once per process, on first use

    return xmlschema.XMLSchema11(str(schema_path("domain-storage.xsd")))


def schema_findings(document: XmlDocument) -> list[Finding]:
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
