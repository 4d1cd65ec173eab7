#!/usr/bin/env python3
"""virtxlate's speed and memory next to libvirt's own tools, on the same inputs, in one run.

Run after `pip install -e '.[libvirt,test]'` (libvirt-python, virsh, virt-xml-validate and a
running libvirtd are used when present; a missing one is a row of "n/a"):

    python3 bench/run.py [--domains 500] [--batch 10000] [--huge] [--max-disks 1000]

It measures (issue 18):
1. cold, one domain, one process (how `virsh dumpxml g | virtxlate check -` feels):
   `virtxlate check` and `argv`, `caps list`, `explain virtio-scsi-pci`, against
   `virsh domxml-to-native` and `virt-xml-validate` on the same domain (median of 7);
2. the mixed set (bench/mix.py: 1–8 disks of every bus, several HBA models, file, block,
   NBD, iSCSI and RBD sources, CD-ROMs, LUNs, iSCSI host devices, i440fx and q35, explicit
   and implicit addresses; libvirt accepts every one): per domain in-process (`check` alone,
   check+argv+graph) against libvirt-python's in-process `domainXMLToNative`, and a batch
   `check DIR --jobs 1 --format jsonl` with its start-up included; the same for the full
   virt-install-like guest of bench/whole.py, in-process and as a batch of 200 of it;
3. 1 → 1,000 disks on one guest against domainXMLToNative (linear?);
4. peak memory of `check DIR --jobs 2 --format jsonl` over 10⁴ domains (and 10⁵ with
   --huge) against a run a tenth the size, and results in input order.
Ours in-process is timed in CPU time beside its wall time, libvirt's in wall time (the
work is libvirtd's): see side_by_side.  It prints Markdown tables with the ratios; the
README shows its output.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from lxml import etree  # noqa: E402
from mix import domain_xml, many_disks  # noqa: E402

from virtxlate.api import analyze, check, load  # noqa: E402

URI = "qemu:///system"
RELEASE = "7.2"


def per_domain(
    function: Callable[[str], object],
    inputs: list[str],
    repeat: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Milliseconds per input on CLOCK (wall time by default), the best of REPEAT passes."""
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        for item in inputs:
            function(item)
        best = min(best, (clock() - start) / len(inputs) * 1000)
    return best


def median_ms(command: list[str], times: int = 7) -> tuple[float, float] | None:
    """(wall, CPU) milliseconds of COMMAND as its own process, the medians of TIMES runs.
    CPU time (user + system of the process and its children) is what the run itself
    costs; wall time also holds the waits of a machine shared with other work."""
    if shutil.which(command[0]) is None:
        return None
    walls, cpus = [], []
    for _ in range(times):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, cwd=REPO)
        walls.append((time.perf_counter() - start) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000)
        if result.returncode != 0:
            return None
    return statistics.median(walls), statistics.median(cpus)


class Libvirt:
    """libvirt-python's in-process domainXMLToNative, when the binding and libvirtd are."""

    def __init__(self) -> None:
        self.conn = None
        try:
            import libvirt

            self.conn = libvirt.open(URI)
            self.error: type[Exception] = libvirt.libvirtError
        except Exception:  # no binding, no daemon: the rows say n/a
            self.conn = None

    def per_domain(self, texts: list[str]) -> float | None:
        conn = self.conn
        if conn is None:
            return None
        try:
            conn.domainXMLToNative("qemu-argv", texts[0], 0)  # warm libvirtd's caches
            return per_domain(lambda t: conn.domainXMLToNative("qemu-argv", t, 0), texts)
        except self.error as exc:
            print(f"libvirt refuses a generated domain: {exc}", file=sys.stderr)
            self.conn = None  # the rows say n/a
            return None


class Side(NamedTuple):
    """Milliseconds per input: ours in CPU and wall time, libvirt's wall time."""

    cpu: float
    wall: float
    libvirt: float | None


def side_by_side(
    ours: Callable[[str], object], libvirt: Libvirt, inputs: list[str], passes: int = 5
) -> Side:
    """Ours (CPU and wall) and libvirt's (wall) milliseconds per input, each the best of
    PASSES passes taken in turn: on a machine shared with other work a lone pass of one
    side can land in a busy moment the other side's passes missed.  Ours is compared in
    CPU time: on the shared machine our process waits for a core (a 100-disk check of
    16 ms CPU took 40–140 ms of wall) while libvirtd, a system daemon outside the
    sessions' share, kept its quiet time; on a machine of its own our wall time is our
    CPU time."""
    cpu, wall, theirs = float("inf"), float("inf"), float("inf")
    for _ in range(passes):
        cpu = min(cpu, per_domain(ours, inputs, clock=time.process_time))
        wall = min(wall, per_domain(ours, inputs))
        theirs_now = libvirt.per_domain(inputs)
        theirs = min(theirs, theirs_now) if theirs_now is not None else float("nan")
    return Side(cpu, wall, theirs if theirs == theirs else None)  # (NaN: libvirt is missing)


def check_only(text: str) -> None:
    common, per_release = check(load(text), (RELEASE,))
    if any(f.is_error for f in common + [f for _, fs in per_release for f in fs]):
        raise SystemExit("a generated domain does not check")


def check_and_argv(text: str) -> list[str]:
    # what `virtxlate argv` runs: the line and QEMU's refusals of it, no device graph
    result = analyze(load(text), RELEASE, graph=False)
    if not result.ok or result.argv is None:
        raise SystemExit(f"a generated domain does not check: {result.findings}")
    return result.argv


class Batch(NamedTuple):
    """A batch run: wall and CPU seconds, peak RSS in KiB of its processes, whether the
    results came in input order."""

    seconds: float
    cpu: float
    peak: int
    in_order: bool


def batch_run(directory: Path, texts: list[str], jobs: int) -> Batch:
    """`virtxlate check DIR --jobs JOBS --format jsonl` over TEXTS written into DIRECTORY."""
    directory.mkdir(parents=True, exist_ok=True)
    names = []
    for number, text in enumerate(texts):
        path = directory / f"d{number:06d}.xml"
        path.write_text(text)
        names.append(str(path))
    script = (
        "import resource,subprocess,sys,time;s=time.monotonic();"
        "p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
        "e=time.monotonic()-s;"
        "r=resource.getrusage(resource.RUSAGE_CHILDREN);"
        "print(e);print(r.ru_utime+r.ru_stime);print(r.ru_maxrss);"
        "sys.stdout.write(p.stdout)"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            sys.executable,
            "-m",
            "virtxlate",
            "check",
            str(directory),
            "--qemu",
            RELEASE,
            "--jobs",
            str(jobs),
            "--format",
            "jsonl",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    lines = out.stdout.splitlines()
    sources = [json.loads(line)["source"] for line in lines[3:]]
    return Batch(float(lines[0]), float(lines[1]), int(lines[2]), sources == names)


def _cell(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ratio(theirs: float | None, ours: float | None) -> str:
    return "n/a" if theirs is None or not ours else f"{theirs / ours:.1f}×"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--domains", type=int, default=500, help="domains of the mixed set")
    parser.add_argument("--batch", type=int, default=10000, help="domains of the memory run")
    parser.add_argument("--huge", action="store_true", help="also a memory run of 10⁵")
    parser.add_argument(
        "--max-disks",
        type=int,
        default=1000,
        help="the largest guest of the disk rows (1, 10, 100, 1000; the test runs 10)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="few repetitions (the test that runs the script): the numbers mean nothing",
    )
    options = parser.parse_args()
    times = 2 if options.quick else 7
    passes = 1 if options.quick else 5
    libvirt = Libvirt()
    mixed = [domain_xml(number) for number in range(options.domains)]
    print(
        f"virtxlate bench, {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.platform(terse=True)}; QEMU {RELEASE} tables; mixed set of "
        f"{len(mixed)} domains (bench/mix.py)"
    )
    # an installed package has its bytecode; an editable checkout run with
    # PYTHONDONTWRITEBYTECODE=1 would recompile every module at every start
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "virtxlate")], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one.xml"
        one.write_text(mixed[3])
        python = [sys.executable, "-m", "virtxlate"]
        cold = [
            (
                "virtxlate check ONE.xml",
                median_ms([*python, "check", str(one), "--qemu", RELEASE], times),
            ),
            (
                "virtxlate argv ONE.xml",
                median_ms([*python, "argv", str(one), "--qemu", RELEASE], times),
            ),
            ("virtxlate caps list", median_ms([*python, "caps", "list"], times)),
            (
                "virtxlate explain virtio-scsi-pci",
                median_ms([*python, "explain", "virtio-scsi-pci"], times),
            ),
            (
                "python3 -c pass (the interpreter alone)",
                median_ms([sys.executable, "-c", "pass"], times),
            ),
            (
                "virsh domxml-to-native ONE.xml",
                median_ms(["virsh", "-c", URI, "domxml-to-native", "qemu-argv", str(one)], times),
            ),
            # (virt-xml-validate needs xmllint: Debian libxml2-utils)
            (
                "virt-xml-validate ONE.xml",
                median_ms(["virt-xml-validate", str(one), "domain"], times),
            ),
        ]
        print()
        interpreter = dict(cold)["python3 -c pass (the interpreter alone)"]
        print(
            f"| cold, one domain, one process | wall ms (median of {times}) | CPU ms (median) | "
            "CPU ms above the interpreter's |"
        )
        print("|---|---|---|---|")
        for name, value in cold:
            wall, cpu = value if value is not None else (None, None)
            above = (
                cpu - interpreter[1]
                if cpu is not None and interpreter is not None and name.startswith("virtxlate")
                else None
            )
            print(f"| {name} | {_cell(wall, 0)} | {_cell(cpu, 0)} | {_cell(above, 0)} |")
        print("(virsh's CPU column is virsh's own: the translation runs in libvirtd)")

        check_and_argv(mixed[0])  # tables and schema loaded once per process
        ours = side_by_side(check_and_argv, libvirt, mixed, passes)
        checked = side_by_side(check_only, libvirt, mixed, passes)
        theirs_both = [t for t in (ours.libvirt, checked.libvirt) if t is not None]
        theirs = min(theirs_both) if theirs_both else None
        # the batch's best of three runs, start included
        runs_of_batch = [
            batch_run(Path(tmp) / "mixed", mixed, jobs=1) for _ in range(1 if options.quick else 3)
        ]
        batch_cpu = min(run.cpu for run in runs_of_batch) * 1000 / len(mixed)
        batch_wall = min(run.seconds for run in runs_of_batch) * 1000 / len(mixed)
        batch_order = all(run.in_order for run in runs_of_batch)
        print()
        print(
            f"| mixed set, ms per domain (best of {passes} passes, in turn with libvirt's) | "
            "CPU ms | "
            "wall ms | libvirt-python domainXMLToNative (wall) ÷ this (CPU) |"
        )
        print("|---|---|---|---|")
        for name, side in (
            ("virtxlate check (in-process)", checked),
            ("virtxlate check+argv", ours),
        ):
            print(
                f"| {name} | {_cell(side.cpu)} | {_cell(side.wall)} | {_ratio(theirs, side.cpu)} |"
            )
        print(
            f"| `virtxlate check DIR --jobs 1 --format jsonl`, start included (best of "
            f"{len(runs_of_batch)} runs) | {_cell(batch_cpu)} | {_cell(batch_wall)} | "
            f"{_ratio(theirs, batch_cpu)} |"
        )
        parse_alone = per_domain(lambda t: etree.fromstring(t.encode()), mixed, repeat=3)
        print(f"| lxml parse alone | | {_cell(parse_alone)} | |")
        print(f"| libvirt-python domainXMLToNative | | {_cell(theirs)} | 1.0× |")
        import whole  # (bench/ is on sys.path: this script's folder)

        full = whole.guests(5 if options.quick else whole.GUESTS)
        runs_of_full = [
            batch_run(Path(tmp) / "full", full, jobs=1) for _ in range(1 if options.quick else 3)
        ]
        full_cpu = min(run.cpu for run in runs_of_full) * 1000 / len(full)
        print(whole.row(libvirt.conn, quick=options.quick, batch_ms=full_cpu))

        print()
        print(
            "| disks on one guest | virtxlate check+argv CPU ms | its wall ms | "
            "domainXMLToNative wall ms | libvirt ÷ virtxlate (CPU) |"
        )
        print("|---|---|---|---|---|")
        scaling = {}
        for disks in (n for n in (1, 10, 100, 1000) if n <= options.max_disks):
            text = many_disks(disks)
            repeat = 20 if disks < 100 else 2
            side = side_by_side(check_and_argv, libvirt, [text] * repeat, passes)
            scaling[disks] = side.cpu
            print(
                f"| {disks} | {_cell(side.cpu, 2)} | {_cell(side.wall, 2)} | "
                f"{_cell(side.libvirt, 2)} | {_ratio(side.libvirt, side.cpu)} |"
            )
        if 1000 in scaling and 100 in scaling:
            ratio = scaling[1000] / scaling[100]
            print(f"(1,000 disks cost {ratio:.1f}× 100 disks; linear is 10×)")

        runs = [options.batch // 10, options.batch] + ([options.batch * 10] if options.huge else [])
        print()
        print(
            "| `check DIR --jobs 2 --format jsonl` | wall seconds | CPU seconds | "
            "peak RSS MiB | input order kept |"
        )
        print("|---|---|---|---|---|")
        orders = []
        for count in runs:
            texts = [domain_xml(number, seed=1) for number in range(count)]
            run = batch_run(Path(tmp) / f"batch{count}", texts, jobs=2)
            shutil.rmtree(Path(tmp) / f"batch{count}")
            orders.append(run.in_order)
            print(
                f"| {count} domains | {run.seconds:.1f} | {run.cpu:.1f} | {run.peak // 1024} | "
                f"{run.in_order} |"
            )
        print()
        print(f"batch results in input order: input order kept: {all(orders) and batch_order}")


if __name__ == "__main__":
    main()
