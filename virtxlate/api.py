"""The Python API: what the CLI uses, for scripts that sit next to virsh.

    >>> import virtxlate
    >>> domain = virtxlate.load("samples/seed-virtio-scsi.xml")
    >>> result = virtxlate.analyze(domain, qemu="1.5")
    >>> result.argv[:2]
    ['/usr/bin/qemu-system-x86_64', '-name']

A value of a type a function does not take raises ArgumentTypeError (a UsageError and
a TypeError) with a sentence; a value it cannot use (an unknown release) UsageError; an
input that is not a domain InputError — all virtxlate.errors.VirtxlateError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import caps as caps_tables
from .caps import CapsTable
from .errors import ArgumentTypeError, InputError, InvalidValue, UsageError
from .findings import Finding, finding_at
from .host import HOSTS, Host, LocalHost, UnknownHost
from .libvirt.plan import StoragePlan, plan_storage
from .model import Domain, domain_from_document
from .model.fields import XmlObject
from .records import Record
from .rules import check_domain, check_releases
from .rules.libvirt_names import libvirt_name_findings
from .rules.machine import qemu_refusals
from .xmlinput import load_document

if TYPE_CHECKING:
    from .argv.writer import command_line, option_words
    from .graph import Graph
    from .native.todomain import Readback
    from .native.words import CommandLine

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
    # a table file of the arch says it (the index, 120 KB of JSON, is read only to name
    # the known arches when there is none)
    if caps_tables.has_arch(wanted):
        return None
    os_type = domain.element.find("os/type")
    known = ", ".join(sorted({a for _, a in caps_tables.available()}))
    finding = finding_at(
        "VX0305",
        "error",
        f"virtxlate has no capability tables for arch '{wanted}'",
        XmlObject(os_type) if os_type is not None else domain,
        domain.source,
        xpath_suffix="/@arch" if os_type is not None else "",
        hint=f"known arches: {known}",
    )
    return finding.at(domain.user_xpath(finding.xpath))


def load(source: Any) -> Domain:
    """Read a domain XML: a ``str`` is the XML text when it starts with ``<`` (after
    white space) and a file path otherwise (``-``: standard input); ``bytes`` are the
    XML document; an ``os.PathLike`` names a file; a file object (binary or text mode)
    is read from where it stands.  At most the input limit is read (64 MiB unless
    $VIRTXLATE_MAX_INPUT says otherwise).

    Raises virtxlate.errors.InputError (file and line in its message) when the input is
    not a readable domain or storage fragment, ArgumentTypeError for any other type.
    """
    if isinstance(source, Domain):
        return source
    return domain_from_document(load_document(source))


def load_defined(uri: str, name: str, inactive: bool = False) -> Domain:
    """The domain NAME (or UUID) libvirt on URI holds: its running definition, the
    persistent one with INACTIVE (needs virtxlate[libvirt])."""
    from .live import domain_xml
    from .xmlinput import parse_text

    return domain_from_document(parse_text(*domain_xml(uri, name, inactive)))


def host_of(name: str | Host | None) -> Host:
    """The host libvirt's questions go to: None or "none" asks no host (placeholders and
    VX0701 info findings), "local" this machine, or a Host object of the caller's."""
    if name is None or name == "none":
        return UnknownHost()
    if name == "local":
        return LocalHost()
    if isinstance(name, str):
        raise ArgumentTypeError(f"host '{name[:40]}' is not one of: none, local, or a Host object")
    if not all(
        callable(getattr(name, method, None))
        for method in (
            "is_cdrom",
            "has_device_node",
            "scsi_generic",
            "scsi_address",
            "launch_security",
            "host_model_cpu",
            "free_port",
        )
    ):
        raise ArgumentTypeError(
            f"host must be 'none', 'local' or a Host object "
            f"(virtxlate.libvirt.host), not {type(name).__name__}"
        )
    return name


def host_name(host: str | None, connect: str | None = None) -> str:
    """Whose host facts a command looks up (host_of's names): HOST when given, else
    "local" with CONNECT to a libvirt on this machine (a URI naming no host), else "none"."""
    from urllib.parse import urlsplit

    if host is not None:
        return host
    if connect is not None and not urlsplit(connect).hostname:
        return "local"
    return "none"


def _release(qemu: Any) -> str:
    """A QEMU release given as a string ('1.5', '7.2.0') or libvirt's integer form
    (1005003); a float is refused: 1.10 and 1.1 are the same float."""
    if isinstance(qemu, str):
        return qemu
    if isinstance(qemu, int) and not isinstance(qemu, bool):
        return str(qemu)
    if isinstance(qemu, float):
        raise ArgumentTypeError(
            f"give the QEMU release as a string, e.g. '{qemu}': as a "
            "float 1.10 and 1.1 are the same number"
        )
    raise ArgumentTypeError(
        f"the QEMU release is a string such as '7.2' (or libvirt's "
        f"integer form 7002000), not {type(qemu).__name__}"
    )


def _arch(arch: Any) -> str | None:
    if arch is None or isinstance(arch, str):
        return arch
    raise ArgumentTypeError(f"arch is a string such as 'x86_64', not {type(arch).__name__}")


class Analysis(Record):
    """What one QEMU release would be given and would build for a domain."""

    _fields = ("qemu", "findings", "plan", "argv", "words", "graph")

    def __init__(
        self,
        qemu: str,
        findings: list[Finding] | None = None,
        plan: StoragePlan | None = None,
        argv: list[str] | None = None,
        words: list[tuple[str, str | None]] | None = None,
        graph: Graph | None = None,
    ):
        self.qemu = qemu
        self.findings: list[Finding] = [] if findings is None else findings
        self.plan = plan
        self.argv = argv
        # argv as (option, value) pairs, emulator first: what argv.format_argv writes
        self.words = words
        self.graph = graph

    @property
    def ok(self) -> bool:
        return not any(f.is_error for f in self.findings)


def analyze(
    domain: Domain | Any,
    qemu: str | int,
    arch: str | None = None,
    host: Host | str | None = None,
    graph: bool = True,
) -> Analysis:
    """Findings, command line and device graph of DOMAIN for QEMU release QEMU.

    DOMAIN is a loaded Domain or anything load() takes.  QEMU is a string ('1.5',
    '7.2.0') or libvirt's integer form (1005003), never a float.  argv and graph are
    None when an error finding makes them meaningless.  HOST answers what libvirt would
    ask the VM's host (is this block device a CD-ROM drive? which /dev/sgN?): by default
    none is asked (placeholders and VX0701 info findings); "local" asks this machine.
    With GRAPH false no graph is built (`argv`): what QEMU refuses while building it is
    found as check finds it, from the options alone.
    """
    domain = load(domain)
    qemu, arch, host = _release(qemu), _arch(arch), host_of(host)
    no_tables = arch_without_tables(domain, arch)
    if no_tables is not None:
        return Analysis(qemu=qemu, findings=[no_tables])
    table = caps_tables.load(qemu, table_arch(arch or domain.arch))
    result = Analysis(qemu=table.version)
    result.findings.extend(check_domain(domain, [table]))
    if not result.ok:
        return result
    plan, found = _translate(domain, table, host, whole=True)
    result.plan = plan
    result.findings.extend(found)
    if plan is None or not result.ok or plan.family is None:
        return result
    from .argv.writer import option_words  # (here: `check` writes no command line)

    result.words = option_words(plan)
    result.argv = [word for pair in result.words for word in pair if word is not None]
    # what QEMU refuses of the line libvirt writes (dc-390, a virtio LUN on a modern
    # machine type): argv still shows that line, the findings say it will not start
    result.findings.extend(_qemu_refusals(domain, table))
    if not result.ok:
        return result
    if not graph:
        from .rules.graph_refusals import graph_refusals

        result.findings.extend(
            _at_user_xpaths(domain, graph_refusals(table, plan.family, plan.options, domain.source))
        )
        return result
    # the graph only here: check (api.check) never builds one
    from .graph import GraphError, build_graph
    from .graph.build import GraphTooDeep

    try:
        result.graph = build_graph(
            table, plan.machine_name, plan.family, plan.options, libvirt_line=True
        )
    except GraphTooDeep as exc:
        raise exc.at_source(domain.source) from None
    except GraphError as exc:
        origin = exc.option.origin if exc.option is not None else None
        finding = finding_at("VX0302", "error", exc.message, origin, domain.source)
        result.findings.append(finding.at(domain.user_xpath(finding.xpath)))
    return result


def check(
    domain: Domain | Any,
    releases: tuple[str, ...] | list[str] = (),
    libvirt_schema: bool = False,
    host: Host | str | None = None,
) -> tuple[list[Finding], list[tuple[CapsTable, list[Finding]]]]:
    """What `check` says of DOMAIN for each release named: (the findings of every
    release, each release's table with its own findings).  The tables are those of the
    domain's arch (VX0305 when it has none); the translation for each release adds
    what libvirt refuses only while it builds the command line, and with no HOST asked
    the VX0701 info findings of what it could not know.  With LIBVIRT_SCHEMA libvirt's
    own RelaxNG runs first."""
    domain = load(domain)
    if isinstance(releases, str):
        releases = [releases]
    if not isinstance(releases, list | tuple):
        raise ArgumentTypeError(
            f"releases are a list of strings such as ['7.2'], not {type(releases).__name__}"
        )
    releases = [_release(release) for release in releases]
    host = host_of(host)
    no_tables = arch_without_tables(domain)
    if no_tables is not None:
        common, per_release = check_releases(domain, [])
        common.append(no_tables)
    else:
        tables = [caps_tables.load(version, table_arch(domain.arch)) for version in releases]
        common, per_release = check_releases(domain, tables)
        per_release = [
            (table, found + _translation_findings(domain, table, host, common, found))
            for table, found in per_release
        ]
    if libvirt_schema and domain.document is not None:
        from .rules.libvirt_schema import libvirt_schema_findings

        common[0:0] = libvirt_schema_findings(domain.document)
    return common, per_release


def _translation_findings(
    domain: Domain, table: CapsTable, host: Host, common: list[Finding], found: list[Finding]
) -> list[Finding]:
    """What libvirt refuses only while it builds the command line (a target name that
    is no disk name, no PCI slot left, a host device node missing on HOST), what QEMU
    refuses of the line libvirt writes (VX0306: `argv` still shows that line), and what
    the translation could not know of the host (VX0701), once the rest holds."""
    if any(f.is_error for f in common + found):
        return []
    plan, found = _translate(domain, table, host, whole=False)
    if not any(f.is_error for f in found):
        found += _qemu_refusals(domain, table)
    if plan is not None and plan.family is not None and not any(f.is_error for f in found):
        # what QEMU refuses while it builds its device graph (tree/argv's VX0302)
        from .rules.graph_refusals import graph_refusals

        found += _at_user_xpaths(
            domain, graph_refusals(table, plan.family, plan.options, domain.source)
        )
    return found


def _translate(
    domain: Domain, table: CapsTable, host: Host, whole: bool
) -> tuple[StoragePlan | None, list[Finding]]:
    """DOMAIN planned for TABLE and the plan's findings, at the user's XPaths: the one
    place analyze and check plan, once per (domain, release) of each call.  A value
    libvirt refuses while it builds the line (VX0100) leaves no plan.  WHOLE: every
    option's properties made now (analyze writes them), also those a builder deferred
    (Option.defer), which check never reads; without it (check) only the errors and
    the VX0701 infos of the plan's findings."""
    try:
        plan = plan_storage(domain, table, host)
        if whole:
            for option in plan.options:
                option.props  # noqa: B018 (made here: a value refused is a VX0100)
    except InvalidValue as exc:
        xpath = domain.user_xpath(exc.xpath)
        return None, [Finding("VX0100", "error", exc.message, domain.source, exc.line, xpath)]
    if whole:
        return plan, _at_user_xpaths(domain, plan.findings)
    # check keeps what refuses the domain and what could not be known of the host
    kept = [f for f in plan.findings if f.is_error or f.code == "VX0701"]
    return plan, _at_user_xpaths(domain, kept)


def _qemu_refusals(domain: Domain, table: CapsTable) -> list[Finding]:
    """What QEMU refuses of the line libvirt writes and lets through: a driver name
    libvirt misspells (VX0306) and a device QEMU cannot realize there (VX0302)."""
    return _at_user_xpaths(
        domain, libvirt_name_findings(domain, table) + qemu_refusals(domain, table)
    )


def _at_user_xpaths(domain: Domain, findings: list[Finding]) -> list[Finding]:
    """FINDINGS with their XPaths in the user's document (a fragment's own paths)."""
    return [f.at(domain.user_xpath(f.xpath)) for f in findings]


def load_command_line(path: str) -> CommandLine:
    """A QEMU command line read from the file PATH (- for standard input): a shell-quoted
    line, a libvirt .args file or a JSON array.  InputError when it is not UTF-8 text."""
    from .native.words import read_command_line
    from .xmlinput import read_bytes

    data, source = read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: {exc.reason}", source=source, line=0) from None
    return read_command_line(text, source)


class ArgvGraph(Record):
    """The device graph QEMU would build of a command line (None when it refuses the
    line: a VX0302 error says why) and what the graph leaves out (VX0602 warnings)."""

    _fields = ("graph", "findings")

    def __init__(self, graph: Graph | None, findings: list[Finding] | None = None):
        self.graph = graph
        self.findings: list[Finding] = [] if findings is None else findings


def graph_of_argv(command: CommandLine, qemu: str | int) -> ArgvGraph:
    """The device graph of COMMAND for QEMU release QEMU, with the tables of its arch."""
    from .graph import GraphError
    from .native.tree import graph_from_argv

    table = caps_tables.load(_release(qemu), table_arch(command.arch))
    try:
        graph, left_out = graph_from_argv(command, table)
    except GraphError as exc:
        return ArgvGraph(None, [Finding("VX0302", "error", exc.message, command.source)])
    return ArgvGraph(
        graph,
        [
            Finding(
                "VX0602",
                "warning",
                f"{what} is not storage or virtio; "
                "virtxlate's tables do not model it, so it is left out of the graph",
                command.source,
            )
            for what in left_out
        ],
    )


def domain_of_argv(
    command: CommandLine, qemu: str | int | None = None, host: Host | str | None = None
) -> Readback:
    """Domain XML (its storage) of COMMAND.  With QEMU, a line with no -machine is read
    as that release's default machine type (without it: QEMU's own default)."""
    from .native import domain_from_argv

    default_machine = None
    if qemu is not None:
        machine = caps_tables.load(_release(qemu), table_arch(command.arch)).machine(None)
        default_machine = machine.name if machine is not None else None
    return domain_from_argv(command, default_machine, host_of(host))


# The writer is imported when a command line is asked for: `check` writes none (PEP 562).
_WRITER = ("command_line", "option_words")


def __getattr__(name: str) -> Any:
    if name in _WRITER:
        from .argv import writer

        value = getattr(writer, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'virtxlate.api' has no attribute '{name}'")


# libvirt's message when the domain's <emulator> is not on its host (virQEMUCapsCacheLookup)
_MISSING_EMULATOR = "Cannot check QEMU binary"


class Comparison(Record):
    """virtxlate's storage options next to libvirt's own (domainXMLToNative) for one
    domain: they agree when both write the same ones or both refuse the domain."""

    _fields = ("uri", "release", "analysis", "refusal", "diff")

    def __init__(
        self,
        uri: str,
        release: str,
        analysis: Analysis,
        refusal: str | None = None,
        diff: list[str] | None = None,
    ):
        self.uri = uri
        self.release = release
        self.analysis = analysis
        self.refusal = refusal  # libvirt's message when it refuses the domain
        self.diff: list[str] = [] if diff is None else diff  # unified diff, libvirt's → ours

    @property
    def agree(self) -> bool:
        return not self.diff and (self.analysis.argv is None) == (self.refusal is not None)


def compare_with_libvirt(
    domain: Domain | Any,
    uri: str,
    qemu: str | int | None = None,
    host: Host | str | None = None,
    storage: bool = False,
) -> Comparison:
    """DOMAIN's command line as virtxlate writes it for QEMU (default: the release libvirt
    drives on URI) next to the one libvirt on URI writes, without what only a libvirt-run
    process has (argv/runtime.py's RUNTIME_ONLY); with STORAGE only the storage options.
    UsageError when the domain's emulator is missing where libvirt runs: it stops before
    it reads the domain."""
    import difflib

    from . import live
    from .argv.runtime import without_runtime_only
    from .argv.storage import storage_options
    from .host import LibvirtHost, host_known

    domain = load(domain)
    release = _release(qemu) if qemu is not None else live.hypervisor_release(uri)
    if host == "local":
        host = LibvirtHost(uri)  # this machine, its CPU and SEV as its libvirt sees them
    result = Comparison(uri, release, analyze(domain, release, host=host))
    asked = host_known(host_of(host))
    xml = domain.document.to_xml() if domain.document is not None else ""
    try:
        libvirt_argv = live.native_argv(uri, xml)
    except InputError as exc:  # libvirt refuses the domain
        if _MISSING_EMULATOR in exc.message:
            reason = exc.message[exc.message.index(_MISSING_EMULATOR) :]
            raise UsageError(
                f"the domain's emulator is missing where libvirt ({uri}) runs, "
                f"so it cannot say its command line: {reason}"
            ) from None
        result.refusal = exc.message
        return result
    if result.analysis.argv is None:
        return result
    if storage:
        theirs = [" ".join(pair) for pair in storage_options(libvirt_argv)]
        ours = [" ".join(pair) for pair in storage_options(result.analysis.argv)]
    else:
        theirs = [_option_line(*pair) for pair in without_runtime_only(libvirt_argv, domain, asked)]
        ours = [
            _option_line(*pair)
            for pair in without_runtime_only(result.analysis.argv, domain, asked)
        ]
    result.diff = list(
        difflib.unified_diff(
            theirs, ours, f"libvirt ({uri})", f"virtxlate --qemu {release}", lineterm=""
        )
    )
    return result


def _option_line(flag: str, value: str | None) -> str:
    return flag if value is None else f"{flag} {value}"


# libvirt's cache of what it probed of each QEMU binary (flags included)
LIBVIRT_CAPS_CACHE = "/var/cache/libvirt/qemu/capabilities"


def libvirt_binary(
    uri: str,
    emulator: str | None = None,
    machine: str | None = None,
    virttype: str | None = None,
    default: str = "qemu-system-x86_64",
) -> tuple[str, list[str]]:
    """The QEMU binary libvirt on URI reports for EMULATOR/MACHINE/VIRTTYPE in its domain
    capabilities (DEFAULT when it names none), and the files of libvirt's own cached
    capabilities of that binary (readable by root; none when they are not readable)."""
    import glob

    from lxml import etree

    from .live import domain_capabilities

    domcaps = etree.fromstring(domain_capabilities(uri, emulator, None, machine, virttype).encode())
    binary = domcaps.findtext("path") or default
    cached = []
    for path in sorted(glob.glob(f"{LIBVIRT_CAPS_CACHE}/*.xml")):
        try:
            cached_emulator = etree.parse(path).getroot().findtext("emulator")
        except (OSError, etree.XMLSyntaxError):
            continue
        if cached_emulator == binary:
            cached.append(path)
    return binary, cached


__all__ = [
    "HOSTS",
    "LIBVIRT_CAPS_CACHE",
    "Analysis",
    "ArgvGraph",
    "Comparison",
    "analyze",
    "check",
    "command_line",
    "compare_with_libvirt",
    "domain_of_argv",
    "graph_of_argv",
    "host_name",
    "host_of",
    "libvirt_binary",
    "load",
    "load_command_line",
    "load_defined",
    "option_words",
]
