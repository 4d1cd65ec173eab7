"""Findings as text, like a compiler: location, severity, code, message, the line, a caret."""

from __future__ import annotations

from typing import Any

from .caps import CapsTable
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


def matrix_text(common: list[Finding], per_release: list[tuple[CapsTable, list[Finding]]],
                domain: Domain | None = None) -> str:
    """The findings of every release once, each release's own under its name, then a
    table: release × verdict."""
    out = [text_report(common, domain)] if common else []
    for table, findings in per_release:
        if findings:
            out.append(f"QEMU {table.version}:\n" + text_report(findings, domain))
    rows = [("QEMU", "verdict", "errors", "warnings")]
    for table, findings in per_release:
        every = common + findings
        errors = sum(f.is_error for f in every)
        rows.append((table.version, "refused" if errors else "ok", str(errors),
                     str(len(every) - errors)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    out.append("".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths,
                                                                         strict=True)
                                 ).rstrip() + "\n" for row in rows))
    return "\n".join(out)


def matrix_json(common: list[Finding], per_release: list[tuple[CapsTable, list[Finding]]]
                ) -> list[dict[str, Any]]:
    """One object per release: its verdict and every finding that applies to it."""
    result = []
    for table, findings in per_release:
        every = common + findings
        errors = sum(f.is_error for f in every)
        result.append({"qemu": table.version, "release": table.release, "ok": not errors,
                       "errors": errors, "warnings": len(every) - errors,
                       "findings": [f.to_json() for f in every]})
    return result
