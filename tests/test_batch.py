"""`virtxlate check` over many domains: files, directories, a stream on stdin; results
in input order, one JSON line each with --format jsonl, the same with --jobs 2; a summary
line at the end."""

from __future__ import annotations

import json

from conftest import SAMPLES, run_cli

SAMPLE_FILES = sorted(SAMPLES.glob("*.xml"))


def _lines(result) -> list[dict]:  # type: ignore[no-untyped-def]
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_a_directory_in_input_order_with_a_summary(tmp_path):
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    (nested / "z.xml").write_text((SAMPLES / "seed-virtio-scsi.xml").read_text())
    (tmp_path / "a" / "m.xml").write_text((SAMPLES / "needs-newer-qemu.xml").read_text())
    (tmp_path / "notes.txt").write_text("not a domain")
    result = run_cli(
        "check",
        str(tmp_path),
        str(SAMPLES / "q35-storage.xml"),
        "--qemu",
        "7.2",
        "--format",
        "jsonl",
    )
    records = _lines(result)
    assert [r["source"] for r in records] == [
        str(tmp_path / "a" / "b" / "z.xml"),
        str(tmp_path / "a" / "m.xml"),
        str(SAMPLES / "q35-storage.xml"),
    ]
    assert [r["ok"] for r in records] == [True, False, True]
    assert records[1]["findings"][0]["code"] == "VX0206"
    assert result.returncode == 1
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith("virtxlate check: 3 domains, 1 with errors, 0 with warnings,")


def test_jobs_give_the_same_results_in_the_same_order():
    one = run_cli("check", str(SAMPLES), "--qemu", "7.2", "--qemu", "1.5", "--format", "jsonl")
    two = run_cli(
        "check", str(SAMPLES), "--qemu", "7.2", "--qemu", "1.5", "--format", "jsonl", "--jobs", "2"
    )
    assert one.stdout == two.stdout and one.returncode == two.returncode
    assert [r["source"] for r in _lines(one)] == [str(p) for p in SAMPLE_FILES]
    seed = next(r for r in _lines(one) if r["source"].endswith("seed-virtio-scsi.xml"))
    assert seed["releases"] == {"7.2": True, "1.5": True}


def test_a_stream_of_domains_on_stdin():
    stream = b"".join(
        p.read_bytes()
        for p in (
            SAMPLES / "seed-virtio-scsi.xml",
            SAMPLES / "needs-newer-qemu.xml",
            SAMPLES / "sata-ahci.xml",
        )
    )
    text = run_cli("check", "-", "--qemu", "7.2", stdin=stream)
    assert text.returncode == 1
    assert "VX0206" in text.stdout
    assert "3 domains, 1 with errors" in text.stderr
    lines = _lines(run_cli("check", "-", "--qemu", "7.2", "--format", "jsonl", stdin=stream))
    assert [r["ok"] for r in lines] == [True, False, True]
    # where each domain starts in the stream, for its messages
    second = lines[1]["source"]
    start = (
        stream.decode()
        .splitlines()
        .index((SAMPLES / "needs-newer-qemu.xml").read_text().splitlines()[0])
    )
    assert second == f"<stdin>#line{start + 1}"


def test_an_unreadable_input_does_not_stop_the_batch(tmp_path):
    (tmp_path / "broken.xml").write_text("<domain><devices>")
    (tmp_path / "good.xml").write_text((SAMPLES / "seed-virtio-scsi.xml").read_text())
    result = run_cli("check", str(tmp_path), "--qemu", "7.2", "--format", "jsonl")
    records = _lines(result)
    assert "input_error" in records[0] and records[1]["ok"]
    assert result.returncode == 3


def test_json_asks_for_jsonl_with_many_domains():
    result = run_cli("check", str(SAMPLE_FILES[0]), str(SAMPLE_FILES[1]), "--format", "json")
    assert result.returncode == 2 and "jsonl" in result.stderr


def test_bench_script_runs_and_prints_its_table():
    """bench/run.py is a script, not a timed test: here it only has to run (small sizes)."""
    import subprocess
    import sys

    from conftest import REPO

    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "run.py"),
            *("--domains", "10", "--batch", "50", "--max-disks", "10", "--quick"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "| virtxlate check+argv |" in result.stdout
    assert "over such guests, start included" in result.stdout  # full guests in batch
    assert "input order kept: True" in result.stdout


def test_progress_shows_on_a_terminal_after_two_seconds():
    import io
    import time

    from virtxlate.batch import _Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    quick = Terminal()
    progress = _Progress(quick, time.monotonic())
    progress.tick(1)
    assert quick.getvalue() == ""  # not yet two seconds
    slow = Terminal()
    progress = _Progress(slow, time.monotonic() - 3)
    progress.tick(1)
    progress.done()
    assert slow.getvalue().startswith("\rchecked 1 domains") and slow.getvalue().endswith(
        "\r\033[K"
    )
    piped = io.StringIO()
    progress = _Progress(piped, time.monotonic() - 3)
    progress.tick(1)
    assert piped.getvalue() == ""  # never into a file or a pipe
