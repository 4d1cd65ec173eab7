"""Pre-flight checks: schema, libvirt's own rules, and release gates from the tables."""

from __future__ import annotations

from dataclasses import replace

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
    """Every finding for DOMAIN: schema first; the model's rules and the release gates
    only when the schema holds (their inputs are then well-formed)."""
    findings: list[Finding] = []
    if domain.document is not None:
        findings.extend(schema_findings(domain.document))
    if findings:
        return findings
    try:
        findings.extend(consistency_findings(domain))
        findings.extend(lint_findings(domain))
        for table in tables:
            findings.extend(release_findings(domain, table))
            findings.extend(machine_findings(domain, table))
    except InvalidValue as exc:
        findings.append(Finding("VX0100", "error", exc.message, domain.source, exc.line,
                                exc.xpath))
    return [replace(f, xpath=domain.user_xpath(f.xpath)) for f in findings]


__all__ = ["Finding", "check_domain"]
