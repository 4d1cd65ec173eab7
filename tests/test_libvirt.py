"""virtxlate against real libvirt 9.0 (Debian) and QEMU 7.2: for every sample the storage
options of `virtxlate argv --qemu 7.2` equal those of `virsh domxml-to-native qemu-argv`,
byte for byte.  "Valid" is libvirt accepting the domain AND QEMU starting on libvirt's
command line (tests/qemu_start.py: paused, TCG, storage on null-co); a refusal by either
is a refusal virtxlate must give too.  .ci/run starts libvirtd (.ci/start-libvirtd)."""

from __future__ import annotations

import json
import shlex

import pytest
from conftest import SAMPLES, require_emulator, run_cli, skip_when_no_emulator, virsh_run
from qemu_start import host_only, qemu_refusal
from samples_support import LIBVIRT_GAPS

from virtxlate.argv.storage import storage_options

pytestmark = pytest.mark.integration

URI = "qemu:///system"


def _libvirt_argv(virsh: str, sample) -> tuple[list[str] | None, str]:
    """libvirt's command line for the domain file SAMPLE (from the emulator on), or None and
    libvirt's reason when it refuses; a skip when libvirt lacks the domain's emulator."""
    result = virsh_run(virsh, "domxml-to-native", "qemu-argv", str(sample))
    if result.returncode != 0:
        skip_when_no_emulator(result.stderr)
        return None, result.stderr.strip()
    words = shlex.split(result.stdout.replace("\\\n", ""))
    start = next(i for i, word in enumerate(words) if word.startswith("/"))
    return words[start:], ""


def libvirt_then_qemu(virsh: str, path, start_qemu: bool = True) -> tuple[list[str] | None, str]:
    """libvirt's command line for the domain file PATH and None when libvirt accepts it and
    QEMU starts on that line; else None and who refused, why.  Without START_QEMU (a
    bounded sample is started per run), or for a line that needs the host's own devices
    (qemu_start.host_only), only libvirt's verdict counts."""
    words, error = _libvirt_argv(virsh, path)
    if words is None:
        return None, f"libvirt refuses it: {error}"
    refusal = qemu_refuses(words) if start_qemu else None
    if refusal is not None:
        return None, f"QEMU refuses libvirt's command line: {refusal}"
    return words, ""


def qemu_refuses(words: list[str]) -> str | None:
    """QEMU's reason when it does not start on libvirt's line WORDS; None when it starts or
    the line needs the host's own devices; a skip when the emulator is not installed."""
    if host_only(words) is not None:
        return None
    require_emulator(f"<emulator>{words[0]}</emulator>")
    return qemu_refusal(words)


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.xml")), ids=lambda p: p.name)
def test_storage_options_equal_libvirts(virsh, sample):
    require_emulator(sample.read_text())
    expected, error = libvirt_then_qemu(virsh, sample)
    ours = run_cli("argv", str(sample), "--qemu", "7.2", "--format", "json")
    if expected is None:
        # libvirt refuses it, or QEMU refuses libvirt's line: so must virtxlate
        assert ours.returncode == 1, (error, ours.stdout)
        return
    assert ours.returncode == 0, ours.stderr
    mine = storage_options(json.loads(ours.stdout))
    theirs = storage_options(expected)
    assert theirs, f"libvirt wrote no storage options for {sample.name}"
    if sample.name in LIBVIRT_GAPS:
        assert mine != theirs, f"{sample.name} now matches: remove it from LIBVIRT_GAPS"
        pytest.xfail(LIBVIRT_GAPS[sample.name])
    assert mine == theirs
