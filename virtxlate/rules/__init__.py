"""Pre-flight checks: schema, libvirt's own rules, and release gates from the tables."""

from __future__ import annotations

from dataclasses import replace

from ..caps import CapsTable
from ..errors import InvalidValue
from ..findings import Finding
from ..libvirt.host import Host
from ..model import Domain
from .consistency import consistency_findings
from .libvirt_names import libvirt_name_findings
from .lints import lint_findings
from .machine import machine_findings, qemu_refusals
from .release import release_findings
from .schema import schema_findings


def check_domain(domain: Domain, tables: list[CapsTable], translate: bool = False,
                 host: Host | None = None) -> list[Finding]:
    """Every finding for DOMAIN: what holds for any release, then each release's own."""
    common, per_release = check_releases(domain, tables, translate, host)
    return common + [finding for _, findings in per_release for finding in findings]


def check_for_releases(domain: Domain, releases: tuple[str, ...] | list[str],
                       libvirt_schema: bool = False
                       ) -> tuple[list[Finding], list[tuple[CapsTable, list[Finding]]]]:
    """What `check` says of DOMAIN for each release named (VER strings): the tables of
    the domain's arch (VX0305 when it has none), the translation's refusals, and with
    LIBVIRT_SCHEMA libvirt's own RelaxNG first."""
    from .. import caps
    from ..api import arch_without_tables, table_arch

    no_tables = arch_without_tables(domain)
    if no_tables is not None:
        common, per_release = check_releases(domain, [])
        common.append(no_tables)
    else:
        tables = [caps.load(version, table_arch(domain.arch)) for version in releases]
        common, per_release = check_releases(domain, tables, translate=True)
    if libvirt_schema and domain.document is not None:
        from .libvirt_schema import libvirt_schema_findings

        common[0:0] = libvirt_schema_findings(domain.document)
    return common, per_release


def _translation_errors(domain: Domain, table: CapsTable, host: Host | None
                        ) -> list[Finding]:
    """What libvirt refuses only while it builds the command line: a target name that is
    no disk name (VX0204), no PCI slot left (VX0205), a host device node missing on this
    host (VX0211); and what QEMU refuses of the line libvirt writes (VX0306: `argv` still
    shows that line)."""
    from ..libvirt.plan import plan_storage  # the translation uses the rules' modules

    return ([f for f in plan_storage(domain, table, host).findings if f.is_error]
            + libvirt_name_findings(domain, table) + qemu_refusals(domain, table))


def check_releases(domain: Domain, tables: list[CapsTable], translate: bool = False,
                   host: Host | None = None
                   ) -> tuple[list[Finding], list[tuple[CapsTable, list[Finding]]]]:
    """(the findings of any release: schema, libvirt's rules, lints; each table with the
    findings of its release: gates and machine rules, and with TRANSLATE what the
    translation for HOST refuses — `check` wants those, analyze() translates anyway).
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
            if translate and not any(f.is_error for f in common + found):
                found += _translation_errors(domain, table, host)
            per_release.append((table, [replace(f, xpath=domain.user_xpath(f.xpath))
                                        for f in found]))
    except InvalidValue as exc:
        common.append(Finding("VX0100", "error", exc.message, domain.source, exc.line,
                              exc.xpath))
        per_release = [(table, []) for table in tables]
    return [replace(f, xpath=domain.user_xpath(f.xpath)) for f in common], per_release


__all__ = ["Finding", "check_domain", "check_for_releases", "check_releases"]
