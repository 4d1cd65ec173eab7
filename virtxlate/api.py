"""The Python API: what the CLI uses, for scripts that sit next to virsh.

    >>> import virtxlate
    >>> domain = virtxlate.load("samples/seed-virtio-scsi.xml")
    >>> result = virtxlate.analyze(domain, qemu="1.5")
    >>> result.argv[:2]
    ['/usr/bin/qemu-system-x86_64', '-name']
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from . import caps as caps_tables
from .argv.writer import command_line, option_words
from .errors import InvalidValue
from .findings import Finding, finding_at
from .graph import Graph, GraphError, build_graph
from .libvirt.host import Host
from .libvirt.plan import StoragePlan, plan_storage
from .model import Domain, domain_from_document
from .model.fields import XmlObject
from .rules import check_domain
from .xmlinput import load_document

# An i686 guest runs on qemu-system-i386, built from the same sources as the x86_64
# binary with the same storage and virtio devices; it uses the x86_64 tables (inference).
_TABLE_ARCH = {"i686": "x86_64", None: "x86_64"}


def table_arch(arch: str | None) -> str:
    """The architecture whose capability tables describe a guest of ARCH."""
    return _TABLE_ARCH.get(arch, arch or "x86_64")


def arch_without_tables(domain: Domain, arch: str | None = None) -> Finding | None:
    """VX0305 when no capability table describes the guest's architecture (a domain of
    ppc64, or an arch attribute that names none): nothing per release can be said."""
    wanted = table_arch(arch or domain.arch)
    if caps_tables.known_versions(wanted):
        return None
    os_type = domain.element.find("os/type")
    known = ", ".join(sorted({a for _, a in caps_tables.available()}))
    finding = finding_at("VX0305", "error",
                         f"virtxlate has no capability tables for arch '{wanted}'",
                         XmlObject(os_type) if os_type is not None else domain, domain.source,
                         xpath_suffix="/@arch" if os_type is not None else "",
                         hint=f"known arches: {known}")
    return replace(finding, xpath=domain.user_xpath(finding.xpath))


def load(path_or_xml: str | os.PathLike[str]) -> Domain:
    """Read a domain XML (file path, ``-`` for stdin, or the XML text itself).

    Raises virtxlate.errors.InputError (file and line in its message) when the input is
    not a readable domain or storage fragment.
    """
    return domain_from_document(load_document(path_or_xml))


@dataclass
class Analysis:
    """What one QEMU release would be given and would build for a domain."""

    qemu: str
    findings: list[Finding] = field(default_factory=list)
    plan: StoragePlan | None = None
    argv: list[str] | None = None
    graph: Graph | None = None

    @property
    def ok(self) -> bool:
        return not any(f.is_error for f in self.findings)


def analyze(domain: Domain, qemu: str, arch: str | None = None,
            host: Host | None = None) -> Analysis:
    """Findings, command line and device graph of DOMAIN for QEMU release QEMU.

    argv and graph are None when an error finding makes them meaningless.  HOST answers
    what libvirt would ask the VM's host (is this block device a CD-ROM drive?); by
    default the machine virtxlate runs on.
    """
    no_tables = arch_without_tables(domain, arch)
    if no_tables is not None:
        return Analysis(qemu=qemu, findings=[no_tables])
    table = caps_tables.load(qemu, table_arch(arch or domain.arch))
    result = Analysis(qemu=table.version)
    result.findings.extend(check_domain(domain, [table]))
    if not result.ok:
        return result
    try:
        plan = plan_storage(domain, table, host)
    except InvalidValue as exc:
        result.findings.append(Finding("VX0100", "error", exc.message, domain.source,
                                       exc.line, exc.xpath))
        return result
    result.plan = plan
    result.findings.extend(replace(f, xpath=domain.user_xpath(f.xpath)) for f in plan.findings)
    if not result.ok or plan.family is None:
        return result
    result.argv = command_line(plan)
    try:
        result.graph = build_graph(table, plan.machine_name, plan.family, plan.options)
    except GraphError as exc:
        origin = exc.option.origin if exc.option is not None else None
        finding = finding_at("VX0302", "error", exc.message, origin, domain.source)
        result.findings.append(replace(finding, xpath=domain.user_xpath(finding.xpath)))
    return result


__all__ = ["Analysis", "analyze", "command_line", "load", "option_words"]
