"""`virtxlate check` over many domains: files, directories (every *.xml below, sorted),
and a stream of several domain XMLs on standard input (`virsh dumpxml` of many domains,
one after another).  Inputs are read one at a time and results written in input order
as they come, so memory stays flat however long the batch; `--jobs N` checks on N
processes.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import EXIT_FINDINGS, EXIT_OK, UsageError, VirtxlateError

# A domain written by virsh dumpxml ends with this line; the next one may follow.
_END = "</domain>"


@dataclass(frozen=True)
class Item:
    source: str
    data: bytes | None        # None: read the file SOURCE in the worker
    line_offset: int = 0      # the item's first line in a stream, for messages


def iter_items(arguments: Iterable[str], stdin: IO[bytes] | None = None) -> Iterator[Item]:
    for argument in arguments:
        if argument == "-":
            yield from _stream_items(stdin if stdin is not None else sys.stdin.buffer)
        elif os.path.isdir(argument):
            for path in sorted(Path(argument).rglob("*.xml")):
                yield Item(str(path), None)
        else:
            yield Item(argument, None)


def stream_domains(data: bytes) -> int:
    """How many domains _stream_items finds in DATA: its lines that end a domain."""
    end = _END.encode()
    return sum(1 for line in data.splitlines() if line.strip().endswith(end))


def _stream_items(stream: IO[bytes]) -> Iterator[Item]:
    """Each domain of a stream, split after each closing </domain> line."""
    lines: list[bytes] = []
    start = number = 0
    for number, line in enumerate(stream, start=1):
        if not lines:
            if not line.strip():
                continue
            start = number - 1
        lines.append(line)
        if line.strip().endswith(_END.encode()):
            yield Item("<stdin>", b"".join(lines), start)
            lines = []
    if lines and any(line.strip() for line in lines):
        yield Item("<stdin>", b"".join(lines), start)


@dataclass(frozen=True)
class Settings:
    releases: tuple[str, ...]
    libvirt_schema: bool
    json_lines: bool


def check_item(item: Item, settings: Settings) -> tuple[int, str, dict[str, Any]]:
    """(exit status, text to print, the JSON record) of one domain; never raises."""
    from .model import domain_from_document
    from .report import text_report
    from .rules import check_for_releases
    from .xmlinput import parse_bytes, read_bytes

    source = item.source if not item.line_offset else f"{item.source}#line{item.line_offset + 1}"
    try:
        data, name = (item.data, source) if item.data is not None else read_bytes(item.source)
        domain = domain_from_document(parse_bytes(data, name))
        common, per_release = check_for_releases(domain, settings.releases,
                                                 settings.libvirt_schema)
    except UsageError as exc:   # e.g. no table of that release for this domain's arch
        return exc.exit_code, f"{source}: {exc}\n", {"source": source, "ok": False,
                                                      "usage_error": exc.message}
    except VirtxlateError as exc:
        return exc.exit_code, str(exc) + "\n", {"source": source, "ok": False, "input_error":
                                                 str(exc)}
    findings = common + [f for _, found in per_release for f in found]
    errors = sum(f.is_error for f in findings)
    record = {"source": source, "ok": not errors, "errors": errors,
              "warnings": len(findings) - errors, "findings": [f.to_json() for f in findings]}
    if len(per_release) > 1:
        record["releases"] = {table.version: not any(f.is_error for f in common + found)
                              for table, found in per_release}
    text = text_report(findings, domain) if findings else ""
    return (EXIT_FINDINGS if errors else EXIT_OK), text, record


def _work(arguments: tuple[Item, Settings]) -> tuple[int, str, dict[str, Any]]:
    return check_item(*arguments)


def run(arguments: list[str], settings: Settings, jobs: int, out: IO[str], err: IO[str],
        stdin: bytes | None = None) -> int:
    import json

    started = time.monotonic()
    progress = _Progress(err, started)
    status = EXIT_OK
    domains = with_errors = with_warnings = 0
    import io

    stream = io.BytesIO(stdin) if stdin is not None else None
    work = ((item, settings) for item in iter_items(arguments, stream))
    pool = multiprocessing.get_context("fork").Pool(jobs) if jobs > 1 else None
    try:
        results = pool.imap(_work, work, chunksize=16) if pool else map(_work, work)
        for code, text, record in results:
            domains += 1
            with_errors += code != EXIT_OK
            with_warnings += bool(record.get("warnings"))
            status = max(status, code)
            if settings.json_lines:
                out.write(json.dumps(record) + "\n")
            elif text:
                out.write(text)
            progress.tick(domains)
    finally:
        if pool is not None:
            pool.terminate()
    progress.done()
    seconds = time.monotonic() - started
    err.write(f"virtxlate check: {domains} domains, {with_errors} with errors, "
              f"{with_warnings} with warnings, {seconds:.2f} s\n")
    return status   # the worst: 3 unreadable input, 2 usage, 1 errors, 0 none


class _Progress:
    """A count on stderr, rewritten in place, when it is a terminal and the run has
    taken more than two seconds."""

    def __init__(self, err: IO[str], started: float):
        self.err, self.started = err, started
        self.shown = False
        self.live = hasattr(err, "isatty") and err.isatty()

    def tick(self, count: int) -> None:
        elapsed = time.monotonic() - self.started
        if self.live and elapsed > 2 and (count % 50 == 0 or not self.shown):
            self.err.write(f"\rchecked {count} domains, {count / elapsed:.0f}/s")
            self.err.flush()
            self.shown = True

    def done(self) -> None:
        if self.shown:
            self.err.write("\r\033[K")
