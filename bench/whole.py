#!/usr/bin/env python3
"""check+argv of a full virt-install-like guest against libvirt-python's in-process
domainXMLToNative for the same guest (issue 17: at least 3× faster).

The guest is samples/virt-install-q35.xml: q35 with 14 root ports, a virtio disk and a SATA
CD-ROM, virtio net, qemu-xhci, virtio-serial channels, SPICE + QXL, inputs, redirdevs, ich9
sound, RNG, balloon and an emulated TPM (libvirt needs swtpm installed for that one).

    python3 bench/whole.py            # the row alone
    bench/run.py: print(whole.row(libvirt.conn))   # the row in run.py's report
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from virtxlate.api import analyze, load  # noqa: E402

URI = "qemu:///system"
RELEASE = "7.2"
GUEST = REPO / "samples" / "virt-install-q35.xml"
REPEAT = 200
# the batch row: this many guests in one `check DIR --jobs 1` run (its start included)
GUESTS = 200


def _ms_per_call(
    function: Any, repeat: int = REPEAT, passes: int = 3, clock: Any = time.perf_counter
) -> float:
    """Milliseconds per call of FUNCTION on CLOCK (wall time by default), the best of
    PASSES passes of REPEAT calls."""
    best = float("inf")
    for _ in range(passes):
        start = clock()
        for _ in range(repeat):
            function()
        best = min(best, (clock() - start) / repeat * 1000)
    return best


def ours(text: str, repeat: int = REPEAT) -> float:
    """check+argv (what `virtxlate argv` runs: no device graph) of TEXT, CPU ms per
    call (run.py's side_by_side says why CPU time)."""

    def run() -> None:
        result = analyze(load(text), RELEASE, graph=False)
        if not result.ok or not result.argv:
            raise SystemExit(f"{GUEST.name} does not check: {result.findings}")

    run()  # tables and schema loaded once per process
    return _ms_per_call(run, repeat=repeat, clock=time.process_time)


def theirs(conn: Any, text: str, repeat: int = 50) -> float | None:
    """libvirt-python's domainXMLToNative of TEXT, ms per call; None without libvirt or
    when libvirt refuses the guest (e.g. no swtpm for its TPM)."""
    if conn is None:
        return None
    try:
        conn.domainXMLToNative("qemu-argv", text, 0)  # warm libvirtd's caches
    except Exception as exc:  # libvirt.libvirtError: the row says n/a and why
        print(f"libvirt refuses {GUEST.name}: {exc}", file=sys.stderr)
        return None
    return _ms_per_call(lambda: conn.domainXMLToNative("qemu-argv", text, 0), repeat=repeat)


def guests(count: int) -> list[str]:
    """COUNT full guests for the batch row: the sample, each with a name, UUID, disk
    image and MAC address of its own (as a fleet of one template has them)."""
    text = GUEST.read_text()
    made = []
    for number in range(count):
        made.append(
            text.replace("<name>fedora-vi</name>", f"<name>fedora-vi-{number}</name>")
            .replace("0a1b2c3d4e5f</uuid>", f"{number:012x}</uuid>")
            .replace("images/fedora-vi.qcow2", f"images/fedora-vi-{number}.qcow2")
            .replace(
                "52:54:00:6b:3c:58", f"52:54:00:6b:{number // 256 % 256:02x}:{number % 256:02x}"
            )
        )
    return made


def row(conn: Any, quick: bool = False, batch_ms: float | None = None) -> str:
    """The Markdown table of the measure (CONN: a libvirt connection, or None; QUICK:
    a few calls only, for the test that runs the script; BATCH_MS: CPU ms per guest of
    `check DIR --jobs 1` over guests(), start included, when run.py measured it)."""
    text = GUEST.read_text()
    mine = ours(text, repeat=5 if quick else REPEAT)
    libvirts = theirs(conn, text, repeat=2 if quick else 50)

    def ratio(ours_ms: float | None) -> str:
        return f"{libvirts / ours_ms:.1f}×" if libvirts is not None and ours_ms else "n/a"

    shown = f"{libvirts:.3f}" if libvirts is not None else "n/a"
    lines = [
        "",
        "| full virt-install-like guest (samples/virt-install-q35.xml) | ms | "
        "domainXMLToNative ÷ this (target ≥ 3×) |",
        "|---|---|---|",
        f"| virtxlate check+argv (in-process, CPU) | {mine:.3f} | {ratio(mine)} |",
    ]
    if batch_ms is not None:
        lines.append(
            "| `virtxlate check DIR --jobs 1 --format jsonl` over such guests, start "
            f"included (CPU) | {batch_ms:.3f} | {ratio(batch_ms)} |"
        )
    lines.append(f"| libvirt-python domainXMLToNative (wall) | {shown} | 1.0× |")
    return "\n".join(lines)


def _connect() -> Any:
    try:
        import libvirt

        return libvirt.open(URI)
    except Exception:  # no binding, no daemon: the row says n/a
        return None


if __name__ == "__main__":
    print(row(_connect()))
