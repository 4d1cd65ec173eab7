"""Conformance with libvirt's own test outputs (../shared/conformance/libvirt).

For each case with an input XML and an old-style (-drive era) `.args`, the storage
options virtxlate writes for QEMU 1.5 must equal the storage options in the `.args`.
Those files were generated with the capability flags of their DO_TEST line rather than
a real release, so the 1.5 table is adjusted by the flags that differ (see MANIFEST.tsv).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import shlex

import pytest
from conftest import CONFORMANCE, DATA

from virtxlate import caps
from virtxlate.api import analyze, load
from virtxlate.libvirt.host import FixedHost

# libvirt's test suite mocks the host: /dev/cdrom is its one CD-ROM drive
LIBVIRT_TEST_HOST = FixedHost(("/dev/cdrom",))

# Devices whose options count as storage for the comparison.
STORAGE_DEVICES = {
    "virtio-scsi-pci", "lsi", "megasas", "mptsas1068", "pvscsi", "spapr-vscsi", "ahci",
    "scsi-hd", "scsi-cd", "scsi-block", "scsi-generic", "scsi-disk", "ide-hd", "ide-cd",
    "ide-drive", "virtio-blk-pci", "usb-storage", "floppy", "virtio-blk-pci-transitional",
    "virtio-blk-pci-non-transitional", "virtio-scsi-pci-transitional",
    "virtio-scsi-pci-non-transitional", "virtio-blk-ccw", "virtio-scsi-ccw",
    "virtio-blk-device", "virtio-scsi-device",
}
# libvirt flags of a DO_TEST line → our flag names (only those that change storage options).
DO_TEST_FLAGS = {
    "QEMU_CAPS_VIRTIO_BLK_SCSI": "virtio-blk-pci.scsi",
    "QEMU_CAPS_OBJECT_IOTHREAD": "iothread",
    "QEMU_CAPS_VIRTIO_BLK_NUM_QUEUES": "virtio-blk.num-queues",
    "QEMU_CAPS_PIIX3_USB_UHCI": "piix3-usb-uhci",
}
# Flags the old-style tests only had when their DO_TEST line listed them.
LISTED_ONLY = set(DO_TEST_FLAGS.values())

def known_gaps(variant: str) -> dict[str, str]:
    """tests/data/conformance-gaps.tsv: the cases of VARIANT that do not pass, and why."""
    gaps = {}
    for line in (DATA / "conformance-gaps.tsv").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            kind, case, reason = line.split("\t")
            if kind == variant:
                gaps[case] = reason
    return gaps


def _manifest() -> dict[str, str]:
    with open(CONFORMANCE / "MANIFEST.tsv", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return {row["case"]: row["flags_or_version"] for row in rows if row["kind"] == "args-old"}


def _args_words(path) -> list[str]:
    words = shlex.split(path.read_text().replace("\\\n", ""))
    start = next(i for i, word in enumerate(words) if word.startswith("/"))
    return words[start:]


def storage_options(words: list[str]) -> list[tuple[str, str]]:
    found = []
    for flag, value in zip(words, words[1:], strict=False):
        if flag == "-drive" or flag == "-global" and value.startswith("isa-fdc."):
            found.append((flag, value))
        elif flag == "-device" and value.split(",", 1)[0] in STORAGE_DEVICES:
            found.append((flag, value))
    return found


def _x86_cases() -> list[str]:
    if not CONFORMANCE.is_dir():
        return []
    cases = []
    for case_dir in sorted(CONFORMANCE.iterdir()):
        name = case_dir.name
        xml, args = case_dir / f"{name}.xml", case_dir / f"{name}.args"
        if not (xml.exists() and args.exists()):
            continue
        if load(str(xml)).arch not in (None, "x86_64", "i686"):
            continue
        cases.append(name)
    return cases


def _table_for(flags_line: str):
    table = caps.load("1.5")
    listed = {DO_TEST_FLAGS[f] for f in re.findall(r"QEMU_CAPS_\w+", flags_line)
              if f in DO_TEST_FLAGS}
    return dataclasses.replace(table, flags=(table.flags - LISTED_ONLY) | listed)


def translate(case: str, flags_line: str) -> list[tuple[str, str]] | str:
    domain = load(str(CONFORMANCE / case / f"{case}.xml"))
    table = _table_for(flags_line)
    from virtxlate.argv import command_line
    from virtxlate.libvirt.plan import plan_storage
    from virtxlate.rules import check_domain

    errors = [f for f in check_domain(domain, [table]) if f.is_error]
    if errors:
        return "; ".join(f"{f.code} {f.message}" for f in errors)
    plan = plan_storage(domain, table, LIBVIRT_TEST_HOST)
    return storage_options(command_line(plan))


def test_conformance_drive_era(shared):
    manifest = _manifest()
    cases = _x86_cases()
    assert len(cases) >= 30
    passed, failed = [], {}
    for case in cases:
        got = translate(case, manifest.get(case, ""))
        expected = storage_options(_args_words(CONFORMANCE / case / f"{case}.args"))
        if got == expected:
            passed.append(case)
        else:
            failed[case] = got if isinstance(got, str) else \
                next(f"expected {e} got {g}" for e, g in zip(expected + [None] * 99,
                                                                  got + [None] * 99, strict=False)
                     if e != g)
    print(f"\nconformance (-drive era, x86): {len(passed)} of {len(cases)} cases match")
    gaps = known_gaps("old")
    unexpected = {case: why for case, why in failed.items() if case not in gaps}
    assert not unexpected, unexpected
    fixed = [case for case in gaps if case in passed]
    assert not fixed, f"now passing, remove from conformance-gaps.tsv: {fixed}"


def test_seed_runs_through_analyze_on_every_corpus_input(shared):
    """No corpus input makes the translation crash, whatever it finds."""
    for path in sorted(CONFORMANCE.glob("*/*.xml")):
        domain = load(str(path))
        arch = domain.arch or "x86_64"
        if arch not in ("x86_64", "i686"):
            continue
        result = analyze(domain, "1.5")
        assert result.findings is not None


@pytest.mark.parametrize("case", ["disk-scsi-disk-split", "disk-order", "disk-error-policy"])
def test_pinned_cases(shared, case):
    got = translate(case, _manifest().get(case, ""))
    assert got == storage_options(_args_words(CONFORMANCE / case / f"{case}.args"))


# --- the -blockdev era: *.x86_64-latest.args against the 7.2 table -------------------------

# Latest .args whose devices match another stored revision of the input (MANIFEST.tsv notes).
LATEST_INPUTS = {
    "disk-virtio": "disk-virtio.input-c9880b6.xml",
    "disk-virtio-queues": "disk-virtio-queues.input-2d6d67e.xml",
}


def _option_fields(flag: str, value: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """An option as (flag, key/value pairs) whatever its syntax: JSON or key=value."""
    from virtxlate.argv.escape import split_keyval

    if value.startswith("{"):
        data = json.loads(value)
    else:
        parts = split_keyval(value)
        data = {} if "=" in parts[0] else {"driver": parts[0]}
        data.update(part.split("=", 1) for part in parts if "=" in part)

    def text(item: object) -> str:
        if isinstance(item, bool):
            return "on" if item else "off"
        return json.dumps(item, sort_keys=True) if isinstance(item, dict) else str(item)

    return flag, tuple((key, text(item)) for key, item in data.items())


def blockdev_storage(words: list[str]) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    found = []
    for flag, value in zip(words, words[1:], strict=False):
        if flag in ("-blockdev", "-drive"):
            found.append(_option_fields(flag, value))
        elif flag == "-device":
            fields = _option_fields(flag, value)
            if dict(fields[1]).get("driver") in STORAGE_DEVICES:
                found.append(fields)
    return found


def test_conformance_blockdev_era(shared):
    latest = sorted(CONFORMANCE.glob("*/*.x86_64-latest.args"))
    passed, failed = [], {}
    for args in latest:
        case = args.parent.name
        xml = args.parent / LATEST_INPUTS.get(case, f"{case}.xml")
        if not xml.exists():
            continue
        result = analyze(load(str(xml)), "7.2", host=LIBVIRT_TEST_HOST)
        expected = blockdev_storage(_args_words(args))
        if result.argv is None:
            failed[case] = "; ".join(f.message for f in result.findings if f.is_error)
        elif blockdev_storage(result.argv) == expected:
            passed.append(case)
        else:
            failed[case] = "storage options differ"
    print(f"\nconformance (-blockdev era, x86, QEMU 7.2 table): {len(passed)} of "
          f"{len(passed) + len(failed)} cases match")
    gaps = known_gaps("latest")
    unexpected = {case: why for case, why in failed.items() if case not in gaps}
    assert not unexpected, unexpected
    fixed = [case for case in gaps if case in passed]
    assert not fixed, f"now passing, remove from conformance-gaps.tsv: {fixed}"
    assert len(passed) >= 30


def test_conformance_4_1_variant(shared):
    """*.x86_64-4.1.0.args: libvirt with the captured caps of QEMU 4.1 (DO_TEST_CAPS_VER,
    MANIFEST.tsv), the last -drive era release, against virtxlate's 4.1 table."""
    passed, failed = [], {}
    for args in sorted(CONFORMANCE.glob("*/*.x86_64-4.1.0.args")):
        case = args.parent.name
        result = analyze(load(str(args.parent / f"{case}.xml")), "4.1", host=LIBVIRT_TEST_HOST)
        expected = blockdev_storage(_args_words(args))
        if result.argv is not None and blockdev_storage(result.argv) == expected:
            passed.append(case)
        else:
            failed[case] = "differs"
    print(f"\nconformance (4.1.0 variant, 4.1 table): {len(passed)} of "
          f"{len(passed) + len(failed)} cases match")
    gaps = known_gaps("4.1.0")
    assert set(failed) == set(gaps), (failed, gaps)
