"""Findings as text, like a compiler: location, severity, code, message, the line, a caret.

The quoted line is cut to a window around the caret (SNIPPET_WIDTH characters, an
ellipsis where it was cut): a domain written on one line quotes a few dozen characters
per finding, not the whole domain each time.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from lxml import etree

from .caps import CapsTable
from .findings import Finding
from .model import Domain

SNIPPET_WIDTH = 100  # characters of the quoted line, at most
_BEFORE = 30  # of them before the caret, when the line is cut


def text_report(findings: list[Finding], domain: Domain | None = None) -> str:
    source = _Source(domain)
    out = []
    for finding in findings:
        out.append(
            f"{finding.location()}: {finding.severity}: {finding.code}: "
            f"{_one_line(finding.message)}"
        )
        if finding.xpath:
            out.append(f"  at {_one_line(finding.xpath)}")
        text = source.line(finding.line)
        if text is not None and text.strip():
            stripped = text.rstrip()
            quoted, caret = snippet(stripped, source.caret_column(stripped, finding))
            out.append(f"  | {quoted}")
            out.append("  | " + " " * caret + "^")
        if finding.since:
            out.append(f"  since: QEMU {finding.since}")
        if finding.hint:
            out.append(f"  hint: {_one_line(finding.hint)}")
    return "\n".join(out) + ("\n" if out else "")


def snippet(line: str, column: int, width: int = SNIPPET_WIDTH) -> tuple[str, int]:
    """LINE cut to at most WIDTH characters around COLUMN (an ellipsis on each side that
    was cut), and where COLUMN lands in the cut text."""
    line = line.expandtabs(1)
    if len(line) <= width:
        return line, column
    start = max(0, min(column - _BEFORE, len(line) - width + 1))
    end = start + width - (1 if start else 0) - 1
    text = ("…" if start else "") + line[start:end] + ("…" if end < len(line) else "")
    return text, column - start + (1 if start else 0)


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


class _Source:
    """The lines of a domain's input, and where on a line a finding's node starts."""

    def __init__(self, domain: Domain | None):
        self.document = domain.document if domain is not None else None
        # libxml2 counts lines at LF only (a CR LF ends one line; other separators none)
        self.lines = self.document.source_text.split("\n") if self.document else []
        self._ordinals: dict[Any, int] | None = None
        self._starts: dict[tuple[str, str], list[int]] = {}

    def line(self, number: int) -> str | None:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else None

    def caret_column(self, line: str, finding: Finding) -> int:
        """Under the offending attribute when the XPath names one, else under the
        element: the n-th element of that name on its line when several share it."""
        tail = finding.xpath.rsplit("/", 1)[-1]
        attribute = tail[1:] if tail.startswith("@") else None
        element_xpath = finding.xpath.rsplit("/", 1)[0] if attribute else finding.xpath
        element = element_xpath.rsplit("/", 1)[-1].split("[", 1)[0].split(":")[-1]
        starts = self._element_starts(line, element)
        ordinal = self._ordinal(element_xpath) if len(starts) > 1 else 0
        start = starts[ordinal] if ordinal < len(starts) else (starts[0] if starts else -1)
        if attribute:
            column = line.find(f" {attribute}=", max(start, 0))
            if column >= 0:
                return column + 1
        return start if start >= 0 else len(line) - len(line.lstrip())

    def _element_starts(self, line: str, element: str) -> list[int]:
        """Where each <ELEMENT starts on LINE (found once per line and name)."""
        key = (line, element)
        if key not in self._starts:
            starts, column = [], line.find(f"<{element}")
            while column >= 0:
                starts.append(column)
                column = line.find(f"<{element}", column + 1)
            self._starts[key] = starts
        return self._starts[key]

    def _ordinal(self, xpath: str) -> int:
        """How many elements of the same name start before the XPath's node on its line."""
        if self.document is None or not xpath.startswith("/"):
            return 0
        try:
            found = self.document.tree.xpath(xpath)
        except (etree.XPathError, ValueError):
            return 0
        if not found or not isinstance(found[0], etree._Element):
            return 0
        if self._ordinals is None:
            self._ordinals = {}
            counts: Counter[tuple[int | None, Any]] = Counter()
            for node in self.document.tree.iter():
                key = (node.sourceline, node.tag)
                self._ordinals[node] = counts[key]
                counts[key] += 1
        return self._ordinals.get(found[0], 0)


def matrix_text(
    common: list[Finding],
    per_release: list[tuple[CapsTable, list[Finding]]],
    domain: Domain | None = None,
) -> str:
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
        rows.append(
            (table.version, "refused" if errors else "ok", str(errors), str(_warnings(every)))
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    out.append(
        "".join(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            + "\n"
            for row in rows
        )
    )
    return "\n".join(out)


def matrix_json(
    common: list[Finding], per_release: list[tuple[CapsTable, list[Finding]]]
) -> list[dict[str, Any]]:
    """One object per release: its verdict and every finding that applies to it."""
    result = []
    for table, findings in per_release:
        every = common + findings
        errors = sum(f.is_error for f in every)
        result.append(
            {
                "qemu": table.version,
                "release": table.release,
                "ok": not errors,
                "errors": errors,
                "warnings": _warnings(every),
                "findings": [f.to_json() for f in every],
            }
        )
    return result


def _warnings(findings: list[Finding]) -> int:
    return sum(f.severity == "warning" for f in findings)  # info findings are neither
