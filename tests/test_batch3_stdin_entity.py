"""A domain with an undefined entity reference on standard input (as hypothesis makes
in test_check_fuzz.py): one input error, as the same domain in a file gets, not two
"domains" cut at its `</domain>`.  lxml lets the entity pass when entities are not
resolved and ends its parse there; the stream splitter refuses the document instead."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

from virtxlate import batch
from virtxlate.cli import main

BAD = b"<domain type='kvm'><name>&A;</name><memory>1</memory></domain>"
GOOD = b"<domain type='kvm'><name>b</name><memory>1</memory></domain>"
ERROR = "malformed XML: Entity 'A' not defined"


class _Stdin:
    def __init__(self, data: bytes):
        self.buffer = io.BytesIO(data)


def _check(monkeypatch, capsys, data: bytes, *words: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", _Stdin(data))
    code = main(["check", "-", "--qemu", "7.2", *words])
    out, err = capsys.readouterr()
    return code, out, err


def test_one_domain_with_an_undefined_entity_is_one_input_error(monkeypatch, capsys):
    assert _check(monkeypatch, capsys, BAD) == (3, "", f"<stdin>:1: error: {ERROR}\n")


def test_the_error_gives_the_line_of_the_entity(monkeypatch, capsys):
    data = b"\n" + BAD.replace(b"<name>", b"\n<name>\n")  # the entity on line 4
    assert _check(monkeypatch, capsys, data) == (3, "", f"<stdin>:4: error: {ERROR}\n")


def test_the_same_domain_in_a_file_says_the_same(tmp_path, monkeypatch, capsys):
    path = tmp_path / "bad.xml"
    path.write_bytes(BAD)
    assert main(["check", str(path), "--qemu", "7.2"]) == 3
    assert capsys.readouterr() == ("", f"{path}:1: error: {ERROR}\n")


def test_as_a_process():
    result = subprocess.run(
        [sys.executable, "-m", "virtxlate", "check", "-", "--qemu", "7.2"],
        input=BAD + b"\n",
        capture_output=True,
        cwd=REPO,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (3, b"")
    assert result.stderr.decode() == f"<stdin>:1: error: {ERROR}\n"


@pytest.mark.parametrize(
    "bad",
    [
        BAD,
        BAD.replace(b"<name>&A;", b"<name x='&A;'>a"),  # in an attribute
        BAD.replace(b"</domain>", b"&A;</domain>"),  # the root's own text
        BAD.replace(b"&A;", b"a").replace(
            b"<memory>", b"<devices><disk>&A;</disk></devices><memory>"
        ),
        BAD.replace(b"type='kvm'", b"type='&A;'"),  # in the root's start tag
    ],
    ids=["text", "attribute", "root-text", "deep", "root-attribute"],
)
def test_several_domains_still_split_around_the_bad_one(bad):
    stream = GOOD + b"\n" + bad + b"\n" + GOOD + b"\n"
    items = list(batch.split_stream(io.BytesIO(stream)))
    assert [(item.data, item.line_offset) for item in items] == [
        (GOOD, 0),
        (bad + b"\n", 1),  # (a refused document runs to the next line's start)
        (GOOD, 2),
    ]


def test_a_stream_with_a_bad_domain_answers_each(monkeypatch, capsys):
    code, out, err = _check(monkeypatch, capsys, BAD + b"\n" + GOOD + b"\n", "--format", "jsonl")
    assert code == 3
    lines = out.splitlines()
    assert len(lines) == 2
    assert f'"input_error": "<stdin>:1: error: {ERROR}"' in lines[0]
    assert lines[1].startswith('{"source": "<stdin>#line2", "ok": true')
    assert err.startswith("virtxlate check: 2 domains, 1 with errors, ")


def _domain(number: int) -> str:
    return (
        f"<domain type='kvm'><name>d{number}</name><memory unit='MiB'>64</memory><devices>"
        f"<disk type='file' device='disk'><source file='/images/d{number}.qcow2'/>"
        "<target dev='vda' bus='virtio'/></disk></devices></domain>"
    )


class _Trickle(io.RawIOBase):
    """A stream that gives 3 bytes at a time (a pipe written slowly)."""

    def __init__(self, data: bytes):
        self.data = data

    def read1(self, size: int = -1) -> bytes:
        piece, self.data = self.data[:3], self.data[3:]
        return piece


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.one_of(st.none(), st.floats(0, 1, exclude_max=True)), min_size=1, max_size=5))
def test_each_domain_of_a_stream_is_one_item_wherever_an_entity_is(where):
    """Domains one to a line, some with `&A;` put anywhere inside their root element (in a
    text, an attribute or a tag): one item per domain, each starting on its own line."""
    texts = []
    for number, at in enumerate(where):
        text = _domain(number)
        if at is not None:
            start, end = text.index(">") + 1, text.rindex("</domain>")
            cut = start + int(at * (end - start + 1))
            text = text[:cut] + "&A;" + text[cut:]
        texts.append(text)
    stream = "".join(text + "\n" for text in texts).encode()
    for reader in (io.BytesIO(stream), _Trickle(stream)):
        items = list(batch.split_stream(reader))
        assert [(item.data or b"").strip().decode() for item in items] == texts
        assert [item.line_offset for item in items] == list(range(len(texts)))


@pytest.mark.parametrize("shift", range(-4, 5))
def test_an_entity_across_two_reads_of_a_long_text(shift):
    """A text with no '>' in more than a read (64 KiB) is fed as far as it is read: the
    entity may be cut between two feeds (at the second read's end), the second feed
    holding no '&'."""
    head = b"<domain type='kvm'><name>a</name><description>"
    text = b"x" * (2 * batch._CHUNK - len(head) + shift) + b"&A;" + b"y" * 100
    bad = head + text + b"</description><memory>1</memory></domain>"
    items = list(batch.split_stream(io.BytesIO(bad + b"\n" + GOOD + b"\n")))
    assert [(item.data, item.line_offset) for item in items] == [(bad + b"\n", 0), (GOOD, 1)]
