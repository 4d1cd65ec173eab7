"""`virtxlate check` over many domains: files, directories (every *.xml below, sorted),
and a stream of several domain XMLs on standard input (`virsh dumpxml` of many domains,
one after another).  Inputs are read one at a time and results written in input order
as they come, so memory stays flat however long the batch; `--jobs N` checks on N
processes.

Every input gives exactly one result, in input order: a file that cannot be read, a
FIFO or device found in a directory (never opened for reading), a directory that cannot
be listed, a domain of the stream the parser refuses, each is a result with its error.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any, NamedTuple

from lxml import etree

from .errors import (
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_OK,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    InputError,
    UsageError,
    VirtxlateError,
)
from .xmlinput import display_name, input_limit, too_large

# --jobs is capped at this many processes per CPU (and at the number of inputs)
JOBS_PER_CPU = 4
_CHUNK = 1 << 16  # bytes read from a stream at a time


# Item and Settings are named tuples, not dataclasses: `check ONE.xml` imports this
# module, and a dataclass costs half a millisecond to define.
class Item(NamedTuple):
    """One input of the batch: a file to read, a domain cut from a stream, or an error
    found before anything could be read (an unlistable directory, an oversized domain)."""

    source: str  # the name in messages (xmlinput.display_name)
    data: bytes | None = None  # None: read the file PATH in the worker
    line_offset: int = 0  # the item's first line in a stream, for messages
    path: str | None = None
    regular_only: bool = False  # found in a directory: read only a regular file
    error: str | None = None


def iter_items(
    arguments: Iterable[str],
    stdin: IO[bytes] | None = None,
    stdin_items: Iterable[Item] | None = None,
) -> Iterator[Item]:
    """The batch's inputs, in order: each argument, a directory's *.xml files depth first
    in name order (symbolic links to directories are not followed), and each domain of
    standard input for ``-`` (STDIN_ITEMS when the caller has split it already)."""
    for argument in arguments:
        if argument == "-":
            yield from (
                stdin_items
                if stdin_items is not None
                else split_stream(stdin if stdin is not None else sys.stdin.buffer)
            )
        elif os.path.isdir(argument):
            yield from _walk(argument)
        else:
            yield Item(display_name(argument), path=argument)


def _walk(top: str) -> Iterator[Item]:
    # one listing per directory open, each held as a few sorted strings (_Listing)
    stack: list[Iterator[tuple[bool, str]]] = [iter([(True, top)])]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        is_directory, path = entry
        if not is_directory:
            yield Item(display_name(path), path=path, regular_only=True)
            continue
        try:
            listing = _Listing(path)
        except OSError as exc:
            yield Item(
                display_name(path), path=path, error=f"cannot list directory: {exc.strerror or exc}"
            )
            continue
        stack.append(iter(listing))


class _Listing:
    """The subdirectories and *.xml files of a directory in name order, held as runs of
    _RUN names sorted and joined into one string each, merged when read: a directory of
    10⁵ domains costs about its names' bytes, not 10⁵ DirEntry objects and tuples
    (hundreds of bytes each) for as long as the batch runs."""

    def __init__(self, path: str):
        self.path = path
        self.runs: list[str] = []
        names: list[str] = []
        with os.scandir(path) as listing:
            for entry in listing:
                try:
                    directory = entry.is_dir(follow_symlinks=False)
                except OSError:
                    directory = False
                if directory or entry.name.endswith(".xml"):
                    # NUL and / are in no file name: NUL sorts first, so a name's flag
                    # never changes its order, and / separates the names of a run
                    names.append(f"{entry.name}\0{'d' if directory else 'f'}")
                    if len(names) == _RUN:
                        self._add_run(names)
        self._add_run(names)

    def _add_run(self, names: list[str]) -> None:
        if names:
            names.sort()
            self.runs.append("/".join(names))
            names.clear()

    def __iter__(self) -> Iterator[tuple[bool, str]]:
        import heapq

        for name in heapq.merge(*(_split(run) for run in self.runs)):
            stem, _, flag = name.partition("\0")
            yield flag == "d", os.path.join(self.path, stem)


_RUN = 4096  # names sorted at a time while a directory is listed


def _split(run: str) -> Iterator[str]:
    """The names of a run, one at a time (str.split would copy them all at once)."""
    start = 0
    while (end := run.find("/", start)) >= 0:
        yield run[start:end]
        start = end + 1
    yield run[start:]


class _Patterns(NamedTuple):
    """The patterns that cut a stream into domains, compiled by the first stream read (a
    check of files compiles none)."""

    # Where a broken domain of a stream ends: before the next line that starts a document.
    resync: re.Pattern[bytes]
    # What may stand between domains: white space, comments, processing instructions
    # (an XML declaration starts the next document: it stays with it).
    misc: re.Pattern[bytes]
    element: re.Pattern[bytes]
    domain_start: re.Pattern[bytes]
    # What follows a domain on its last line (`</domain> <!-- end -->`) belongs to none.
    rest_of_line: re.Pattern[bytes]


@functools.cache
def _patterns() -> _Patterns:
    return _Patterns(
        resync=re.compile(rb"(?:(?<=\n)|^)<(?:\?xml|domain)\b"),
        misc=re.compile(rb"(?:\s+|<!--.*?-->|<\?(?!xml[\s?]).*?\?>)*", re.S),
        element=re.compile(rb"<[A-Za-z_:]"),
        domain_start=re.compile(rb"(?:\s+|<!--.*?-->|<\?.*?\?>)*<domain[\s/>]", re.S),
        rest_of_line=re.compile(rb"(?:[ \t]+|<!--.*?-->|<\?(?!xml[\s?]).*?\?>)*\n?", re.S),
    )


_BOMS = (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")
_DOCUMENT_END = 5  # libxml2's XML_ERR_DOCUMENT_END: "Extra content at the end"
_UNDECLARED_ENTITY = etree.ErrorTypes.ERR_UNDECLARED_ENTITY  # "Entity 'A' not defined"


def split_stream(stream: IO[bytes], limit: int | None = None) -> Iterator[Item]:
    """Each document of a stream of several, cut where libxml2's incremental parser
    ends a top-level element (`</domain >`, `</domain> <!-- end -->` and two domains
    on one line included).  A document the parser refuses is one item, running to the
    next line that starts with `<domain` or `<?xml`; one bigger than LIMIT is an error
    item, and the stream goes on after it.  A UTF-16 stream is one document."""
    limit = input_limit() if limit is None else limit
    splitter = _Splitter(limit)
    read = getattr(stream, "read1", stream.read)  # what a pipe has now, not 64 KiB
    first = True
    while True:
        chunk = read(_CHUNK)
        if first and chunk[:2] in _BOMS:
            data = chunk + stream.read(limit + 1 - len(chunk))
            if len(data) > limit:
                yield Item("<stdin>", error=str(too_large("<stdin>", limit).message))
            else:
                yield Item("<stdin>", data)
            return
        first = False
        if not chunk:
            yield from splitter.finish()
            return
        yield from splitter.feed(chunk)


def _pull_parser() -> etree.XMLPullParser:
    # events of <domain> elements only: a domain of many small elements costs no
    # Python call per element
    return etree.XMLPullParser(
        events=("start", "end"),
        tag="domain",
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
    )


def _swallowed_entity(parser: etree.XMLPullParser) -> bool:
    """Whether the last feed met an undefined entity: lxml lets it pass when entities
    are not resolved, and ends the parse there."""
    return any(error.type == _UNDECLARED_ENTITY for error in parser.feed_error_log)


def _safe_end(data: bytes | bytearray, position: int, depth: int, mark: bytes) -> int:
    """The last '>' of DATA from POSITION on up to which a parser DEPTH <domain>
    elements deep into its root (0: not yet in it) can be fed at once: the root cannot
    end before DEPTH end tags, counted from above as the occurrences of MARK (in a
    comment too): b"</domain" for the splitter's pieces, b"</" for the finer pieces
    of _Splitter._refusal."""
    first = data.find(b">", position)
    if first < 0 or depth < 1:
        return first
    end_tag = position
    for _ in range(depth):
        end_tag = data.find(mark, end_tag)
        if end_tag < 0:
            break
        end_tag += len(mark)
    limit = len(data) if end_tag < 0 else end_tag - len(mark)
    return max(first, data.rfind(b">", position, limit))


class _Splitter:
    def __init__(self, limit: int):
        self.limit = limit
        self.buffer = b""  # read, not yet given to the parser
        self.item = bytearray()  # the current document's bytes given to the parser
        self.oversized = False
        self.broken = False  # the parser refused the current document
        self.line = 0  # lines before self.item in the stream
        self.same_line = False  # self.item starts on the line the last one ended
        self.rewind = 0  # bytes of the last piece the parser refused
        self.skipped_lines = 0  # lines of an oversized document, not kept
        self.references = False  # the stream holds an '&' (an entity may end a parse)
        self._new_parser()

    def _new_parser(self) -> None:
        self.parser = _pull_parser()
        self.depth = 0  # <domain> elements open
        self.started = False  # the document's root <domain> has started

    def feed(self, chunk: bytes) -> Iterator[Item]:
        self.buffer += chunk
        self.references = self.references or b"&" in chunk
        position = 0
        while True:
            if self.broken:
                match = self._resync(position)
                if match is None:  # keep a tail: the next chunk may complete a match
                    keep = max(position, len(self.buffer) - 16)
                    self._keep(self.buffer[position:keep])
                    self.buffer = self.buffer[keep:]
                    return
                self._keep(self.buffer[position:match])
                position = match
                yield self._emit()
                continue
            end = self._safe_end(position)
            if end < 0:
                if len(self.buffer) - position > _CHUNK:  # no '>' in sight: go on
                    yield from self._parse(self.buffer[position:])  # without holding it
                    position = len(self.buffer) - self.rewind
                    if self.rewind:
                        continue
                self.buffer = self.buffer[position:]
                return
            piece = self.buffer[position : end + 1]
            position = end + 1
            yield from self._parse(piece)
            position -= self.rewind  # refused: look for where the next one starts

    def _safe_end(self, position: int) -> int:
        """The last '>' from POSITION on up to which the parser can be fed at once: the
        root is DEPTH <domain> elements deep, so it cannot end before DEPTH `</domain`.
        Feeding a domain in a few pieces, not one per end tag, cuts the splitting of a
        stream of the bench's mixed set from 52 to 23 us a domain (issue 18); a refused
        piece is looked into as finer ones (_refusal)."""
        return _safe_end(self.buffer, position, self.depth if self.started else 0, b"</domain")

    def _resync(self, position: int) -> int | None:
        """Where in the buffer the next document starts after a refused one: a line
        that starts with <domain or <?xml, after the refused one's own start."""
        while True:
            match = _patterns().resync.search(self.buffer, position)
            if match is None:
                return None
            start = match.start()
            at_line_start = start > 0 or not self.item or self.item.endswith(b"\n")
            # the refused document's own element began before (text that holds no
            # element is refused with the document after it)
            if at_line_start and _patterns().element.search(
                bytes(self.item) + self.buffer[position:start]
            ):
                return start
            position = start + 1

    def _parse(self, piece: bytes) -> Iterator[Item]:
        self.rewind = 0
        if not self.item and not self.started:
            stripped = piece.lstrip()
            newlines = piece.count(b"\n", 0, len(piece) - len(stripped))
            self.line += newlines
            self.same_line = self.same_line and not newlines
            piece = stripped
            if not piece:
                return
        try:
            self.parser.feed(piece)
        except etree.XMLSyntaxError as exc:
            if exc.code == _DOCUMENT_END and _patterns().domain_start.match(self.item):
                # a domain that closed itself (<domain/>) is only reported with what
                # follows it: the new document starts with this piece
                yield self._emit()
                yield from self._parse(piece)
                return
            self._refuse(piece)
            return
        # lxml lets an undefined entity pass when entities are not resolved, and ends
        # the parse there: what follows would be read as a new document (its
        # `</domain>` refused as one more).  The document is refused as it is when read
        # alone.  (The log is asked only in a stream that holds an '&': a copy of it
        # per piece costs a sixth of the splitting.)
        if self.references and _swallowed_entity(self.parser):
            self._refuse(piece)
            return
        if len(self.item) + len(piece) > self.limit:
            self._refuse(piece, too_big=True)  # not parsed further: its tree would grow
            return
        self._keep(piece)
        for event, _ in self.parser.read_events():
            self.depth += 1 if event == "start" else -1
            self.started = True
        if self.started and self.depth == 0:
            yield self._emit()
        # Anything else at the top (a fragment, a domain cut in the middle) is not a
        # domain of the stream: with what follows, it is refused as the parser refuses
        # the next top-level element (or it is the whole input, read as one).

    def _refuse(self, piece: bytes, too_big: bool = False) -> None:
        """The document is refused in PIECE (TOO_BIG: passes the input limit in it): it
        keeps what the finer pieces before the refused one hold, and the next document
        is looked for from there (from after the finer piece that passes the limit)."""
        if too_big and b"<domain" not in piece and b"</domain" not in piece:
            # no <domain> starts or ends in it: the finer pieces are cut at the same
            # depth, without parsing the document again
            depth, position = (self.depth if self.started else 0), 0
            while len(self.item) + position <= self.limit:
                end = _safe_end(piece, position, depth, b"</")
                position = len(piece) if end < 0 else end + 1
            accepted, passes_limit = position, True
        elif (
            not too_big
            and len(self.item) + len(piece) <= self.limit
            and _patterns().resync.search(piece) is None
        ):
            # no line in it starts a document: the next one is looked for after it
            # wherever the finer pieces would have been refused (the usual case)
            accepted, passes_limit = 0, False
        else:
            accepted, passes_limit = self._refusal(piece)
        if too_big and not passes_limit:
            accepted = len(piece)
        self._keep(piece[:accepted])
        self.broken = True
        self.rewind = len(piece) - accepted

    def _refusal(self, piece: bytes) -> tuple[int, bool]:
        """Where the document fed so far is refused in PIECE when PIECE is fed in finer
        pieces, cut at the '>' before each end tag ('</'), to a parser of its own: the
        bytes of PIECE before the refused finer piece (or up to the end of the one that
        passes the input limit, and True).  A refused document thus ends, and the next
        one is looked for, where they did when every piece was that fine.  0 when the
        finer pieces are all taken (the refusal needs what follows)."""
        # (the document's own parser is let go first: one tree of it at a time)
        self.parser = parser = _pull_parser()
        depth, started = 0, False
        try:
            for start in range(0, len(self.item), _CHUNK):  # (one feed of 10 MB is refused)
                parser.feed(bytes(self.item[start : start + _CHUNK]))
        except etree.XMLSyntaxError:
            return 0, False
        position = 0
        while position < len(piece):
            for event, _ in parser.read_events():
                depth += 1 if event == "start" else -1
                started = True
            end = _safe_end(piece, position, depth if started else 0, b"</")
            end = len(piece) - 1 if end < 0 else end
            try:
                parser.feed(piece[position : end + 1])
            except etree.XMLSyntaxError:
                return position, False
            if self.references and _swallowed_entity(parser):
                return position, False
            position = end + 1
            if len(self.item) + position > self.limit:
                return position, True
        return 0, False

    def _keep(self, piece: bytes) -> None:
        if not self.oversized and len(self.item) + len(piece) > self.limit:
            self.oversized = True
        if self.oversized:
            self.skipped_lines += piece.count(b"\n")  # counted, not kept
        else:
            self.item += piece

    def _emit(self) -> Item:
        data = bytes(self.item)
        rest = _patterns().rest_of_line.match(data) if self.same_line else None
        if rest is not None and rest.end() < len(data):
            self.line += data.count(b"\n", 0, rest.end())
            data = data[rest.end() :]
            stripped = data.lstrip()
            self.line += data.count(b"\n", 0, len(data) - len(stripped))
            data = stripped
        start = self.line
        self.line += data.count(b"\n") + self.skipped_lines
        self.skipped_lines = 0
        item = Item("<stdin>", data, start)
        if self.oversized:
            item = Item("<stdin>", None, start, error=too_large("<stdin>", self.limit).message)
        self.item = bytearray()
        self.oversized = self.broken = False
        self.same_line = True
        self._new_parser()
        return item

    def finish(self) -> Iterator[Item]:
        if self.buffer:
            tail, self.buffer = self.buffer, b""
            if self.broken:
                self._keep(tail)
            else:
                yield from self._parse(tail)
                if self.rewind:
                    self._keep(tail[len(tail) - self.rewind :])
        if self.oversized or self.broken or self.started:
            yield self._emit()
        elif self.item and _patterns().misc.fullmatch(bytes(self.item)) is None:
            yield self._emit()  # text that is no document: its own error


class Settings(NamedTuple):
    """What every domain of the batch is checked against, and how results are printed."""

    releases: tuple[str, ...]
    libvirt_schema: bool
    json_lines: bool
    host: str = "none"  # api.host_of: "none" (no host facts) or "local"


def _source(item: Item) -> str:
    return item.source if not item.line_offset else f"{item.source}#line{item.line_offset + 1}"


def check_item(item: Item, settings: Settings) -> tuple[int, str, dict[str, Any]]:
    """(exit status, text to print, the JSON record) of one domain; never raises."""
    from .api import check, host_of
    from .model import domain_from_document
    from .report import text_report
    from .xmlinput import parse_bytes, read_bytes

    source = _source(item)
    try:
        if item.error is not None:
            raise InputError(item.error, source=source, line=0)
        if item.data is not None:
            data, name = item.data, source
        else:
            data, name = read_bytes(item.path or item.source, item.regular_only)
        domain = domain_from_document(parse_bytes(data, name))
        common, per_release = check(
            domain, settings.releases, settings.libvirt_schema, host_of(settings.host)
        )
    except UsageError as exc:  # e.g. no table of that release for this domain's arch
        return (
            exc.exit_code,
            f"{source}: {exc}\n",
            {"source": source, "ok": False, "usage_error": exc.message},
        )
    except VirtxlateError as exc:
        return (
            exc.exit_code,
            str(exc) + "\n",
            {"source": source, "ok": False, "input_error": str(exc)},
        )
    except (RecursionError, MemoryError) as exc:
        error = InputError(
            f"too big or too deeply nested to check ({type(exc).__name__})", source=source
        )
        return (
            EXIT_INPUT,
            str(error) + "\n",
            {"source": source, "ok": False, "input_error": str(error)},
        )
    findings = common + [f for _, found in per_release for f in found]
    errors = sum(f.is_error for f in findings)
    record = {
        "source": source,
        "ok": not errors,
        "errors": errors,
        "warnings": sum(f.severity == "warning" for f in findings),
        "findings": [f.to_json() for f in findings],
    }
    if len(per_release) > 1:
        record["releases"] = {
            table.version: not any(f.is_error for f in common + found)
            for table, found in per_release
        }
    # the text only when it is printed: JSON lines never build it
    text = text_report(findings, domain) if findings and not settings.json_lines else ""
    return (EXIT_FINDINGS if errors else EXIT_OK), text, record


def _work(arguments: tuple[Item, Settings]) -> tuple[int, str, dict[str, Any]]:
    return check_item(*arguments)


def _worker_signals() -> None:
    import signal

    # The parent answers SIGINT (a terminal's ^C reaches every process of the group).
    # SIGTERM (from the parent, or sent to the whole group) ends a worker by SystemExit,
    # which multiprocessing ends without a traceback; unlike dying at once, it lets go
    # of the task queue's lock an idle worker holds, which the parent's clean-up needs.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_worker)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _signals())


def _signals() -> set[int]:
    """The signals a batch answers (signal is imported by a batch only: a one-domain
    check does not pay for its enums)."""
    import signal

    return {signal.SIGINT, signal.SIGTERM}


def _start_pool(jobs: int) -> Any:
    """A pool of JOBS workers whose processes and threads take no signal before they
    are ready for it: the parent's threads never (the main thread answers), a worker
    once its handlers are set."""
    import multiprocessing  # a one-domain check starts no process: not imported for it
    import signal

    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _signals())
    try:
        return multiprocessing.get_context("fork").Pool(jobs, _worker_signals)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _exit_worker(signum: int, frame: object) -> None:
    raise SystemExit(EXIT_SIGTERM)


class _Terminated(Exception):
    pass


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _capped_jobs(jobs: int, first: list[Item], more: bool, err: IO[str]) -> int:
    """JOBS, but at most JOBS_PER_CPU per CPU and at most the number of inputs; said on
    ERR when it is less than asked."""
    cpus = cpu_count()
    capped, reason = jobs, ""
    if capped > JOBS_PER_CPU * cpus:
        capped = JOBS_PER_CPU * cpus
        reason = f"{JOBS_PER_CPU} per CPU, {cpus} CPU{'s' if cpus > 1 else ''}"
    if not more and capped > max(len(first), 1):
        capped = max(len(first), 1)
        reason = f"{len(first)} input{'s' if len(first) != 1 else ''}"
    if capped < jobs:
        err.write(f"virtxlate: --jobs {jobs} capped at {capped} ({reason})\n")
    return capped


def run(
    arguments: list[str],
    settings: Settings,
    jobs: int,
    out: IO[str],
    err: IO[str],
    stdin: IO[bytes] | None = None,
    stdin_items: Iterable[Item] | None = None,
) -> int:
    """Check every input, print each result as it comes (in input order) and a summary
    on ERR; the worst exit status (3 unreadable input, 2 usage, 1 errors, 0 none), or
    130 / 143 after SIGINT / SIGTERM, with the results so far and the summary."""
    import json
    import signal

    started = time.monotonic()
    progress = _Progress(err, started)
    status = EXIT_OK
    domains = with_errors = with_warnings = 0
    interrupted = ""
    pool = None
    window = _Window(32)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main_thread else None
    try:
        items = iter_items(arguments, stdin, stdin_items)
        # no more read ahead than the processes the CPUs allow: a stream's are domains
        first = list(itertools.islice(items, min(jobs, JOBS_PER_CPU * cpu_count())))
        more = next(items, None)
        if more is not None:
            first.append(more)
        jobs = _capped_jobs(jobs, first, more is not None, err) if jobs > 1 else 1
        window = _Window(jobs * 32)
        work = ((item, settings) for item in window.bounded(itertools.chain(first, items)))
        if jobs > 1:
            out.flush()
            err.flush()
            pool = _start_pool(jobs)
        results = pool.imap(_work, work, chunksize=8) if pool else map(_work, work)
        for code, text, record in results:
            window.release()
            domains += 1
            with_errors += code != EXIT_OK
            with_warnings += bool(record.get("warnings"))
            status = max(status, code)
            if settings.json_lines:
                out.write(json.dumps(record) + "\n")
            elif text:
                out.write(text)
            out.flush()  # each result as it comes, also into a pipe
            progress.tick(domains)
        if pool is not None:
            # every result is in and the workers wait for work: close() gives each its
            # end.  terminate() first drains the task queue holding the queue's read
            # lock for good (multiprocessing's _help_stuff_finish), then waits for the
            # workers: a batch of 10⁴ was seen hanging there after its last result.
            pool.close()
            pool.join()
            pool = None
    except KeyboardInterrupt:
        status, interrupted = EXIT_SIGINT, "interrupted (SIGINT) after "
    except _Terminated:
        status, interrupted = EXIT_SIGTERM, "terminated (SIGTERM) after "
    finally:
        window.stop()
        if pool is not None:
            pool.terminate()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    out.flush()
    progress.done()
    seconds = time.monotonic() - started
    err.write(
        f"virtxlate check: {interrupted}{domains} domains, {with_errors} with errors, "
        f"{with_warnings} with warnings, {seconds:.2f} s\n"
    )
    err.flush()
    return status


class _Window:
    """At most SIZE inputs read and not yet answered: a pool reads its input ahead as
    fast as it can, which for a stream would hold all of it in memory."""

    def __init__(self, size: int):
        self.slots = threading.Semaphore(size)
        self.stopped = threading.Event()

    def bounded(self, items: Iterable[Item]) -> Iterator[Item]:
        for item in items:
            while not self.slots.acquire(timeout=0.1):
                if self.stopped.is_set():  # the pool is ending: stop reading
                    return
            yield item

    def release(self) -> None:
        self.slots.release()

    def stop(self) -> None:
        self.stopped.set()


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
