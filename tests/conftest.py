"""Shared test helpers: where things are, and skip-or-fail for optional components.

In CI, VIRTXLATE_REQUIRE_SHARED=1 and VIRTXLATE_REQUIRE_INTEGRATION=1 turn a missing
../shared or a missing QEMU into a failure instead of a skip.
"""

from __future__ import annotations

import os
import re
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
    """Skip for WHAT not being here; a failure when ENV=1 (CI)."""
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


# libvirt's answers when the domain's emulator is not installed (virQEMUCapsCacheLookup,
# virCapabilitiesDomainDataLookup): they say nothing about the domain
_NO_EMULATOR = re.compile(
    r"Cannot check QEMU binary|Cannot find QEMU binary|"
    r"No emulator found for arch|could not find capabilities for "
    r".*arch=(i686|x86_64|s390x|aarch64)\b"
)
# the emulator of a guest architecture without <emulator> (libvirt's default binary names)
_ARCH_BINARY = {
    "i686": "qemu-system-i386",
    "x86_64": "qemu-system-x86_64",
    "s390x": "qemu-system-s390x",
    "aarch64": "qemu-system-aarch64",
}


def emulator_of(xml: str) -> str:
    """The file name of the emulator a domain XML runs on: its <emulator>, else the
    binary of its architecture."""
    emulator = re.search(r"<emulator>\s*([^<\s]+)\s*</emulator>", xml)
    if emulator:
        return os.path.basename(emulator.group(1))
    arch = re.search(r"""<type[^>]*\sarch=['"]([\w-]+)['"]""", xml)
    return _ARCH_BINARY.get(arch.group(1) if arch else "x86_64", "qemu-system-x86_64")


def require_emulator(xml: str) -> str:
    """The path of the domain's emulator on PATH; a skip with its name when it is not
    installed (each emulator on its own: x86_64 domains still run without s390x), a
    failure in CI (VIRTXLATE_REQUIRE_INTEGRATION=1)."""
    name = emulator_of(xml)
    path = shutil.which(name)
    if path is None:
        _missing(f"{name} (the emulator of this domain)", "VIRTXLATE_REQUIRE_INTEGRATION")
    return path  # type: ignore[return-value]


def skip_when_no_emulator(libvirt_error: str) -> None:
    """libvirt refused because the domain's emulator is not installed where libvirtd
    runs: that is no verdict on the domain, so a skip (a failure in CI), not a refusal."""
    if _NO_EMULATOR.search(libvirt_error):
        _missing(
            f"the emulator libvirt needs ({libvirt_error.strip()})", "VIRTXLATE_REQUIRE_INTEGRATION"
        )


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m virtxlate ARGS` as a user would, capturing both streams."""
    return subprocess.run(
        [sys.executable, "-m", "virtxlate", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


def conformance_inputs() -> list[Path]:
    """Every XML of the shared corpus (inputs and round-trip outputs)."""
    return sorted(CONFORMANCE.glob("*/*.xml")) if CONFORMANCE.is_dir() else []


@pytest.fixture(scope="session")
def virsh() -> str:
    """virsh of a running libvirtd at qemu:///system; a skip (a failure in CI) without."""
    path = shutil.which("virsh")
    if path is None:
        _missing("virsh (libvirt-clients)", "VIRTXLATE_REQUIRE_INTEGRATION")
    answer = subprocess.run(
        [str(path), "-c", "qemu:///system", "version"], capture_output=True, timeout=120
    )
    if answer.returncode != 0:
        _missing("a running libvirtd (.ci/start-libvirtd)", "VIRTXLATE_REQUIRE_INTEGRATION")
    return str(path)
