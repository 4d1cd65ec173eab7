"""The case folder tests/cases (layout in tests/cases_support.py and tests/cases/README.md):
each domain against what libvirt 9.0 wrote for it, what QEMU built from that, or who refused
it.  Offline: no libvirt or QEMU at test time.

What is compared is what virtxlate writes today:
- `.args`: the machine type, the storage options and the PCI/USB controllers and hubs
  (cases_support.compared), option for option in libvirt's order; and every -device
  virtxlate writes is among those (a device kind argv starts writing must be compared);
  without an `.err` beside it, virtxlate gives no error;
- `.qtree`: every device virtxlate's tree prints is in QEMU's at the same place (bus name,
  type and id on every level) with QEMU's value for every property it prints, and every
  storage device or controller libvirt's line made in QEMU's tree (USB controllers
  included) is in virtxlate's;
- `.err`: the error codes virtxlate gives are the file's `code` lines, and where libvirt
  refuses, virtxlate writes no command line either (where QEMU refuses libvirt's line,
  argv still shows that line).

VIRTXLATE_REGENERATE=1 first rewrites every qemu-7.2 file from real libvirt 9.0
(`virsh domxml-to-native qemu-argv`) and QEMU 7.2 (paused on libvirt's line, storage on
null-co, `info qtree`), then compares; a file of another release is checked data, kept, and
the run says so.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import warnings

import pytest
from cases_support import (
    CASES,
    CONTROLLERS,
    URI,
    Expected,
    args_words,
    compared,
    expected_files,
    read_err,
    regenerate,
    uncompared_devices,
)
from qtree import QBus, QDevice, parse_qtree

from virtxlate.api import analyze, load
from virtxlate.argv.storage import STORAGE_DEVICES
from virtxlate.cli import main

REGENERATE = os.environ.get("VIRTXLATE_REGENERATE") == "1"

# cases where virtxlate does not yet give libvirt's or QEMU's answer (xfail, strict: a
# case that starts passing must leave this list)
_NVME = (
    "virtxlate writes nothing for <disk type='nvme'> and says nothing; libvirt 9.0 writes "
    '-blockdev {"driver":"nvme","device":"0000:01:00.0","namespace":1} and '
    "its virtio-blk-pci (on a root port it adds)"
)
KNOWN_GAPS = {
    "nvme-disk-q35.qemu-7.2.args": _NVME,
    "nvme-disk-q35.qemu-7.2.qtree": _NVME,
    "slots-after-non-storage-pc.qemu-1.5.args": (
        "virtxlate's tree has no HDA bus under intel-hda (sound0.0: the 1.5 table lists no "
        "bus of intel-hda; graph/ is the lead's), and cases_support compares no sound "
        "device yet (tests/test_display.py compares them)"
    ),
    "slots-after-non-storage-pc.qemu-7.2.args": (
        "argv writes the sound card and its codec, which cases_support does not compare "
        "yet (tests/test_display.py compares them with libvirt's)"
    ),
    "usb-tablet-q35.qemu-7.2.args": (
        "argv writes the usb-tablet, which cases_support does not compare yet "
        "(tests/test_display.py compares it with libvirt's)"
    ),
    "usb-nic-no-pci-slot-pc.qemu-7.2.err": (
        "libvirt 9.0 refuses a usb-net interface without an address ('Cannot automatically "
        "add a new PCI bus for a device with connect flags 00'); virtxlate does not judge "
        "interfaces yet (issue 17)"
    ),
}


def _regenerate_all() -> list[str]:
    virsh = shutil.which("virsh")
    answer = (
        subprocess.run([virsh, "-c", URI, "version"], capture_output=True, timeout=120)
        if virsh is not None
        else None
    )
    if answer is None or answer.returncode != 0:
        # else every case would get libvirt's "cannot connect" as its refusal
        raise pytest.UsageError(
            "VIRTXLATE_REGENERATE=1 needs virsh and a running libvirtd (.ci/start-libvirtd)"
        )
    if b"QEMU 7.2." not in answer.stdout:
        raise pytest.UsageError("libvirt here does not run QEMU 7.2: not the qemu-7.2 files")
    if shutil.which("qemu-system-x86_64") is None:
        raise pytest.UsageError("VIRTXLATE_REGENERATE=1 needs qemu-system-x86_64 (QEMU 7.2)")
    lines = []
    for xml in sorted(CASES.glob("*.xml")):
        done = regenerate(virsh, xml)
        lines += [f"{done.case}: {what}" for what in done.written + done.notes]
    return lines


# before the files are collected: regeneration may add or remove some
REGENERATED = _regenerate_all() if REGENERATE else []


def _params(kind: str) -> list:
    """The expected files of KIND, a known gap as a strict xfail (its test runs: one that
    passes fails the run until its entry leaves KNOWN_GAPS)."""
    return [
        pytest.param(
            expected,
            id=expected.path.name,
            marks=[pytest.mark.xfail(reason=KNOWN_GAPS[expected.path.name], strict=True)]
            if expected.path.name in KNOWN_GAPS
            else [],
        )
        for expected in expected_files(kind)
    ]


def _mark(expected: Expected) -> None:
    if REGENERATE and not expected.regenerable:
        warnings.warn(
            f"{expected.path.name}: checked data, not regenerated (libvirt here answers "
            "with QEMU 7.2's capabilities only)",
            stacklevel=2,
        )


def _analysis(expected: Expected):
    return analyze(load(expected.xml), expected.qemu, expected.arch)


@pytest.mark.parametrize("expected", _params("args"))
def test_args_are_libvirts(expected):
    _mark(expected)
    theirs = compared(args_words(expected.path.read_text()))
    assert [flag for flag, _ in theirs] != ["-machine"], "libvirt's line has nothing compared"
    result = _analysis(expected)
    assert result.argv is not None, result.findings
    if not expected.path.with_suffix(".err").exists():
        # libvirt wrote it and QEMU starts on it: no error either
        assert result.ok, [f.message for f in result.findings if f.is_error]
    assert compared(result.argv) == theirs
    assert uncompared_devices(result.argv) == [], "argv writes devices no case compares"


def _devices(bus: QBus, path: tuple = ()) -> dict[tuple, QDevice]:
    """Every device by its path from the root: (bus name, type, id) per level."""
    found: dict[tuple, QDevice] = {}
    for device in bus.devices:
        key = (*path, (bus.name, device.type, device.id))
        found.setdefault(key, device)
        for child in device.buses:
            found.update(_devices(child, key))
    return found


@pytest.mark.parametrize("expected", _params("qtree"))
def test_qtree_is_qemus(expected):
    _mark(expected)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["tree", str(expected.xml), "--qemu", expected.qemu])
    assert status == 0
    ours = _devices(parse_qtree(out.getvalue()))
    real = _devices(parse_qtree(expected.path.read_text()))
    assert ours
    for path, device in ours.items():
        assert path in real, path
        for name, value in device.props.items():
            assert real[path].props.get(name) == value, (path[-1], name)
    # libvirt's storage devices and controllers (those carry ids; the machine's built-in
    # ones, such as pc's isa-fdc, have none), its USB controllers included
    kinds = STORAGE_DEVICES | CONTROLLERS
    missing = [path for path in real if path[-1][1] in kinds and path[-1][2] and path not in ours]
    assert missing == []


@pytest.mark.parametrize("expected", _params("err"))
def test_refusals_are_libvirts_or_qemus(expected):
    _mark(expected)
    codes, refusals = read_err(expected.path)
    assert refusals, "the file says nobody refuses"
    result = _analysis(expected)
    assert sorted(f.code for f in result.findings if f.is_error) == sorted(codes)
    if any(refusal.startswith("libvirt: ") for refusal in refusals):
        # libvirt writes no line for it: neither does virtxlate
        assert result.argv is None


def test_known_gaps_name_case_files():
    assert sorted(set(KNOWN_GAPS) - {path.name for path in CASES.iterdir()}) == []


@pytest.mark.skipif(not REGENERATE, reason="VIRTXLATE_REGENERATE=1 not set")
def test_regeneration_report():
    """What regeneration changed (see `git diff tests/cases`) and what it could not do."""
    notes = [line for line in REGENERATED if "no `code` line" in line]
    for line in REGENERATED:
        warnings.warn(line, stacklevel=1)
    assert notes == []
