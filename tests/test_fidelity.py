"""virtxlate against command lines captured once from real libvirt 9.0 (tests/data/libvirt-9.0):
the storage options and the PCI controllers of `argv --qemu 7.2` equal libvirt's, and a domain
libvirt refuses is refused.  Needs neither libvirt nor QEMU at test time."""

from __future__ import annotations

import shlex

import pytest
from conftest import DATA

from virtxlate import caps
from virtxlate.api import analyze, load
from virtxlate.argv.escape import json_value
from virtxlate.argv.storage import device_driver, storage_options
from virtxlate.host import FixedHost
from virtxlate.libvirt.plan import plan_storage
from virtxlate.names.scsi import LIBVIRT_DRIVER_NAMES

CASES = DATA / "libvirt-9.0"
# besides storage: the PCI controllers, and devices libvirt names unlike QEMU (storage
# ones among them, which argv/storage.py does not know by libvirt's name)
ALSO_COMPARED = frozenset(
    {
        "pci-bridge",
        "pcie-root-port",
        "pcie-pci-bridge",
        "dmi-to-pci-bridge",
        "pci-expander-bus",
        "pcie-expander-bus",
        *LIBVIRT_DRIVER_NAMES.values(),
    }
)
# cases libvirt writes a line for that QEMU 7.2 refuses to start (checked on QEMU)
QEMU_REFUSES = {
    "scsi-dc390": "VX0306",
    "write-cache-usb-cd": "VX0302",
    "write-cache-virtio-lun": "VX0302",
    # its USB disk has no medium: usb-storage without a drive
    "bridge-beside-empty-root-ports-q35": "VX0302",
}


def _libvirt_words(case) -> list[str]:
    words = shlex.split(case.with_suffix(".args").read_text().replace("\\\n", ""))
    return words[next(i for i, word in enumerate(words) if word.startswith("/")) :]


def _compared(words: list[str]) -> list[tuple[str, str]]:
    also = [
        (flag, value)
        for flag, value in zip(words, words[1:], strict=False)
        if flag == "-device" and device_driver(value) in ALSO_COMPARED
    ]
    return also + storage_options(words)


@pytest.mark.parametrize("case", sorted(CASES.glob("*.xml")), ids=lambda p: p.stem)
def test_argv_equals_libvirts(case):
    result = analyze(load(case.read_text()), "7.2", host=FixedHost())
    refusal = case.with_suffix(".err")
    if refusal.exists():
        assert not result.ok, f"libvirt refuses: {refusal.read_text().strip()}"
        return
    errors = [f.code for f in result.findings if f.is_error]
    assert errors == ([QEMU_REFUSES[case.stem]] if case.stem in QEMU_REFUSES else [])
    expected = _compared(_libvirt_words(case))
    assert expected, "the captured line has no storage options"
    assert _compared(result.argv or []) == expected


FIRMWARE = DATA / "libvirt-9.0-firmware"


@pytest.mark.parametrize("case", sorted(FIRMWARE.glob("*.xml")), ids=lambda p: p.stem)
def test_firmware_nodes_are_libvirts(case):
    """The pflash nodes before -machine and -machine's pflashN=, in the plan and on the
    command line argv writes."""
    domain = load(case.read_text())
    if case.with_suffix(".err").exists():
        assert not analyze(domain, "7.2", host=FixedHost()).ok
        return
    words = _libvirt_words(case)
    machine = words.index("-machine")
    theirs = [
        value
        for flag, value in zip(words[:machine], words[1 : machine + 1], strict=False)
        if flag == "-blockdev"
    ]
    pflash = [
        prop.split("=") for prop in words[machine + 1].split(",") if prop.startswith("pflash")
    ]
    assert theirs and pflash
    plan = plan_storage(domain, caps.load("7.2"), FixedHost())
    assert [json_value(option) for option in plan.firmware] == theirs
    assert [list(prop) for prop in plan.pflash] == pflash
    result = analyze(domain, "7.2", host=FixedHost())
    argv = result.argv
    assert argv is not None, result.findings
    ours = argv.index("-machine")
    assert [
        value
        for flag, value in zip(argv[:ours], argv[1 : ours + 1], strict=False)
        if flag == "-blockdev"
    ] == theirs
    assert [
        prop.split("=") for prop in argv[ours + 1].split(",") if prop.startswith("pflash")
    ] == pflash


@pytest.mark.parametrize(
    "case",
    sorted(case for case in CASES.glob("*.err") if "Invalid PCI address" in case.read_text()),
    ids=lambda p: p.stem,
)
def test_refusals_of_pci_addresses_quote_libvirt(case):
    """Where libvirt refuses an address at parse time, virtxlate's error quotes it."""
    theirs = case.read_text().strip().removeprefix("error: XML error: ")
    result = analyze(load(case.with_suffix(".xml").read_text()), "7.2", host=FixedHost())
    assert any(theirs in f.message for f in result.findings if f.is_error), result.findings
