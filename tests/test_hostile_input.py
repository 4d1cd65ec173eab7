"""Hostile single inputs, made by generators: each ends within 2 s of CPU and 512 MiB
with exit 3 and one line `FILE:LINE: error: …` (issue 14: no flood, no hang, no
traceback; inputs over the size limit refused before parsing)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from test_hostile_batch import ONE_LINE_ERROR, run_bounded

HEAD = b"<domain type='kvm'><name>g</name><memory>1</memory>"
TAIL = b"</domain>"


def _cases() -> Iterator[tuple[str, bytes, str]]:
    """(name, input, what its one-line error says)."""
    yield "nested-100000-deep", HEAD + b"<a>" * 100_000 + b"</a>" * 100_000 + TAIL, "malformed XML"
    yield (
        "text-node-of-20-MiB",
        HEAD + b"<metadata>" + b"x" * (20 << 20) + b"</metadata>" + TAIL,
        "malformed XML",
    )
    yield (
        "attribute-of-12-MiB",
        HEAD.replace(b"<name>", b"<name a='" + b"x" * (12 << 20) + b"'>") + TAIL,
        "malformed XML",
    )
    yield "nul-byte", HEAD + b"<description>\0</description>" + TAIL, "malformed XML"
    yield "invalid-utf8", HEAD + b"<description>\xff\xfe\xfd</description>" + TAIL, "malformed XML"
    yield (
        "utf16-declared-utf8-given",
        b"<?xml version='1.0' encoding='UTF-16'?>" + HEAD + TAIL,
        "malformed XML",
    )
    yield "unclosed-comment", HEAD + b"<!-- " + b"x" * 100_000, "malformed XML"
    yield "unclosed-cdata", HEAD + b"<description><![CDATA[" + b"]" * 100_000, "malformed XML"
    yield (
        "doctype-internal-subset",
        b"<!DOCTYPE domain [<!ELEMENT domain ANY>]>" + HEAD + TAIL,
        "DOCTYPE declarations and entities are not allowed",
    )
    yield (
        "parameter-entity",
        b"<!DOCTYPE d [<!ENTITY % p '<!ENTITY x \"y\">'> %p;]>" + HEAD + TAIL,
        "DOCTYPE",
    )
    yield "undefined-entity", HEAD + b"<description>&nope;</description>" + TAIL, "malformed XML"
    yield "two-roots", HEAD + TAIL + HEAD + TAIL, "malformed XML"
    yield (
        "65-MiB-of-white-space",
        b" " * (65 << 20) + HEAD + TAIL,
        "input larger than 64 MiB, not read",
    )
    yield "name-of-1-MiB", b"<" + b"d" * (1 << 20) + b"/>", "malformed XML"


CASES = list(_cases())


@pytest.mark.parametrize("name,data,says", CASES, ids=[c[0] for c in CASES])
def test_hostile_input_is_one_line_and_exit_3(tmp_path, name, data, says):
    path = tmp_path / f"{name}.xml"
    path.write_bytes(data)
    result = run_bounded("check", str(path), "--qemu", "7.2")
    assert result.returncode == 3, (result.returncode, result.stderr[-2000:])
    assert result.stdout == b""
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and len(lines[0]) < 500, result.stderr[:2000]
    assert ONE_LINE_ERROR.match(lines[0]) and lines[0].startswith(f"{path}:"), lines[0]
    assert says in lines[0], lines[0]


@pytest.mark.parametrize("name,data,says", CASES[:4], ids=[c[0] for c in CASES[:4]])
def test_hostile_input_on_standard_input_of_argv(name, data, says):
    result = run_bounded("argv", "-", "--qemu", "7.2", stdin=data)
    assert result.returncode == 3, result.stderr[-2000:]
    (line,) = result.stderr.decode().splitlines()
    assert re.match(r"^<stdin>:\d+: error: ", line) and says in line


def test_a_schema_error_on_an_element_with_many_attributes_is_quick(tmp_path):
    path = tmp_path / "attributes.xml"
    path.write_bytes(b"<domain " + b" ".join(b"a%d='1'" % i for i in range(100_000)) + b">" + TAIL)
    result = run_bounded("check", str(path), "--qemu", "7.2")
    assert result.returncode == 1 and b": error: VX0101" in result.stdout
