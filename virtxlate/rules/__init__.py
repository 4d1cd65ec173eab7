"""Pre-flight checks: schema, libvirt's own rules, and release gates from the tables."""

from __future__ import annotations

from ..caps import CapsTable
from ..errors import InvalidValue
from ..findings import Finding
from ..model import Domain
from .consistency import consistency_findings
from .lints import lint_findings
from .machine import machine_findings
from .release import release_findings
from .schema import schema_findings


def check_domain(domain: Domain, tables: list[CapsTable]) -> list[Finding]:
    """Every finding for DOMAIN: what holds for any release, then each release's own
    (what the translation refuses is api.check's)."""
    common, per_release = check_releases(domain, tables)
    return common + [finding for _, findings in per_release for finding in findings]


def check_releases(
    domain: Domain, tables: list[CapsTable]
) -> tuple[list[Finding], list[tuple[CapsTable, list[Finding]]]]:
    """(the findings of any release: schema, libvirt's rules, lints; each table with the
    findings of its release: gates and machine rules; api.check adds what the
    translation refuses).
    The model's rules and the release gates run only when the schema holds (their
    inputs are then well-formed)."""
    common: list[Finding] = []
    if domain.document is not None:
        common.extend(schema_findings(domain.document))
    if common:
        return common, [(table, []) for table in tables]
    per_release: list[tuple[CapsTable, list[Finding]]] = []
    try:
        common.extend(consistency_findings(domain))
        common.extend(lint_findings(domain))
        for table in tables:
            found = release_findings(domain, table) + machine_findings(domain, table)
            per_release.append((table, [f.at(domain.user_xpath(f.xpath)) for f in found]))
    except InvalidValue as exc:
        common.append(Finding("VX0100", "error", exc.message, domain.source, exc.line, exc.xpath))
        per_release = [(table, []) for table in tables]
    return [f.at(domain.user_xpath(f.xpath)) for f in common], per_release


__all__ = ["Finding", "check_domain", "check_releases"]
