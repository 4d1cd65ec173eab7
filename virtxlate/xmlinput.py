"""Hardened reading of libvirt domain XML: a whole <domain> or a storage fragment.

No DTDs, no entities, no network, no huge trees; element line numbers are kept so
that every message can point at the line the user wrote.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
import sys
from typing import IO, Any, Literal

from lxml import etree

from .errors import ArgumentTypeError, InputError, UsageError
from .records import Record

RootKind = Literal["domain", "devices", "controller", "disk"]
ROOT_KINDS: tuple[str, ...] = ("domain", "devices", "controller", "disk")

# One parser for the whole process: entity resolution off, no DTD loading or
# validation, no network access, libxml2's default size limits (huge_tree off).
_PARSER = etree.XMLParser(
    resolve_entities=False,
    load_dtd=False,
    dtd_validation=False,
    no_network=True,
    huge_tree=False,
    remove_blank_text=False,
    remove_comments=False,
    remove_pis=False,
)


class XmlDocument(Record):
    """A parsed input: the original tree (written back unchanged) and where it came from."""

    _fields = ("tree", "source", "kind", "source_text")

    def __init__(
        self, tree: etree._ElementTree, source: str, kind: RootKind, source_text: str = ""
    ):
        self.tree = tree
        self.source = source
        self.kind = kind
        self.source_text = source_text

    @property
    def root(self) -> etree._Element:
        return self.tree.getroot()

    def to_xml(self) -> str:
        """The document as it was read, with everything virtxlate does not know kept."""
        return etree.tostring(self.tree, encoding="unicode")


# The largest input read as one domain: a `virsh dumpxml` is a few KiB, one with a
# thousand disks well under 1 MiB; libxml2 needs about ten times the input in memory.
DEFAULT_INPUT_LIMIT = 64 * 1024 * 1024
INPUT_LIMIT_ENV = "VIRTXLATE_MAX_INPUT"
_limit_override: int | None = None
_SIZE_RE = r"(\d{1,15})\s*([kmg]i?b?)?"  # (compiled when a size is read)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(text: str) -> int:
    """A size in bytes from '65536', '64M', '64MiB' or '1g' (binary units)."""
    match = re.fullmatch(_SIZE_RE, text.strip(), re.IGNORECASE)
    if match is None or int(match.group(1)) == 0:
        raise UsageError(f"'{text[:40]}' is not a size (expected e.g. 65536, 64M or 1G)")
    return int(match.group(1)) * _UNITS[(match.group(2) or "")[:1].lower()]


def set_input_limit(size: int | None) -> None:
    """Set the input limit for this process (--max-input); None: back to the default."""
    global _limit_override
    _limit_override = size


def input_limit() -> int:
    """The largest input, in bytes: --max-input, else $VIRTXLATE_MAX_INPUT, else 64 MiB."""
    if _limit_override is not None:
        return _limit_override
    text = os.environ.get(INPUT_LIMIT_ENV)
    if text:
        try:
            return parse_size(text)
        except UsageError:
            raise UsageError(
                f"${INPUT_LIMIT_ENV}: '{text[:40]}' is not a size (expected e.g. 65536, 64M or 1G)"
            ) from None
    return DEFAULT_INPUT_LIMIT


def too_large(source: str, limit: int) -> InputError:
    return InputError(
        f"input larger than {_size_text(limit)}, not read (raise the limit "
        f"with --max-input SIZE or ${INPUT_LIMIT_ENV})",
        source=source,
        line=0,
    )


def _size_text(size: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def display_name(path: str | bytes) -> str:
    r"""PATH as virtxlate writes a file name, losslessly and on one line: a backslash as
    ``\\``, a control character as ``\n``, ``\t`` or ``\xNN``, and each byte that is not
    UTF-8 (os.fsdecode's surrogateescape) as ``\xNN``; every other character as it is."""
    text = os.fsdecode(path)
    if text.isprintable() and "\\" not in text:
        return text
    out = []
    for char in text:
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8
            out.append(f"\\x{code - 0xDC00:02x}")
        elif char in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[char])
        elif code < 0x20 or 0x7F <= code < 0xA0 or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def read_bytes(path: str | bytes, regular_only: bool = False) -> tuple[bytes, str]:
    """Read PATH, or standard input for ``-``; return the bytes and a name for messages.

    At most input_limit() bytes are read: a bigger regular file is refused before any is
    read, a pipe or device (a link to /dev/zero) once the limit is passed.  With
    REGULAR_ONLY (the files a directory holds) a FIFO, socket or device is refused
    without being opened for reading, so it cannot block the caller.
    """
    limit = input_limit()
    if path == "-":
        return read_limited(sys.stdin.buffer, limit, "<stdin>"), "<stdin>"
    name = display_name(path)
    flags = os.O_RDONLY | getattr(os, "O_NOCTTY", 0)
    try:
        if regular_only:
            mode = os.stat(path).st_mode
            if not stat.S_ISREG(mode):
                raise InputError(
                    f"not a regular file ({_file_kind(mode)}), not read", source=name, line=0
                )
            flags |= os.O_NONBLOCK  # replaced by a FIFO since the stat: never wait
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=name, line=0) from None
    try:
        status = os.fstat(fd)
        mode = status.st_mode
        if regular_only and not stat.S_ISREG(mode):
            raise InputError(
                f"not a regular file ({_file_kind(mode)}), not read", source=name, line=0
            )
        if stat.S_ISDIR(mode):
            raise InputError("cannot read: Is a directory", source=name, line=0)
        if stat.S_ISREG(mode):
            if status.st_size > limit:
                raise too_large(name, limit)
            return _read_regular(fd, status.st_size, limit, name), name
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return read_limited(handle, limit, name), name
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=name, line=0) from None
    finally:
        os.close(fd)


def _read_regular(fd: int, size: int, limit: int, source: str) -> bytes:
    """A regular file's bytes, read with os.read asking for its size and one byte more
    (it may have grown since its fstat): a buffered reader's read(LIMIT + 1) maps and
    unmaps LIMIT bytes (64 MiB) for every file and asks fstat, ioctl and lseek first,
    which a batch of small domains pays per domain (issue 18)."""
    chunks: list[bytes] = []
    total = 0
    want = size + 1
    while chunk := os.read(fd, min(want, limit + 1 - total)):
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise too_large(source, limit)
        want = _READ_CHUNK
    return b"".join(chunks)


_READ_CHUNK = 1 << 16  # bytes asked at a time of a file that grew since its fstat


def read_limited(handle: IO[bytes], limit: int, source: str) -> bytes:
    """Everything HANDLE holds, or InputError once it holds more than LIMIT bytes."""
    data = handle.read(limit + 1)
    if data is None:
        data = b""
    if len(data) > limit:
        raise too_large(source, limit)
    return data


def _file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return kind
    return "not a file"


def parse_bytes(data: bytes, source: str = "<input>") -> XmlDocument:
    """Parse DATA as a domain or fragment; raise InputError with file and line on any problem."""
    if len(data) > input_limit():
        raise too_large(source, input_limit())
    if not data.strip():
        raise InputError(
            "empty input: expected a <domain>, <devices>, <controller> or <disk>",
            source=source,
            line=1,
        )
    try:
        tree = etree.ElementTree(etree.fromstring(data, _PARSER))
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or (exc.position[0] if exc.position else 0)
        message = _clean_libxml_message(exc.msg or str(exc))
        raise InputError(f"malformed XML: {message}", source=source, line=line) from None
    _refuse_dtd(tree, source, data)
    root = tree.getroot()
    kind = _root_kind(root, source)
    return XmlDocument(
        tree=tree, source=source, kind=kind, source_text=_decoded(data, tree.docinfo.encoding)
    )


def _decoded(data: bytes, encoding: str | None) -> str:
    """The input as text in the encoding libxml2 read it in (UTF-16 included), for the
    lines a report quotes."""
    try:
        codec = codecs.lookup(encoding or "utf-8").name
    except LookupError:
        codec = "utf-8"
    if codec.startswith("utf-16") and data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        codec = "utf-16"  # the byte-order mark says which
    elif codec == "utf-16" and len(data) > 1:
        codec = "utf-16-le" if data[1:2] == b"\0" else "utf-16-be"
    return data.decode(codec, errors="replace").lstrip("\ufeff")


def parse_text(text: str, source: str = "<input>") -> XmlDocument:
    return parse_bytes(text.encode("utf-8", errors="surrogateescape"), source)


def load_document(given: Any) -> XmlDocument:
    """A domain XML from what a caller has at hand:

    - ``str``: the XML text itself when it starts with ``<`` (after white space), else a
      file path, ``-`` meaning standard input;
    - ``bytes``, ``bytearray``, ``memoryview``: the XML document as bytes;
    - an ``os.PathLike`` (``pathlib.Path``): the file it names;
    - a file object opened in binary or text mode (``open(...)``, ``io.BytesIO``,
      ``io.StringIO``): what its ``read()`` returns, from where it stands.

    Anything else raises ArgumentTypeError (a TypeError) naming the types taken.
    """
    if isinstance(given, str):
        if given.lstrip().startswith("<"):
            return parse_text(given)
        return parse_bytes(*read_bytes(given))
    if isinstance(given, bytes | bytearray | memoryview):
        return parse_bytes(bytes(given))
    if isinstance(given, os.PathLike):
        path = os.fspath(given)
        return parse_bytes(*read_bytes(path))
    read = getattr(given, "read", None)
    if callable(read):
        source = (
            display_name(given.name)
            if isinstance(getattr(given, "name", None), str | bytes)
            else "<file object>"
        )
        data = read(input_limit() + 1)
        if isinstance(data, str):
            data = data.encode("utf-8", errors="surrogateescape")
        if not isinstance(data, bytes | bytearray):
            raise ArgumentTypeError(
                f"the file object's read() gave {type(data).__name__}, not bytes or str"
            )
        if len(data) > input_limit():
            raise too_large(source, input_limit())
        return parse_bytes(bytes(data), source)
    raise ArgumentTypeError(
        f"a domain is given as XML text (str), bytes, a path (str or os.PathLike) or a "
        f"file object, not {type(given).__name__}"
    )


def _refuse_dtd(tree: etree._ElementTree, source: str, data: bytes) -> None:
    # libvirt never writes a DOCTYPE; one in a domain XML is at best noise and at
    # worst an entity-expansion bomb or an external entity pointing at a host file.
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        line = data[: data.find(b"<!DOCTYPE")].count(b"\n") + 1 if b"<!DOCTYPE" in data else 1
        raise InputError(
            "DOCTYPE declarations and entities are not allowed in domain XML",
            source=source,
            line=line,
        )
    for node in tree.iter(etree.Entity):
        raise InputError(
            f"entity reference &{node.name}; is not allowed",
            source=source,
            line=node.sourceline or 0,
        )


def _root_kind(root: etree._Element, source: str) -> RootKind:
    tag = root.tag if isinstance(root.tag, str) else ""
    if tag not in ROOT_KINDS:
        shown = etree.QName(root).localname if tag else str(root.tag)
        raise InputError(
            f"root element <{shown}> is not a <domain>, <devices>, <controller> or <disk>",
            source=source,
            line=root.sourceline or 1,
        )
    return tag  # type: ignore[return-value]


def _clean_libxml_message(message: str) -> str:
    # libxml2 appends ", line N, column M" which we already give as FILE:LINE.
    # It may also quote the offending text on a line of its own: the first line says it.
    head, _, _ = message.partition(", line ")
    return head.strip().splitlines()[0] if head.strip() else message.strip()
