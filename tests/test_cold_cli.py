"""The one-domain start (issue 18): `check`/`argv` lines read without argparse read as the
parser reads them, and the process ends with the exit code and output of main()."""

from __future__ import annotations

import contextlib
import io

import pytest
from conftest import REPO, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from virtxlate.cli import _parser, _quick_options

SAMPLE = str(REPO / "samples" / "seed-virtio-scsi.xml")


def _parsed(words: list[str]) -> dict[str, object] | None:
    """What argparse makes of WORDS, or None when it refuses them (exit 2) or stops (help)."""
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            return vars(_parser(words[0]).parse_args(words))
    except SystemExit:
        return None


@pytest.mark.parametrize(
    "words",
    [
        ["check", "a.xml", "--qemu", "7.2"],
        ["check", "--qemu", "7.2", "a.xml"],
        ["check", "a.xml"],
        ["check", "-", "--qemu=7.2", "--qemu", "2.12", "--format", "json"],
        ["check", "a.xml", "--format=jsonl", "--host", "local", "--qemu", "7.2"],
        ["check", "", "--qemu", ""],
        ["argv", "a.xml", "--qemu", "7.2"],
        ["argv", "--format", "lines", "a.xml", "--qemu", "1.5", "--qemu", "7.2"],
        ["argv", "-", "--qemu=7002000", "--host=none", "--format=json"],
    ],
)
def test_a_common_line_reads_as_the_parser_reads_it(words):
    quick = _quick_options(words)
    assert quick is not None, "a common line is read without the parser"
    assert vars(quick) == _parsed(words)


@pytest.mark.parametrize(
    "words",
    [
        ["check"],
        ["check", "a.xml", "b.xml", "--qemu", "7.2"],  # many domains: the parser's own rules
        ["check", "a.xml", "--qemu", "-7"],
        ["check", "a.xml", "--qem", "7.2"],  # an abbreviation
        ["check", "a.xml", "--format", "yaml"],
        ["check", "a.xml", "--host", "remote"],
        ["check", "a.xml", "-j", "2"],
        ["check", "a.xml", "--help"],
        ["check", "a.xml", "--", "--qemu"],
        ["argv", "a.xml"],  # --qemu is required
        ["argv", "a.xml", "--qemu"],
        ["argv", "a.xml", "--format", "text"],
        ["argv", "a.xml", "--inactive", "--qemu", "7.2"],
        ["tree", "a.xml", "--qemu", "7.2"],
        ["caps", "list"],
        [],
    ],
)
def test_any_other_line_is_left_to_the_parser(words):
    assert _quick_options(words) is None


_WORDS = st.sampled_from(
    [
        "a.xml",
        "b.xml",
        "-",
        "",
        "--qemu",
        "--qemu=2.12",
        "--qemu=",
        "7.2",
        "--format",
        "--format=json",
        "json",
        "jsonl",
        "text",
        "shell",
        "lines",
        "--host",
        "--host=local",
        "local",
        "none",
        "nope",
        "-j",
        "2",
        "--jobs",
        "-7",
        "--",
        "--inactive",
        "--qem",
        "-h",
        "--max-input",
        "64M",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["check", "argv"]), st.lists(_WORDS, max_size=7))
def test_no_line_reads_otherwise_than_the_parser_reads_it(command, words):
    line = [command, *words]
    quick = _quick_options(line)
    if quick is not None:
        assert vars(quick) == _parsed(line)


def test_a_cold_check_and_argv_give_their_output_and_exit_code():
    """The process ends without the interpreter's teardown (cli._end_now): the output is
    all there, and the exit code is main()'s."""
    checked = run_cli("check", SAMPLE, "--qemu", "7.2")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == f"{SAMPLE}: no findings\n"
    line = run_cli("argv", SAMPLE, "--qemu", "7.2", "--format", "lines")
    assert line.returncode == 0, line.stderr
    assert line.stdout.startswith("/usr/bin/qemu-system-x86_64\n-name guest=seed,")
    assert "-device" in line.stdout and line.stdout.endswith("\n")
    refused = run_cli("argv", SAMPLE, "--qemu", "0.9")
    assert refused.returncode == 2 and refused.stderr.startswith("virtxlate: error: ")
