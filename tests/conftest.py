"""Shared test helpers: where things are, and skip-or-fail for optional components.

In CI, VIRTXLATE_REQUIRE_SHARED=1 and VIRTXLATE_REQUIRE_INTEGRATION=1 turn a missing
../shared or a missing QEMU into a failure instead of a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
SAMPLES = REPO / "samples"
SHARED = Path(os.environ.get("VIRTXLATE_SHARED", REPO.parent / "shared"))
CONFORMANCE = SHARED / "conformance" / "libvirt"
QEMU_CAPS = SHARED / "qemu-caps"


def _missing(what: str, env: str) -> None:
    if os.environ.get(env) == "1":
        pytest.fail(f"{what} is required here ({env}=1) but missing")
    pytest.skip(f"{what} not available")


@pytest.fixture
def shared() -> Path:
    if not CONFORMANCE.is_dir():
        _missing(f"{SHARED} (the shared conformance corpus)", "VIRTXLATE_REQUIRE_SHARED")
    return SHARED


@pytest.fixture(scope="session")
def qemu_binary() -> str:
    path = shutil.which("qemu-system-x86_64")
    if path is None:
        _missing("qemu-system-x86_64", "VIRTXLATE_REQUIRE_INTEGRATION")
    return path  # type: ignore[return-value]


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m virtxlate ARGS` as a user would, capturing both streams."""
    return subprocess.run(
        [sys.executable, "-m", "virtxlate", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )


def conformance_inputs() -> list[Path]:
    """Every XML of the shared corpus (inputs and round-trip outputs)."""
    return sorted(CONFORMANCE.glob("*/*.xml")) if CONFORMANCE.is_dir() else []
