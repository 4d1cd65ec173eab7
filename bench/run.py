#!/usr/bin/env python3
"""virtxlate's speed and memory next to what operators would use instead.

Run after `pip install -e '.[test]'` (libvirt-python, virsh, virt-xml-validate and a running
libvirtd are used when present):

    python3 bench/run.py [--domains 200] [--batch 10000]

It generates domains with 1, 10 and 100 disks and measures, on the same inputs in one run:
check+argv per domain in batch mode (one process, in-process API), the cold start of
`virtxlate --version`, lxml parsing alone, and when available `virt-xml-validate` per file,
`virsh domxml-to-native` per domain and libvirt-python's `domainXMLToNative` per domain;
then `virtxlate check DIR --jobs 2 --format jsonl` over BATCH generated domains, its
results in input order and its peak memory against a run a tenth the size.  It prints a
Markdown table with the ratios.  Targets (issue 8): check+argv ≤ 0.4 ms per small domain
and ≥ 3× faster than domainXMLToNative; cold --version ≤ 150 ms; cost linear in disks.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lxml import etree  # noqa: E402

from virtxlate import caps  # noqa: E402
from virtxlate.api import load  # noqa: E402
from virtxlate.argv import command_line  # noqa: E402
from virtxlate.libvirt.addresses import disk_name  # noqa: E402
from virtxlate.libvirt.plan import plan_storage  # noqa: E402
from virtxlate.rules import check_domain  # noqa: E402

URI = "qemu:///system"


def domain_xml(number: int, disks: int) -> str:
    """A pc domain with DISKS disks: two thirds virtio-blk, one third on one virtio-scsi
    controller (explicit drive addresses, one target each), the first a SATA CD-ROM."""
    parts = ["<controller type='scsi' index='0' model='virtio-scsi'/>"]
    virtio = scsi = 0
    for index in range(disks):
        source = f"<source file='/var/lib/libvirt/images/g{number}-{index}.qcow2'/>"
        driver = "<driver name='qemu' type='qcow2' cache='none'/>"
        if index == 0 and disks > 1:
            parts.append("<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>"
                         "<target dev='sda' bus='sata'/><readonly/></disk>")
        elif index % 3 == 1:
            parts.append(f"<disk type='file' device='disk'>{driver}{source}"
                         f"<target dev='{disk_name('sd', scsi + 1)}' bus='scsi'/>"
                         f"<address type='drive' controller='0' bus='0' target='{scsi}' "
                         "unit='0'/></disk>")
            scsi += 1
        else:
            parts.append(f"<disk type='file' device='disk'>{driver}{source}"
                         f"<target dev='{disk_name('vd', virtio)}' bus='virtio'/></disk>")
            virtio += 1
    return (f"<domain type='kvm'><name>bench-{number}</name><memory unit='MiB'>1024</memory>"
            f"<vcpu>2</vcpu><os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
            f"<emulator>/usr/bin/qemu-system-x86_64</emulator>{''.join(parts)}</devices>"
            f"</domain>\n")


def per_domain(function, inputs: list, repeat: int = 1) -> float:  # type: ignore[no-untyped-def]
    """Milliseconds per input, the best of REPEAT passes."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for item in inputs:
            function(item)
        best = min(best, (time.perf_counter() - start) / len(inputs) * 1000)
    return best


def check_and_argv(text: str, table) -> list[str]:  # type: ignore[no-untyped-def]
    domain = load(text)
    findings = check_domain(domain, [table])
    if any(f.is_error for f in findings):
        raise SystemExit(f"a generated domain does not check: {findings}")
    return command_line(plan_storage(domain, table))


def cold_start_ms(times: int = 10) -> float:
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "virtxlate", "--version"], check=True,
                       capture_output=True, cwd=REPO)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def libvirt_python(texts: list[str]) -> float | None:
    try:
        import libvirt
    except ImportError:
        return None
    try:
        conn = libvirt.open(URI)
    except libvirt.libvirtError:
        return None
    try:
        conn.domainXMLToNative("qemu-argv", texts[0], 0)   # warm libvirtd's caches
        return per_domain(lambda text: conn.domainXMLToNative("qemu-argv", text, 0), texts)
    except libvirt.libvirtError as exc:
        print(f"libvirt refuses a generated domain: {exc}", file=sys.stderr)
        return None
    finally:
        conn.close()


def per_process(command: list[str], files: list[Path], after: tuple[str, ...] = ()
                ) -> float | None:
    if shutil.which(command[0]) is None:
        return None
    start = time.perf_counter()
    for path in files:
        result = subprocess.run(command + [str(path), *after], capture_output=True)
        if result.returncode != 0:
            return None
    return (time.perf_counter() - start) / len(files) * 1000


def batch_run(directory: Path, count: int) -> tuple[float, int, bool]:
    """(seconds, peak RSS in KiB of the batch's processes, results in input order) of
    `virtxlate check DIR --jobs 2 --format jsonl` over COUNT domains in DIRECTORY."""
    directory.mkdir(parents=True, exist_ok=True)
    names = []
    for number in range(count):
        path = directory / f"d{number:06d}.xml"
        path.write_text(domain_xml(number, 1 + number % 4))
        names.append(str(path))
    script = ("import resource,subprocess,sys,time;s=time.monotonic();"
              "p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
              "e=time.monotonic()-s;"
              "print(e);print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
              "sys.stdout.write(p.stdout)")
    out = subprocess.run([sys.executable, "-c", script, sys.executable, "-m", "virtxlate",
                          "check", str(directory), "--qemu", "7.2", "--jobs", "2",
                          "--format", "jsonl"], capture_output=True, text=True, cwd=REPO)
    lines = out.stdout.splitlines()
    seconds, peak = float(lines[0]), int(lines[1])
    sources = [json.loads(line)["source"] for line in lines[2:]]
    return seconds, peak, sources == names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=200, help="domains per size")
    parser.add_argument("--batch", type=int, default=10000, help="domains of the batch run")
    options = parser.parse_args()
    table = caps.load("7.2")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for disks in (1, 10, 100):
            count = max(10, options.domains // (1 if disks == 1 else disks // 5))
            texts = [domain_xml(n, disks) for n in range(count)]
            files = []
            for number, text in enumerate(texts[:50]):
                path = Path(tmp) / f"{disks}-{number}.xml"
                path.write_text(text)
                files.append(path)
            check_and_argv(texts[0], table)   # tables and schema loaded once per process
            rows.append((disks, {
                "virtxlate check+argv": per_domain(lambda t: check_and_argv(t, table), texts,
                                                   repeat=3),
                "lxml parse alone": per_domain(lambda t: etree.fromstring(t.encode()), texts,
                                               repeat=3),
                "libvirt-python domainXMLToNative": libvirt_python(texts),
                "virsh domxml-to-native (process)": per_process(
                    ["virsh", "-c", URI, "domxml-to-native", "qemu-argv"], files[:20]),
                # (virt-xml-validate needs xmllint: Debian libxml2-utils)
                "virt-xml-validate (process)": per_process(["virt-xml-validate"], files[:20],
                                                           ("domain",)),
            }))
        cold = cold_start_ms()
        small_s, small_peak, small_order = batch_run(Path(tmp) / "small", options.batch // 10)
        big_s, big_peak, big_order = batch_run(Path(tmp) / "big", options.batch)
    print(f"virtxlate bench, {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.platform(terse=True)}")
    print()
    print("| ms per domain | " + " | ".join(f"{d} disk{'s' if d > 1 else ''}" for d, _ in rows)
          + " | vs virtxlate (1 disk) |")
    print("|---|" + "---|" * (len(rows) + 1))
    ours = rows[0][1]["virtxlate check+argv"]
    for name in rows[0][1]:
        cells = [f"{r[name]:.3f}" if r[name] is not None else "n/a" for _, r in rows]
        first = rows[0][1][name]
        ratio = f"{first / ours:.1f}×" if first is not None else "n/a"
        print(f"| {name} | " + " | ".join(cells) + f" | {ratio} |")
    print()
    print(f"cold `virtxlate --version`: {cold:.0f} ms (median of 10)")
    print(f"batch `check DIR --jobs 2 --format jsonl`: {options.batch // 10} domains "
          f"{small_s:.1f} s, peak {small_peak // 1024} MiB; {options.batch} domains "
          f"{big_s:.1f} s, peak {big_peak // 1024} MiB; input order kept: "
          f"{small_order and big_order}")
    linear = rows[2][1]["virtxlate check+argv"] / rows[1][1]["virtxlate check+argv"]
    print(f"100 disks cost {linear:.1f}× 10 disks (linear: about 10×)")


if __name__ == "__main__":
    main()
