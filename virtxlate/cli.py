"""The command line: argparse and printing only; every decision is made in the API.

Exit codes (errors.EXIT_CODES): 0 no errors, 1 errors found, 2 usage error, 3 unreadable
input, 130 interrupted (SIGINT), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import (
    EXIT_CODES,
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_OK,
    EXIT_SIGINT,
    InputError,
    UsageError,
    VirtxlateError,
)

if TYPE_CHECKING:
    import argparse

COMMANDS = ("tree", "argv", "compare", "from-argv", "from-tree", "check", "caps", "explain")
CHECK_FORMATS = ("text", "json", "jsonl")
ARGV_FORMATS = ("shell", "lines", "json")


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ONLY, that command's subparser alone (a start builds
    only what the command line names: issue 18's cold start)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="virtxlate",
        description="Tell, before anything runs, what QEMU will be given and will build "
        "for a libvirt domain XML, per QEMU release.",
        epilog="exit codes: "
        + ", ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items()),
    )
    parser.add_argument("--version", action="version", version=f"virtxlate {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    if only in (None, "tree"):
        tree = commands.add_parser("tree", help="the QOM device graph QEMU would build")
        _input_options(tree)
        tree.add_argument(
            "domain", metavar="DOMAIN", nargs="?", help="domain XML file, or - for stdin"
        )
        tree.add_argument(
            "--argv",
            metavar="FILE",
            help="build the graph of a QEMU command line instead (- for stdin)",
        )
        tree.add_argument("--qemu", required=True, metavar="VER", help="QEMU release, e.g. 1.5")
        tree.add_argument(
            "--format",
            choices=("qtree", "json", "dot", "svg"),
            default="qtree",
            help="dot: Graphviz DOT; svg: drawn by Graphviz's dot program",
        )
        _live_options(tree)

    if only in (None, "argv"):
        argv = commands.add_parser("argv", help="the QEMU command line libvirt would use")
        _input_options(argv)
        argv.add_argument(
            "domain", metavar="DOMAIN", nargs="?", help="domain XML file, or - for stdin"
        )
        argv.add_argument("--qemu", required=True, metavar="VER", help="QEMU release, e.g. 1.5")
        argv.add_argument("--format", choices=ARGV_FORMATS, default="shell")
        _live_options(argv)

    if only in (None, "compare"):
        compare = commands.add_parser(
            "compare",
            help="virtxlate's command line next to libvirt's own "
            "(domainXMLToNative) for the same domain",
        )
        _input_options(compare)
        compare.add_argument(
            "--storage",
            action="store_true",
            help="compare the storage options only (without: the whole line, less what only "
            "a libvirt-run process has)",
        )
        compare.add_argument(
            "domain", metavar="DOMAIN", nargs="?", help="domain XML file, or - for stdin"
        )
        compare.add_argument(
            "--qemu", metavar="VER", help="QEMU release (default: the one libvirt drives)"
        )
        _live_options(compare, connect_required=True)

    if only in (None, "from-argv"):
        from_argv = commands.add_parser(
            "from-argv", help="domain XML (its storage) from a QEMU command line"
        )
        _input_options(from_argv)
        from_argv.add_argument(
            "command_line",
            metavar="FILE",
            help="a shell-quoted line, a libvirt .args file or a JSON array; - for stdin",
        )
        from_argv.add_argument(
            "--qemu",
            metavar="VER",
            help="the release the command line is for: names the machine "
            "when it has no -machine (without it: QEMU's own default)",
        )

    if only in (None, "from-tree"):
        from_tree = commands.add_parser(
            "from-tree",
            help="domain XML (its storage) from `tree --format json`",
        )
        _input_options(from_tree, host=False)
        from_tree.add_argument("tree_json", metavar="FILE", help="the JSON, or - for stdin")

    if only in (None, "check"):
        check = commands.add_parser(
            "check", help="validate a domain (schema, libvirt rules, release gates)"
        )
        _input_options(check)
        check.add_argument(
            "domains",
            metavar="DOMAIN",
            nargs="*",
            help="domain XML files, directories (every *.xml below), or - for "
            "stdin (one domain, or several one after another)",
        )
        check.add_argument(
            "--qemu",
            action="append",
            default=[],
            metavar="VER",
            help="check against this QEMU release (may repeat)",
        )
        check.add_argument(
            "--format",
            choices=CHECK_FORMATS,
            default="text",
            help="jsonl: one JSON result per domain, in input order",
        )
        check.add_argument(
            "--jobs",
            "-j",
            type=int,
            default=1,
            metavar="N",
            help="check on N processes (at most 4 per CPU and one per input)",
        )
        _live_options(check)
        check.add_argument(
            "--libvirt-schema",
            action="store_true",
            help="also validate with libvirt's installed RelaxNG schema "
            "(/usr/share/libvirt/schemas/domain.rng)",
        )

    if only in (None, "caps"):
        caps = commands.add_parser("caps", help="the capability tables of QEMU releases")
        caps_commands = caps.add_subparsers(dest="caps_command", required=True, metavar="WHAT")
        caps_list = caps_commands.add_parser("list", help="the releases and arches known")
        caps_list.add_argument("--format", choices=("text", "json"), default="text")
        show = caps_commands.add_parser("show", help="one release's table")
        show.add_argument("version", metavar="VER")
        show.add_argument("--arch", default="x86_64")
        show.add_argument("--format", choices=("text", "json"), default="text")
        diff = caps_commands.add_parser("diff", help="what changed between two releases")
        diff.add_argument("old", metavar="A")
        diff.add_argument("new", metavar="B")
        diff.add_argument("--arch", default="x86_64")
        diff.add_argument("--format", choices=("text", "json"), default="text")
        probe = caps_commands.add_parser("probe", help="make a table from a real QEMU binary")
        probe.add_argument("binary", nargs="?", default="qemu-system-x86_64", metavar="QEMU_BINARY")
        probe.add_argument(
            "--machine",
            metavar="M",
            help="the machine whose buses are probed (default: the arch's usual)",
        )
        probe.add_argument("--output", "-o", metavar="FILE", help="write the table here")
        probe.add_argument(
            "--libvirt-caps",
            metavar="FILE",
            action="append",
            default=[],
            help="libvirt's capability XML of the same binary, for its flags "
            "(repeat: the flags common to all files)",
        )
        probe.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS")
        live = probe.add_argument_group("through a running libvirt (needs virtxlate[libvirt])")
        live.add_argument(
            "--connect",
            metavar="URI",
            help="probe the QEMU binary libvirt reports in its domain "
            "capabilities, with the flags libvirt itself probed for it",
        )
        live.add_argument("--emulator", metavar="PATH", help="which binary libvirt reports on")
        live.add_argument("--virttype", choices=("qemu", "kvm"), default=None)

    if only in (None, "explain"):
        explain = commands.add_parser("explain", help="what a QOM device or bus type is")
        explain.add_argument("type", metavar="TYPE")
        explain.add_argument("--qemu", metavar="VER", help="release (default: the newest known)")
        explain.add_argument("--arch", default="x86_64")
        explain.add_argument("--format", choices=("text", "json"), default="text")
    return parser


def _input_options(command: argparse.ArgumentParser, host: bool = True) -> None:
    """Options of every command that reads a domain or a command line (with HOST:
    of those whose translation asks the VM's host)."""
    from .host import HOSTS

    command.add_argument(
        "--max-input",
        metavar="SIZE",
        help="the largest input read, e.g. 64M (default: "
        "$VIRTXLATE_MAX_INPUT, else 64 MiB); bigger ones are refused",
    )
    if not host:
        return
    command.add_argument(
        "--host",
        choices=HOSTS,
        default=None,
        help="whose host facts (/dev/sgN nodes, /dev/vhost-scsi, CD-ROM "
        "drives) to look up: none (default: placeholders and an info "
        "finding) or local (this machine); --connect to this machine's "
        "libvirt means local",
    )


def _live_options(command: argparse.ArgumentParser, connect_required: bool = False) -> None:
    live = command.add_argument_group("a running libvirt (needs virtxlate[libvirt])")
    live.add_argument(
        "--connect",
        metavar="URI",
        required=connect_required,
        help="libvirt connection URI, e.g. qemu:///system",
    )
    live.add_argument(
        "--domain",
        dest="domain_name",
        metavar="NAME|UUID",
        help="read this domain's XML from libvirt instead of a file",
    )
    live.add_argument(
        "--inactive", action="store_true", help="the persistent definition, not the running one"
    )


def _load(options: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The domain of the command: DOMAIN, or --domain read through --connect."""
    from .api import load, load_defined

    if getattr(options, "domain_name", None) is not None:
        if options.connect is None:
            raise UsageError("--domain needs --connect URI")
        if options.domain is not None:
            raise UsageError("give a DOMAIN file or --domain, not both")
        return load_defined(options.connect, options.domain_name, options.inactive)
    if options.domain is None:
        raise UsageError(
            f"{options.command} needs a DOMAIN file (or - for stdin), "
            "or --connect URI --domain NAME"
        )
    if options.domain == "-" and getattr(options, "stdin_data", None) is not None:
        from .model import domain_from_document
        from .xmlinput import parse_bytes

        return domain_from_document(parse_bytes(options.stdin_data, "<stdin>"))
    return load(options.domain)


def entry() -> int:
    """The process's entry (`python -m virtxlate`, the console script): main(), in a
    process that ends with it.  A run makes objects faster than the cyclic collector's
    default pace assumes (a table, a model, the options), and at exit the collector
    walks every object left: a higher first threshold and the objects frozen before exit
    save about a sixth of a one-domain check's time (issue 18).  Not for in-process
    callers: frozen objects stay out of the collector's reach."""
    gc.set_threshold(_GC_THRESHOLD, *gc.get_threshold()[1:])
    code = main()
    _end_now(code)
    gc.freeze()
    return code


def _end_now(code: int) -> None:
    """End the process with CODE without the interpreter's teardown, which frees every
    module and object one by one (2 ms of a one-domain check, issue 18): the atexit
    functions run and the standard streams are flushed first, as at a normal exit.
    Returns, for the normal exit, while a thread runs or when a stream cannot be flushed
    (Python then reports it as it always does)."""
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return
    import atexit

    run_exit_functions = getattr(atexit, "_run_exitfuncs", None)  # (CPython's own)
    if run_exit_functions is None:
        return
    run_exit_functions()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        return
    os._exit(code)


# allocations between collections of the youngest generation (Python's default: 700)
_GC_THRESHOLD = 20_000


# The options of `check` and `argv` with their defaults, as _parser declares them: what
# _quick_options starts from (tests/test_cold_cli.py keeps the two readings equal).
_QUICK: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "check": (
        {"format": "text", "jobs": 1, "libvirt_schema": False},
        CHECK_FORMATS,
    ),
    "argv": ({"format": "shell"}, ARGV_FORMATS),
}


def _quick_options(words: list[str]) -> Any:
    """WORDS read as the parser reads them, when they are one of the commonest command
    lines, `check DOMAIN` or `argv DOMAIN` with --qemu, --format and --host, which
    argparse's import and parser would cost 3 ms of a one-domain start (issue 18); None
    for any other line (help, another option, a value that starts with -), which the
    parser reads."""
    if not words or words[0] not in _QUICK:
        return None
    from .host import HOSTS

    command = words[0]
    defaults, formats = _QUICK[command]
    values: dict[str, Any] = {
        "command": command,
        "max_input": None,
        "host": None,
        "connect": None,
        "domain_name": None,
        "inactive": False,
        **defaults,
    }
    positional: list[str] = []
    qemu: list[str] = []
    rest = iter(words[1:])
    for word in rest:
        if word == "-" or not word.startswith("-"):
            positional.append(word)
            continue
        name, equals, value = word.partition("=")
        if not equals:
            value = next(rest, "-")
        if value.startswith("-"):
            return None
        if name == "--qemu":
            qemu.append(value)
        elif name == "--format" and value in formats:
            values["format"] = value
        elif name == "--host" and value in HOSTS:
            values["host"] = value
        else:
            return None
    if len(positional) != 1:
        return None
    if command == "check":
        values.update(domains=positional, qemu=qemu)
    elif qemu:
        values.update(domain=positional[0], qemu=qemu[-1])
    else:
        return None  # (--qemu is required: the parser says so)
    return SimpleNamespace(**values)


def main(args: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if args is None else args)
    only = words[0] if words and words[0] in COMMANDS else None
    options = _quick_options(words) or _parser(only).parse_args(words)
    commands = {
        "tree": _tree,
        "argv": _argv,
        "check": _check,
        "caps": _caps,
        "explain": _explain,
        "from-argv": _from_argv,
        "from-tree": _from_tree,
        "compare": _compare,
    }
    try:
        if getattr(options, "max_input", None) is not None:
            from .xmlinput import parse_size, set_input_limit

            set_input_limit(parse_size(options.max_input))
        return commands[options.command](options)
    except VirtxlateError as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        print("virtxlate: interrupted", file=sys.stderr)
        return EXIT_SIGINT


def _host(options: argparse.Namespace) -> str:
    """Whose host facts the command looks up: --host, --connect (api.host_name)."""
    from .api import host_name

    return host_name(getattr(options, "host", None), getattr(options, "connect", None))


def _analysis(options: argparse.Namespace, graph: bool = True):  # type: ignore[no-untyped-def]
    from .api import analyze

    domain = _load(options)
    return domain, analyze(domain, options.qemu, host=_host(options), graph=graph)


def _report(findings, domain) -> None:  # type: ignore[no-untyped-def]
    from .report import text_report

    sys.stderr.write(text_report(findings, domain))


def _tree(options: argparse.Namespace) -> int:

    if options.argv is not None:
        return _tree_of_argv(options)
    domain, result = _analysis(options)
    if result.graph is None:
        _report([f for f in result.findings if f.is_error], domain)
        return EXIT_FINDINGS
    sys.stdout.write(_graph_text(result.graph, options.format))
    return EXIT_OK


def _graph_text(graph, style: str) -> str:  # type: ignore[no-untyped-def]
    from .graph.dot import dot_to_svg, graph_dot
    from .graph.render import graph_json_text, qtree_text

    if style == "json":
        return graph_json_text(graph)
    if style == "dot":
        return graph_dot(graph)
    if style == "svg":
        return dot_to_svg(graph_dot(graph))
    return qtree_text(graph)


def _argv(options: argparse.Namespace) -> int:
    from .argv import format_argv

    domain, result = _analysis(options, graph=False)  # (its refusals, without the graph)
    if result.words is None:
        _report([f for f in result.findings if f.is_error], domain)
        return EXIT_FINDINGS
    # the line is libvirt's even where QEMU refuses it (the graph's VX0302, e.g. dc-390):
    # printed, and the refusal reported with exit 1
    print(format_argv(result.words, options.format))
    _report(result.findings, domain)
    return EXIT_FINDINGS if any(f.is_error for f in result.findings) else EXIT_OK


def _tree_of_argv(options: argparse.Namespace) -> int:
    from .api import graph_of_argv, load_command_line

    result = graph_of_argv(load_command_line(options.argv), options.qemu)
    _warn(result.findings)
    if result.graph is None:
        return EXIT_FINDINGS
    sys.stdout.write(_graph_text(result.graph, options.format))
    return EXIT_OK


def _compare(options: argparse.Namespace) -> int:
    """Empty output and exit 0 when virtxlate's command line (--storage: its storage
    options) equals libvirt's own (or both refuse the domain), a unified diff and exit 1
    when not."""
    from .api import compare_with_libvirt

    domain = _load(options)
    result = compare_with_libvirt(
        domain, options.connect, options.qemu, _host(options), storage=options.storage
    )
    if result.agree:
        return EXIT_OK
    if result.analysis.argv is None:
        print(f"libvirt ({options.connect}) accepts the domain; virtxlate refuses it:")
        _report([f for f in result.analysis.findings if f.is_error], domain)
    elif result.refusal is not None:
        print(
            f"virtxlate accepts the domain; libvirt ({options.connect}) refuses it: "
            f"{result.refusal}"
        )
    else:
        sys.stdout.writelines(line + "\n" for line in result.diff)
    return EXIT_FINDINGS


def _from_tree(options: argparse.Namespace) -> int:
    from .native.fromtree import domain_from_tree
    from .xmlinput import read_bytes

    data, source = read_bytes(options.tree_json)
    readback = domain_from_tree(data.decode("utf-8", "replace"), source)
    sys.stdout.write(readback.xml)
    _warn(readback.findings)
    return EXIT_OK


def _warn(findings) -> None:  # type: ignore[no-untyped-def]
    for finding in findings:
        print(
            f"{finding.source}: {finding.severity}: {finding.code}: {finding.message}",
            file=sys.stderr,
        )


def _from_argv(options: argparse.Namespace) -> int:
    from .api import domain_of_argv, load_command_line

    command = load_command_line(options.command_line)
    readback = domain_of_argv(command, options.qemu, _host(options))
    sys.stdout.write(readback.xml)
    _warn(readback.findings)
    return EXIT_OK


def _batch(options: argparse.Namespace) -> bool:
    """Whether `check` runs over many domains (and prints a summary line)."""
    many = len(options.domains) > 1 or any(os.path.isdir(d) for d in options.domains)
    return options.domain_name is None and (many or options.format == "jsonl" or options.jobs > 1)


def _check(options: argparse.Namespace) -> int:
    if options.jobs < 1:
        raise UsageError("--jobs needs a number of processes, 1 or more")
    if options.format == "json" and len(options.domains) > 1:
        raise UsageError("many domains: use --format jsonl (one JSON result per line)")
    options.domain = options.domains[0] if options.domains else None
    batch = _batch(options)
    if not batch and (options.domain != "-" or options.domain_name is not None):
        return _check_one(options)  # (without batch.py: a one-domain start, issue 18)
    import itertools

    from .batch import Settings, run, split_stream

    settings = Settings(
        tuple(options.qemu), options.libvirt_schema, options.format == "jsonl", _host(options)
    )
    if batch:
        return run(options.domains, settings, options.jobs, sys.stdout, sys.stderr)
    # one domain on standard input, or several one after another
    items = split_stream(sys.stdin.buffer)
    first = list(itertools.islice(items, 2))
    if len(first) > 1:
        return run(
            ["-"],
            settings,
            1,
            sys.stdout,
            sys.stderr,
            stdin_items=itertools.chain(first, items),
        )
    if not first:
        raise InputError(
            "empty input: expected a <domain>, <devices>, <controller> or <disk>",
            source="<stdin>",
            line=1,
        )
    if first[0].error is not None:
        raise InputError(first[0].error, source="<stdin>", line=0)
    # the lines before the domain, so that messages give the line of the input
    options.stdin_data = b"\n" * first[0].line_offset + (first[0].data or b"")
    return _check_one(options)


def _check_one(options: argparse.Namespace) -> int:
    from .api import check
    from .report import matrix_json, matrix_text, text_report

    domain = _load(options)
    common, per_release = check(domain, options.qemu, options.libvirt_schema, _host(options))
    if len(per_release) > 1:
        # a matrix: will this domain start on each of these releases?
        if options.format == "json":
            print(json.dumps(matrix_json(common, per_release), indent=2))
        else:
            sys.stdout.write(matrix_text(common, per_release, domain))
    else:
        findings = common + [f for _, found in per_release for f in found]
        if options.format == "json":
            print(json.dumps([f.to_json() for f in findings], indent=2))
        else:
            sys.stdout.write(text_report(findings, domain) or f"{domain.source}: no findings\n")
    every = common + [f for _, found in per_release for f in found]
    return EXIT_FINDINGS if any(f.is_error for f in every) else EXIT_OK


def _caps(options: argparse.Namespace) -> int:
    from .caps import describe, load
    from .caps.compare import diff_tables, diff_text

    what = options.caps_command
    if what == "probe":
        return _probe(options)
    if what == "list":
        if options.format == "json":
            print(json.dumps(describe.list_json(), indent=2))
        else:
            sys.stdout.write(describe.list_text())
        return EXIT_OK
    if what == "show":
        table = load(options.version, options.arch)
        if options.format == "json":
            print(json.dumps(describe.show_json(table), indent=2))
        else:
            sys.stdout.write(describe.show_text(table))
        return EXIT_OK
    result = diff_tables(load(options.old, options.arch), load(options.new, options.arch))
    if options.format == "json":
        print(json.dumps(result.to_json(), indent=2))
    else:
        sys.stdout.write(diff_text(result))
    return EXIT_OK


def _probe(options: argparse.Namespace) -> int:
    from lxml import etree

    from .caps.probe import probe, with_libvirt_flags
    from .qemu import QemuError

    binary, libvirt_caps = options.binary, list(options.libvirt_caps)
    if options.connect is not None:
        binary, cached = _libvirt_binary(options)
        libvirt_caps += cached
    try:
        table = probe(binary, timeout=options.timeout, machine=options.machine)
    except QemuError as exc:
        print(f"virtxlate: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if libvirt_caps:
        with_libvirt_flags(table, *libvirt_caps)
    text = etree.tostring(table, encoding="unicode", pretty_print=True)
    if options.output:
        with open(options.output, "w") as handle:
            handle.write('<?xml version="1.0" encoding="UTF-8"?>\n' + text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _libvirt_binary(options: argparse.Namespace) -> tuple[str, list[str]]:
    """The binary libvirt reports for --emulator/--machine/--virttype, and libvirt's own
    cached capabilities of it for its flags (api.libvirt_binary)."""
    from .api import LIBVIRT_CAPS_CACHE, libvirt_binary

    binary, cached = libvirt_binary(
        options.connect, options.emulator, options.machine, options.virttype, options.binary
    )
    if not cached:
        print(
            f"virtxlate: warning: libvirt's cached capabilities of {binary} are not "
            f"readable in {LIBVIRT_CAPS_CACHE}; the probe infers the flags",
            file=sys.stderr,
        )
    return binary, cached


def _explain(options: argparse.Namespace) -> int:
    from .caps import known_versions, load
    from .caps.explain import explain, explain_text

    version = options.qemu or known_versions(options.arch)[-1]
    result = explain(options.type, load(version, options.arch))
    if options.format == "json":
        print(json.dumps(result.to_json(), indent=2))
    else:
        sys.stdout.write(explain_text(result))
    return EXIT_OK if result.exists or result.since else EXIT_FINDINGS


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(entry())
