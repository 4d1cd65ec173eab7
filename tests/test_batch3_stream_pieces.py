"""The stream splitter feeds a domain in a few pieces, cut before each `</domain` (issue
18), and looks into a refused or too big piece as the finer pieces it fed before (cut
before each `</`): where a refused document ends, and where the next one is looked for,
stay where they were."""

from __future__ import annotations

import io

from virtxlate import batch


def _domain(name: bytes) -> bytes:
    return b"<domain type='kvm'><name>" + name + b"</name><memory>1</memory></domain>"


def _items(stream: bytes, limit: int | None = None) -> list[tuple[bytes | None, int, bool]]:
    return [
        (item.data, item.line_offset, item.error is not None)
        for item in batch.split_stream(io.BytesIO(stream), limit=limit)
    ]


def test_a_refused_domain_runs_to_the_next_line_after_its_refusal():
    # a is never closed: b is read inside it, and c's broken end tag refuses the lot,
    # which runs to d (fed whole up to c's `</domain`, the piece that holds b's line
    # would start the next domain at b)
    unclosed = b"<domain type='kvm'><name>a</name>"
    broken = b"<domain type='kvm'><name>c</na me></domain>"
    stream = unclosed + b"\n" + _domain(b"b") + b"\n" + broken + b"\n" + _domain(b"d") + b"\n"
    assert _items(stream) == [
        (unclosed + b"\n" + _domain(b"b") + b"\n" + broken + b"\n", 0, False),
        (_domain(b"d"), 3, False),
    ]


def test_a_domain_too_big_ends_where_it_passes_the_limit():
    # never closed and bigger than the limit: the next domain still starts on its line
    # (a piece fed whole up to f's `</domain` would pass the limit after f's start)
    big = b"<domain type='kvm'><name>e</name><description>" + b"x" * 3000 + b"</description>"
    stream = big + b"\n" + _domain(b"f") + b"\n" + _domain(b"g") + b"\n"
    assert _items(stream, limit=1000) == [
        (None, 0, True),
        (_domain(b"f"), 1, False),
        (_domain(b"g"), 2, False),
    ]


def test_a_domain_is_fed_in_a_few_pieces(monkeypatch):
    fed: list[bytes] = []
    original = batch._Splitter._parse

    def parse(self, piece):  # type: ignore[no-untyped-def]
        fed.append(piece)
        return original(self, piece)

    monkeypatch.setattr(batch._Splitter, "_parse", parse)
    domain = (
        b"<domain type='kvm'><name>h</name><memory>1</memory><devices>"
        + b"<disk type='file'><source file='/x'/><target dev='vda'/></disk>" * 5
        + b"</devices></domain>"
    )
    assert _items(domain + b"\n") == [(domain, 0, False)]
    # its start tag, all up to its end tag, its end tag (and the last line's end)
    assert fed[:3] == [
        b"<domain type='kvm'>",
        domain[len(b"<domain type='kvm'>") : -len(b"</domain>")],
        b"</domain>",
    ]
