"""virtxlate against command lines captured once from real libvirt 9.0 (tests/data/libvirt-9.0):
the storage options and the PCI controllers of `argv --qemu 7.2` equal libvirt's, and a domain
libvirt refuses is refused.  Needs neither libvirt nor QEMU at test time."""

from __future__ import annotations

import shlex

import pytest
from conftest import DATA

from virtxlate.api import analyze, load
from virtxlate.argv.storage import device_driver, storage_options
from virtxlate.libvirt.host import FixedHost

CASES = DATA / "libvirt-9.0"
PCI_CONTROLLERS = frozenset({"pci-bridge", "pcie-root-port", "pcie-pci-bridge",
                             "dmi-to-pci-bridge", "pci-expander-bus", "pcie-expander-bus"})


def _libvirt_words(case) -> list[str]:
    words = shlex.split(case.with_suffix(".args").read_text().replace("\\\n", ""))
    return words[next(i for i, word in enumerate(words) if word.startswith("/")):]


def _compared(words: list[str]) -> list[tuple[str, str]]:
    pci = [(flag, value) for flag, value in zip(words, words[1:], strict=False)
           if flag == "-device" and device_driver(value) in PCI_CONTROLLERS]
    return pci + storage_options(words)


@pytest.mark.parametrize("case", sorted(CASES.glob("*.xml")), ids=lambda p: p.stem)
def test_argv_equals_libvirts(case):
    result = analyze(load(case.read_text()), "7.2", host=FixedHost())
    refusal = case.with_suffix(".err")
    if refusal.exists():
        assert not result.ok, f"libvirt refuses: {refusal.read_text().strip()}"
        return
    assert result.ok, [f for f in result.findings if f.is_error]
    expected = _compared(_libvirt_words(case))
    assert expected, "the captured line has no storage options"
    assert _compared(result.argv or []) == expected
