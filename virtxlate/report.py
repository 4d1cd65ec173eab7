"""Findings as text, like a compiler: location, severity, code, message, the line, a caret."""

from __future__ import annotations

from .findings import Finding
from .model import Domain


def text_report(findings: list[Finding], domain: Domain | None = None) -> str:
    source_lines = _source_lines(domain)
    out = []
    for finding in findings:
        out.append(f"{finding.location()}: {finding.severity}: {finding.code}: {finding.message}")
        if finding.xpath:
            out.append(f"  at {finding.xpath}")
        text = source_lines[finding.line - 1] if 0 < finding.line <= len(source_lines) else None
        if text is not None and text.strip():
            stripped = text.rstrip()
            out.append(f"  | {stripped}")
            out.append("  | " + " " * _caret_column(stripped, finding.xpath) + "^")
        if finding.since:
            out.append(f"  since: QEMU {finding.since}")
        if finding.hint:
            out.append(f"  hint: {finding.hint}")
    return "\n".join(out) + ("\n" if out else "")


def _caret_column(line: str, xpath: str) -> int:
    """Under the offending attribute when the XPath names one, else under the element."""
    tail = xpath.rsplit("/", 1)[-1]
    if tail.startswith("@"):
        column = line.find(f" {tail[1:]}=")
        if column >= 0:
            return column + 1
    element = tail.split("[", 1)[0]
    column = line.find(f"<{element}")
    return column if column >= 0 else len(line) - len(line.lstrip())


def _source_lines(domain: Domain | None) -> list[str]:
    if domain is None or domain.document is None:
        return []
    return domain.document.source_text.splitlines()
