"""Hostile inputs and batch contracts (issue 14, items 5, 6, 10-16, 18): every input
answered exactly once, in input order, with its documented exit code and a one-line
error; nothing hangs, floods or grows without bound.

Inputs are made by generators here, not stored.  Each command runs under resource
limits (2 s of CPU, 512 MiB of address space) with a wall-clock guard against hangs;
signals are sent to real processes.
"""

from __future__ import annotations

import io
import json
import os
import re
import resource
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, SAMPLES

from virtxlate import batch

CPU_SECONDS = 2
MEMORY = 512 * 1024 * 1024
SEED = SAMPLES / "seed-virtio-scsi.xml"
ONE_LINE_ERROR = re.compile(r"^\S.*:\d+: error: .+$")


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 1))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def run_bounded(
    *args: str | bytes, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """`python -m virtxlate ARGS` within CPU_SECONDS of CPU and MEMORY bytes; a hang is a
    failure after 30 s of wall-clock time (the machine may be busy)."""
    return subprocess.run(
        [sys.executable, "-m", "virtxlate", *args],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        timeout=30,
        preexec_fn=_limits,
        env={**os.environ, **(env or {})},
    )


def _records(stdout: bytes) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in stdout.decode().splitlines()]


def _domain(name: str = "g", disks: str = "") -> bytes:
    return (
        f"<domain type='kvm'><name>{name}</name><memory>1</memory><os><type "
        f"arch='x86_64' machine='pc'>hvm</type></os><devices>{disks}</devices>"
        f"</domain>"
    ).encode()


def _ide_disks(count: int) -> str:
    # hd names past hdd: libvirt's IDE bus on pc has four units, so each is refused
    return "".join(
        f"<disk type='file' device='disk'><source file='/v/{i}.img'/>"
        f"<target dev='hd{chr(97 + i % 26)}{i}' bus='ide'/></disk>"
        for i in range(count)
    )


# -- item 5: findings quote a bounded window of their line ---------------------------


def test_a_one_line_domain_does_not_repeat_itself_in_every_finding(tmp_path):
    path = tmp_path / "one-line.xml"
    path.write_bytes(_domain(disks=_ide_disks(500)))
    result = run_bounded("check", str(path), "--qemu", "7.2")
    assert result.returncode == 1, result.stderr
    quoted = [line for line in result.stdout.decode().splitlines() if line.startswith("  | ")]
    assert len(quoted) == 2 * 500  # the line and the caret of each finding
    assert max(len(line) for line in quoted) <= 4 + 100
    assert len(result.stdout) < 500 * 600  # was 500 × the whole line: 23 MB
    # the caret stands under the finding's own disk, not under the first one
    first, second = (result.stdout.decode().split("\n  | ")[i] for i in (1, 3))
    assert "hda0" in first and "hdb1" in second


def test_jsonl_does_not_build_the_text_report():
    data = _domain(disks=_ide_disks(3))
    code, text, record = batch.check_item(
        batch.Item("<stdin>", data), batch.Settings(("7.2",), False, json_lines=True)
    )
    assert (code, text) == (1, "") and record["errors"] == 3


def test_the_snippet_window_keeps_the_caret_on_its_column():
    from virtxlate.report import snippet

    line = "x" * 500 + "<target dev='hda9'/>" + "y" * 500
    text, caret = snippet(line, 500)
    assert len(text) == 100 and text.startswith("…") and text.endswith("…")
    assert text[caret:].startswith("<target dev='hda9'/>")
    assert snippet("short", 2) == ("short", 2)


# -- item 18: UTF-16 input is quoted as text -----------------------------------------


def test_utf16_input_is_quoted_as_text_not_as_raw_bytes(tmp_path):
    xml = (
        '<?xml version="1.0" encoding="UTF-16"?>\n'
        + _domain(disks="<controller type='scsi' index='0' model='buslogic9000'/>").decode()
    )
    path = tmp_path / "utf16.xml"
    path.write_bytes(xml.encode("utf-16"))
    result = run_bounded("check", str(path), "--qemu", "7.2")
    assert result.returncode == 1, result.stderr
    assert b"\0" not in result.stdout
    assert "  | " in result.stdout.decode() and "buslogic9000" in result.stdout.decode()


# -- item 6: the input-size limit -----------------------------------------------------


def test_an_input_over_the_default_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.xml"
    with open(path, "wb") as handle:  # sparse: 65 MiB that take no disk
        handle.truncate(65 * 1024 * 1024)
    result = run_bounded("check", str(path))
    assert result.returncode == 3
    assert result.stderr.decode() == (
        f"{path}:0: error: input larger than 64 MiB, not read "
        "(raise the limit with --max-input SIZE or "
        "$VIRTXLATE_MAX_INPUT)\n"
    )


@pytest.mark.parametrize("how", ["option", "environment"])
def test_the_limit_is_configurable(tmp_path, how):
    path = tmp_path / "metadata.xml"
    path.write_bytes(
        _domain().replace(b"<devices>", b"<metadata>" + b"<m/>" * 300_000 + b"</metadata><devices>")
    )
    limit = {
        "option": (["--max-input", "1M"], None),
        "environment": ([], {"VIRTXLATE_MAX_INPUT": "1M"}),
    }[how]
    refused = run_bounded("check", str(path), *limit[0], env=limit[1])
    assert refused.returncode == 3 and b"larger than 1 MiB" in refused.stderr
    assert refused.stderr.count(b"\n") == 1
    accepted = run_bounded("argv", str(path), "--qemu", "7.2", "--max-input", "2M")
    assert accepted.returncode == 0, accepted.stderr


def test_a_bad_limit_is_a_usage_error():
    result = run_bounded("check", str(SEED), "--max-input", "lots")
    assert result.returncode == 2
    assert (
        result.stderr == b"virtxlate: error: 'lots' is not a size (expected e.g. 65536, "
        b"64M or 1G)\n"
    )


def test_standard_input_and_devices_are_read_up_to_the_limit_only(tmp_path):
    zero = tmp_path / "zero.xml"
    zero.symlink_to("/dev/zero")
    named = run_bounded("check", str(zero), "--max-input", "4M")
    assert named.returncode == 3 and b"larger than 4 MiB" in named.stderr
    big = _domain().replace(b"<name>", b"<name>" + b"x" * 70_000)
    piped = run_bounded("check", "-", "--max-input", "64K", stdin=b" " * 1_000_000 + big)
    assert piped.returncode == 3 and piped.stderr.count(b"\n") == 1
    assert piped.stderr.startswith(b"<stdin>:0: error: input larger than 64 KiB")
    endless = run_bounded("check", "-", "--max-input", "64K", stdin=b"<domain>" + b"x" * 10**7)
    assert endless.returncode == 3 and endless.stderr.count(b"\n") == 1


# -- items 10-12: whatever a directory holds, one result each, in order ---------------


def _hostile_directory(root: Path) -> list[tuple[str, str]]:
    """Make ROOT hold one entry of each kind; (name, what its result says), in order."""
    (root / "a-good.xml").write_bytes(SEED.read_bytes())
    os.mkfifo(root / "b-fifo.xml")
    (root / "c-zero.xml").symlink_to("/dev/zero")
    (root / "d-dangling.xml").symlink_to(root / "nowhere")
    (root / "e-loop.xml").symlink_to(root / "e-loop.xml")
    (root / "f-broken.xml").write_bytes(b"<domain><devices>")
    (root / "g-dir.xml").mkdir()
    (root / "g-dir.xml" / "inner.xml").write_bytes(SEED.read_bytes())
    return [
        ("a-good.xml", "ok"),
        ("b-fifo.xml", "not a regular file (a FIFO)"),
        ("c-zero.xml", "not a regular file (a character device)"),
        ("d-dangling.xml", "cannot read: No such file or directory"),
        ("e-loop.xml", "cannot read: Too many levels of symbolic links"),
        ("f-broken.xml", "malformed XML"),
        ("g-dir.xml/inner.xml", "ok"),
    ]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_every_entry_of_a_hostile_directory_is_answered_in_order(tmp_path, jobs):
    expected = _hostile_directory(tmp_path)
    result = run_bounded(
        "check", str(tmp_path), "--qemu", "7.2", "--format", "jsonl", "--jobs", jobs
    )
    assert result.returncode == 3, result.stderr
    records = _records(result.stdout)
    assert [r["source"] for r in records] == [str(tmp_path / name) for name, _ in expected]
    for record, (name, says) in zip(records, expected, strict=True):
        assert record["ok"] if says == "ok" else says in record["input_error"], (name, record)
    assert (
        result.stderr.decode()
        .splitlines()[-1]
        .startswith("virtxlate check: 7 domains, 5 with errors,")
    )
    assert b"Traceback" not in result.stderr


def test_an_unlistable_directory_is_a_result(tmp_path, monkeypatch):
    (tmp_path / "a.xml").write_bytes(SEED.read_bytes())
    locked = tmp_path / "b-locked"
    locked.mkdir()
    (tmp_path / "c.xml").write_bytes(SEED.read_bytes())
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        # root lists any directory: a mode of 000 proves nothing here
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    out, err = io.StringIO(), io.StringIO()
    status = batch.run([str(tmp_path)], batch.Settings(("7.2",), False, True), 1, out, err)
    records = _records(out.getvalue().encode())
    assert status == 3
    assert [r["source"] for r in records] == [
        str(tmp_path / n) for n in ("a.xml", "b-locked", "c.xml")
    ]
    assert records[1]["input_error"] == (
        f"{locked}:0: error: cannot list directory: Permission denied"
    )


def test_names_that_are_not_utf8_are_written_losslessly(tmp_path):
    raw = os.fsencode(tmp_path) + b"/caf\xe9 \\ x\n.xml"
    with open(raw, "wb") as handle:
        handle.write((SAMPLES / "needs-newer-qemu.xml").read_bytes())
    lines = run_bounded("check", os.fsencode(tmp_path), "--qemu", "1.2", "--format", "jsonl")
    assert lines.returncode == 1, lines.stderr
    (record,) = _records(lines.stdout)
    shown = record["source"]
    assert shown == f"{tmp_path}/caf\\xe9 \\\\ x\\n.xml"
    assert _unescape(shown) == raw
    text = run_bounded("check", os.fsencode(tmp_path), "--qemu", "1.2")
    assert text.returncode == 1
    assert text.stdout.decode().startswith(shown + ":")  # valid UTF-8, one line


def _unescape(shown: str) -> bytes:
    """The README's rule, undone."""
    out = bytearray()
    parts = re.split(r"(\\x[0-9a-f]{2}|\\\\|\\n|\\t|\\r)", shown)
    for part in parts:
        if part.startswith("\\x"):
            out.append(int(part[2:], 16))
        else:
            out += {"\\\\": b"\\", "\\n": b"\n", "\\t": b"\t", "\\r": b"\r"}.get(
                part, part.encode()
            )
    return bytes(out)


# -- item 13: the stream splitter reads XML ------------------------------------------


def _stream_cases():  # type: ignore[no-untyped-def]
    a, b = _domain("a"), _domain("b")
    yield "space-in-end-tag", a.replace(b"</domain>", b"</domain >") + b"\n" + b, [0, 1]
    yield "comment-after-end", a + b" <!-- end -->\n" + b + b"\n", [0, 1]
    yield "two-on-one-line", a + b, [0, 0]
    yield "comment-line-ending-in-end-tag", b"<!-- not the </domain>\n-->\n" + a + b"\n" + b, [0, 3]
    yield (
        "end-tag-in-cdata",
        a.replace(b"<devices>", b"<description><![CDATA[\n</domain>\n]]></description><devices>")
        + b"\n"
        + b,
        [0, 3],
    )
    yield (
        "end-tag-in-an-attribute",
        a.replace(b"<name>a", b"<name x='&lt;/domain>'>a") + b"\n" + b,
        [0, 1],
    )
    yield (
        "xml-declarations",
        b"<?xml version='1.0'?>\n" + a + b"\n<?xml version='1.0'?>\n" + b,
        [0, 2],
    )
    yield "broken-then-good", b"<domain><devices></domain>\n" + b, [0, 1]


@pytest.mark.parametrize(
    "name,stream,starts", list(_stream_cases()), ids=[c[0] for c in _stream_cases()]
)
def test_the_stream_is_cut_where_xml_ends_a_domain(name, stream, starts):
    items = list(batch.split_stream(io.BytesIO(stream)))
    assert [item.line_offset for item in items] == starts
    parsed = [batch.check_item(item, batch.Settings(("7.2",), False, True)) for item in items]
    names = [record.get("input_error") or "parsed" for _, _, record in parsed]
    assert names == (["parsed", "parsed"] if name != "broken-then-good" else [names[0], "parsed"])
    if name == "broken-then-good":
        assert "malformed XML" in names[0]


def test_a_stream_in_small_pieces_is_cut_the_same():
    stream = b"".join(case[1] + b"\n" for case in _stream_cases())

    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes):
            self.data = data

        def read1(self, size: int = -1) -> bytes:
            piece, self.data = self.data[:3], self.data[3:]
            return piece

    whole = [(i.data, i.line_offset) for i in batch.split_stream(io.BytesIO(stream))]
    assert [(i.data, i.line_offset) for i in batch.split_stream(Trickle(stream))] == whole
    assert len(whole) == 16


def test_an_oversized_domain_in_a_stream_is_one_result_and_the_stream_goes_on():
    stream = _domain("a") + b"\n" + _domain("b" * 5000) + b"\n" + _domain("c")
    items = list(batch.split_stream(io.BytesIO(stream), limit=1000))
    assert [i.error is not None for i in items] == [False, True, False]
    assert [i.line_offset for i in items] == [0, 1, 2]


def test_a_stream_on_standard_input_through_the_cli():
    stream = (
        _domain("a")
        + b" <!-- end -->\n"
        + _domain("b")
        + _domain("c").replace(b"</domain>", b"</domain >")
    )
    result = run_bounded("check", "-", "--format", "jsonl", stdin=stream)
    assert result.returncode == 0, result.stderr
    assert [r["source"] for r in _records(result.stdout)] == [
        "<stdin>",
        "<stdin>#line2",
        "<stdin>#line2",
    ]


# -- item 15: --jobs is capped -------------------------------------------------------


def test_jobs_are_capped_at_the_inputs_and_a_few_per_cpu():
    from virtxlate.batch import JOBS_PER_CPU, _capped_jobs, cpu_count

    err = io.StringIO()
    items = [batch.Item(str(i)) for i in range(3)]
    assert _capped_jobs(5000, items, False, err) == 3
    assert err.getvalue() == "virtxlate: --jobs 5000 capped at 3 (3 inputs)\n"
    many = _capped_jobs(5000, items, True, io.StringIO())
    assert many == JOBS_PER_CPU * cpu_count()
    assert _capped_jobs(2, items, True, (quiet := io.StringIO())) == min(2, many)
    assert quiet.getvalue() == ""


def test_a_huge_jobs_starts_no_more_processes_than_inputs():
    result = run_bounded(
        "check", str(SEED), str(SAMPLES / "sata-ahci.xml"), "--jobs", "5000", "--format", "jsonl"
    )
    assert result.returncode == 0, result.stderr
    assert len(_records(result.stdout)) == 2
    assert b"--jobs 5000 capped at 2 (2 inputs)" in result.stderr


# -- item 16 and the exit codes: the README's table is the code's --------------------


def test_the_readmes_exit_code_table_is_the_codes():
    from virtxlate.errors import EXIT_CODES

    readme = (REPO / "README.md").read_text()
    table = readme.split("| exit | meaning |", 1)[1].split("\n\n", 1)[0]
    listed = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}
    assert listed == set(EXIT_CODES)
    help_text = subprocess.run(
        [sys.executable, "-m", "virtxlate", "--help"], capture_output=True, text=True, cwd=REPO
    ).stdout
    assert all(
        f"{code} {meaning}" in " ".join(help_text.split()) for code, meaning in EXIT_CODES.items()
    )


def test_an_arch_without_tables_in_a_batch_exits_as_the_readme_says(tmp_path):
    readme = (REPO / "README.md").read_text()
    assert "VX0305, an arch with no tables at all, is such an error" in readme
    (tmp_path / "ppc.xml").write_bytes(_domain().replace(b"x86_64", b"ppc64"))
    (tmp_path / "x86.xml").write_bytes(_domain())
    result = run_bounded("check", str(tmp_path), "--qemu", "7.2", "--format", "jsonl")
    assert result.returncode == 1  # an error finding, as in the README's batch paragraph
    assert _records(result.stdout)[0]["findings"][0]["code"] == "VX0305"


# -- item 14: signals end the run with the results so far ----------------------------


def _sigint_at_its_default() -> None:
    """In the child before exec: SIGINT back to its default action.  A shell that is not
    interactive starts its background jobs with SIGINT ignored, and an ignored signal
    stays ignored across fork and exec (POSIX); Python then installs no KeyboardInterrupt
    handler and virtxlate rightly ignores the SIGINT this test sends, so the test would
    hang until its timeout whenever pytest itself runs as such a job (e.g. `cmd &` in a
    script).  A user's terminal delivers SIGINT at its default: that is what is tested."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(
    "signum,code,group,jobs",
    [
        (signal.SIGINT, 130, True, "2"),
        (signal.SIGTERM, 143, True, "2"),
        (signal.SIGTERM, 143, False, "2"),
        (signal.SIGINT, 130, False, "1"),
    ],
    ids=[
        "sigint-group-jobs2",
        "sigterm-group-jobs2",
        "sigterm-parent-jobs2",
        "sigint-parent-jobs1",
    ],
)
def test_a_signal_ends_the_batch_with_its_results_and_a_summary(
    tmp_path, signum, code, group, jobs
):
    fifo = tmp_path / "stuck.xml"
    os.mkfifo(fifo)  # named on the command line, so read: it blocks until we signal
    # eight results come first (a pool answers in chunks of eight), then the FIFO blocks
    inputs = [str(SEED)] * 8 + [str(fifo), str(SEED)]
    process = subprocess.Popen(
        [sys.executable, "-m", "virtxlate", "check", *inputs, "--format", "jsonl", "--jobs", jobs],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_sigint_at_its_default,
    )
    try:
        first = b""
        while first.count(b"\n") < 8:
            ready, _, _ = select.select([process.stdout], [], [], 30)
            assert ready, f"no eight results within 30 s: {first!r}"
            first += os.read(process.stdout.fileno(), 65536)
        time.sleep(0.3)
        (os.killpg if group else os.kill)(process.pid, signum)
        rest, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == code, err
    assert rest == b"" and all(record["ok"] for record in _records(first))
    name = "interrupted (SIGINT)" if signum == signal.SIGINT else "terminated (SIGTERM)"
    assert err.decode().startswith(f"virtxlate check: {name} after 8 domains, 0 with errors,"), err
    assert err.count(b"\n") == 1, err  # the summary alone: no worker's traceback
