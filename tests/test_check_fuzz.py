"""10,000 mutated domain XMLs through `virtxlate check`: each gets exit 0, 1 or 3 with a
message, never a traceback.  The mutations start from every sample and check variant:
truncation, attributes dropped, duplicated or given wrong, huge or odd-unicode values,
text replaced, lines deleted."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import resource
import subprocess
import sys
import traceback

import pytest
from check_variants import variants
from conftest import REPO, SAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from virtxlate import cli
from virtxlate.cli import main

EXAMPLES = int(os.environ.get("VIRTXLATE_FUZZ_EXAMPLES", "10000"))
MEMORY_LIMIT = 6 * 1024**3  # address space for the whole test process
BASES = [path.read_text() for path in sorted(SAMPLES.glob("*.xml"))] + [
    variant.xml for variant in variants()
]
ATTRIBUTE = re.compile(r"""\s[\w:.-]+=(?:'[^']*'|"[^"]*")""")
TEXT = re.compile(r">([^<>]+)<")
ODD_VALUES = [
    "",
    "-1",
    "0",
    "4294967296",
    "99999999999999999999999999",
    "0x",
    "0xzz",
    "nan",
    "1e9",
    " 1 ",
    "x" * 300,
    "ä𝔘\u202e‮",
    "\u00a0",
    "&amp;",
    "&#x1F600;",
    "on",
    "yes",
    "none",
    "/dev/sd\u0301a",
    "a,b=c",
    "../../etc/shadow",
]


# the attributes and texts of each base, found once (most mutations start from a base)
_SPANS = {text: (list(ATTRIBUTE.finditer(text)), list(TEXT.finditer(text))) for text in BASES}


def _one_of(draw, items: list):  # type: ignore[no-untyped-def,type-arg]
    """st.sampled_from(ITEMS) drawn without making a strategy for each list (the same
    choice, shrinking to the first item): 10,000 examples draw ~40,000 times."""
    return items[draw(st.integers(0, len(items) - 1))]


# the strategies drawn from in every example, made once (a strategy made anew at each
# draw is checked anew by hypothesis: a third of the time of drawing an example)
_BASE = st.sampled_from(BASES)
_STEPS = st.integers(1, 3)
_KIND = st.sampled_from(["truncate", "drop", "duplicate", "value", "text", "line"])
_VALUE = st.one_of(st.sampled_from(ODD_VALUES), st.text(max_size=12))


@st.composite
def mutated(draw) -> str:
    text = draw(_BASE)
    for _ in range(draw(_STEPS)):
        kind = draw(_KIND)
        attributes, texts = _SPANS.get(text) or (
            list(ATTRIBUTE.finditer(text)),
            list(TEXT.finditer(text)),
        )
        if kind == "truncate" and text:
            text = text[: draw(st.integers(0, len(text) - 1))]
        elif kind in ("drop", "duplicate", "value") and attributes:
            match = _one_of(draw, attributes)
            start, end = match.span()
            if kind == "drop":
                text = text[:start] + text[end:]
            elif kind == "duplicate":
                text = text[:end] + match.group(0) + text[end:]
            else:
                name = match.group(0).split("=", 1)[0]
                value = draw(_VALUE)
                quoted = "'" + value.replace("'", "&apos;") + "'"
                text = text[:start] + f"{name}={quoted}" + text[end:]
        elif kind == "text" and texts:
            match = _one_of(draw, texts)
            value = draw(_VALUE)
            text = text[: match.start(1)] + value + text[match.end(1) :]
        elif kind == "line":
            lines = text.splitlines(keepends=True)
            if lines:
                del lines[draw(st.integers(0, len(lines) - 1))]
                text = "".join(lines)
    return text


class _Stdin:
    def __init__(self, data: bytes):
        self.buffer = io.BytesIO(data)


def _check(xml: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = _Stdin(xml.encode("utf-8", "surrogatepass"))  # type: ignore[assignment]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["check", "-", "--qemu", "7.2"])
    except (Exception, SystemExit) as exc:  # what a user would see as a traceback
        # in-process, what the command line shows as a traceback (or argparse's exit) is
        # an exception out of main(): name it with the input that caused it
        trace = "".join(traceback.format_exception(exc)[-3:])
        pytest.fail(f"check raised instead of answering:\n{trace}\ninput:\n{xml}")
    finally:
        sys.stdin = saved
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module", autouse=True)
def one_parser():
    """main() builds its argparse parser at each call (~0.35 ms, a sixth of a check here:
    a process builds it once); the 10,000 calls of this module share one for the same
    words.  parse_args does not change a parser, and main() itself runs unchanged."""
    patch = pytest.MonkeyPatch()
    patch.setattr(cli, "_parser", functools.cache(cli._parser))
    yield
    patch.undo()


@pytest.fixture(scope="module", autouse=True)
def bounded_memory():
    """A domain that makes virtxlate allocate without bound (a huge count turned into a
    list) fails here with MemoryError, instead of the machine killing the whole run."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, hard))
    yield
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(xml=mutated())
def test_mutated_domains_get_an_answer_never_a_traceback(xml):
    code, out, err = _check(xml)
    assert code in (0, 1, 3), (code, out, err)
    if code == 3:
        # one line: FILE:LINE: error: what
        assert err.count("\n") == 1 and ": error: " in err, err
    elif code == 1:
        assert ": error: VX" in out, out
    else:
        assert ": error:" not in out


@settings(
    max_examples=3,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=st.lists(mutated(), min_size=40, max_size=40))
def test_mutated_domains_as_a_user_runs_them(tmp_path_factory, batch):
    """The same inputs through `python -m virtxlate check DIR` in its own process, as a user
    runs it: one JSON line per domain, no Python traceback on either stream."""
    directory = tmp_path_factory.mktemp("fuzz")
    for number, xml in enumerate(batch):
        (directory / f"d{number:02}.xml").write_bytes(xml.encode("utf-8", "surrogatepass"))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "virtxlate",
            "check",
            str(directory),
            "--qemu",
            "7.2",
            "--format",
            "jsonl",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode in (0, 1, 3), result.stderr
    assert len(result.stdout.splitlines()) == len(batch), result.stdout
