"""The projection the fast validator applies is read from the XSD with lxml (so that a
valid domain never builds xmlschema); it must declare, for every element, exactly the
children and attributes xmlschema reads from the same XSD 1.1 schema.  And a valid
domain is checked without importing xmlschema at all (issue 18: start-up)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from conftest import SAMPLES

from virtxlate.rules.schema import _Declared, _projection, _schema


def _from_xmlschema(decl: Any, depth: int = 0) -> Any:
    """xmlschema's view of DECL: None where the element has no element content (not
    projected), else (attributes, {child: view})."""
    assert depth < 64
    content = getattr(decl.type, "content", None)
    if content is None or not hasattr(content, "iter_elements"):
        return None
    children = {
        child.name: _from_xmlschema(child, depth + 1)
        for child in content.iter_elements()
        if getattr(child, "name", None)
    }
    attributes = frozenset(
        name for name in getattr(decl.type, "attributes", {}) if name is not None
    )
    return (attributes, children)


def _from_lxml(declared: _Declared | None) -> Any:
    if declared is None:
        return None
    return (
        declared.attributes,
        {name: _from_lxml(child) for name, child in declared.children.items()},
    )


def test_the_projection_declares_what_xmlschema_reads():
    expected = {name: _from_xmlschema(decl) for name, decl in _schema().elements.items()}
    got = {name: _from_lxml(declared) for name, declared in _projection().items()}
    assert got == expected
    assert set(got) == {"domain", "devices", "controller", "disk"}
    disk = _projection()["disk"]
    assert disk is not None and "target" in disk.children and "type" in disk.attributes


def test_a_valid_domain_is_checked_without_xmlschema():
    code = (
        "import sys\n"
        "from virtxlate.rules.schema import schema_findings\n"
        "from virtxlate.xmlinput import load_document\n"
        f"assert schema_findings(load_document({str(SAMPLES / 'seed-virtio-scsi.xml')!r})) == []\n"
        "print('xmlschema' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
