#!/usr/bin/env python3
"""Record what a QEMU binary answers `caps probe` into tools/caps-replies/ (libvirt's
.replies shape, xz-compressed), the base tools/build_tables.py builds the tables on.

    python3 tools/record_probe.py /usr/bin/qemu-system-x86_64 [...]
"""

from __future__ import annotations

import lzma
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from virtxlate.caps.answers import format_replies  # noqa: E402
from virtxlate.caps.probe import record  # noqa: E402


def main(binaries: list[str]) -> int:
    for binary in binaries:
        answers = record(binary, timeout=60)
        version = answers.value("query-version")["qemu"]
        release = f"{version['major']}.{version['minor']}.{version['micro']}"
        arch = answers.value("query-target")["arch"]
        path = ROOT / "tools" / "caps-replies" / f"probe_{release}_{arch}.replies.xz"
        with lzma.open(path, "wt", encoding="utf-8", preset=9) as handle:
            handle.write(format_replies(answers))
        print(f"{binary}: {len(answers.exchanges)} answers in {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:] or ["/usr/bin/qemu-system-x86_64"]))
