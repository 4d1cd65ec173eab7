"""Conformance with libvirt's own test outputs (../shared/conformance/libvirt).

Every .args file of the corpus is compared with what virtxlate writes for the QEMU release
its variant was generated against (tests/data/conformance-variants.tsv): the old-style
(-drive era) files were generated with the capability flags of their DO_TEST line rather
than a real release, so the table is adjusted by the flags that differ (MANIFEST.tsv).
The files that do not match are listed with their reasons in conformance-gaps.tsv.
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
from virtxlate.argv.storage import STORAGE_DEVICES as PACKAGE_STORAGE_DEVICES
from virtxlate.host import FixedHost

# libvirt's test suite mocks the host: /dev/cdrom is its one CD-ROM drive, every SCSI host
# device is /dev/sg0 (its virscsimock), and /dev/vhost-scsi opens
LIBVIRT_TEST_HOST = FixedHost(("/dev/cdrom",), "/dev/sg0", ("/dev/vhost-scsi",))

# Devices whose options count as storage for the comparison.
# -device drivers compared: the package's own list (virtxlate.argv.storage)
STORAGE_DEVICES = set(PACKAGE_STORAGE_DEVICES)
# Findings for what libvirt's generator lets through and QEMU refuses at start (some
# libvirt test inputs have an IDE unit 2): they do not stop the comparison.
QEMU_START_ONLY = {"VX0221"}
# libvirt flags of a DO_TEST line → our flag names (only those that change storage options).
DO_TEST_FLAGS = {
    "QEMU_CAPS_VIRTIO_BLK_SCSI": "virtio-blk-pci.scsi",
    "QEMU_CAPS_OBJECT_IOTHREAD": "iothread",
    "QEMU_CAPS_VIRTIO_BLK_NUM_QUEUES": "virtio-blk.num-queues",
    "QEMU_CAPS_PIIX3_USB_UHCI": "piix3-usb-uhci",
    "QEMU_CAPS_PR_MANAGER_HELPER": "pr-manager-helper",
    "QEMU_CAPS_DEVICE_ZPCI": "zpci",
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


def _table_for(flags_line: str, release: str = "1.5", arch: str = "x86_64"):
    table = caps.load(release, arch)
    listed = {
        DO_TEST_FLAGS[f] for f in re.findall(r"QEMU_CAPS_\w+", flags_line) if f in DO_TEST_FLAGS
    }
    return dataclasses.replace(table, flags=(table.flags - LISTED_ONLY) | listed)


def translate(case: str, flags_line: str) -> list[tuple[str, str]] | str:
    domain = load(str(CONFORMANCE / case / f"{case}.xml"))
    table = _table_for(flags_line)
    from virtxlate.argv import command_line
    from virtxlate.libvirt.plan import plan_storage
    from virtxlate.rules import check_domain

    errors = [
        f for f in check_domain(domain, [table]) if f.is_error and f.code not in QEMU_START_ONLY
    ]
    if errors:
        return "; ".join(f"{f.code} {f.message}" for f in errors)
    plan = plan_storage(domain, table, LIBVIRT_TEST_HOST)
    return storage_options(command_line(plan))


def test_seed_runs_through_analyze_on_every_corpus_input(shared):
    """Every x86 corpus input gets an answer: a command line and a device graph, or error
    findings that each point at an element of the input (line and XPath); a crash fails."""
    answered = 0
    for path in sorted(CONFORMANCE.glob("*/*.xml")):
        domain = load(str(path))
        arch = domain.arch or "x86_64"
        if arch not in ("x86_64", "i686"):
            continue
        result = analyze(domain, "1.5")
        answered += 1
        if result.ok:
            assert result.argv and result.argv[0].startswith("/"), path
            assert result.graph is not None, path
        else:
            errors = [f for f in result.findings if f.is_error]
            assert all(f.line > 0 and f.xpath.startswith("/") for f in errors), (path, errors)
    assert answered >= 60, answered


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


def option_fields(flag: str, value: str) -> tuple[str, tuple[tuple[str, str], ...]]:
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
    """The storage options of a command line as parsed values: -blockdev, -drive, the
    floppy controller's -global, iothread objects, and -device of storage devices."""
    found = []
    for flag, value in zip(words, words[1:], strict=False):
        if flag in ("-blockdev", "-drive"):
            found.append(option_fields(flag, value))
        elif flag == "-global" and value.startswith("isa-fdc."):
            found.append((flag, ((value, ""),)))
        elif flag == "-object" and (
            '"qom-type":"iothread"' in value or value.startswith("iothread,")
        ):
            found.append(option_fields(flag, value))
        elif flag == "-device":
            fields = option_fields(flag, value)
            if dict(fields[1]).get("driver") in STORAGE_DEVICES:
                found.append(fields)
    return found


# --- every .args file of the corpus -----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Variant:
    suffix: str  # how the .args file name ends after the case name
    arch: str
    release: str  # the virtxlate table; "-" when there is none to compare against
    how: str


def _variants() -> list[Variant]:
    """tests/data/conformance-variants.tsv: each kind of .args and its QEMU release."""
    rows = []
    for line in (DATA / "conformance-variants.tsv").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(Variant(*line.split("\t")))
    return rows


def _variant_name(suffix: str) -> str:
    """The name conformance-gaps.tsv uses: old, 4.1.0, latest, s390x-latest, ..."""
    if suffix == ".args":
        return "old"
    name = suffix.removeprefix(".").removesuffix(".args")
    return name.removeprefix("x86_64-")


def _input_xml(case: str, suffix: str):
    directory = CONFORMANCE / case
    if suffix == ".x86_64-latest.args" and case in LATEST_INPUTS:
        return directory / LATEST_INPUTS[case]
    path = directory / f"{case}.xml"
    return path if path.exists() else None


def _version_key(release: str) -> tuple[int, ...]:
    return tuple(int(part) for part in release.split("."))


def _first_release_with(flags_line: str) -> str:
    """The first x86_64 release in ../shared/qemu-caps/STORAGE-FLAGS.tsv that has every
    device a DO_TEST line lists (QEMU_CAPS_DEVICE_PCIE_ROOT_PORT → pcie-root-port,
    QEMU_CAPS_SCSI_MPTSAS1068 → mptsas1068; names the table does not hold are passed
    over), "1.2" when none is listed there.  Other flags (iothread, …) are set on the
    table as the line says (_table_for); a device the table lacks cannot be."""
    with open(CONFORMANCE.parent.parent / "qemu-caps" / "STORAGE-FLAGS.tsv", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    header, by_flag = rows[0], {row[0]: row for row in rows[1:]}
    # device flags: QEMU_CAPS_DEVICE_X, and the SCSI controllers' QEMU_CAPS_SCSI_X
    # (QEMU_CAPS_SCSI_MPTSAS1068 → mptsas1068)
    wanted = [
        by_flag[name]
        for name in (
            flag.lower().replace("_", "-")
            for flag in re.findall(r"QEMU_CAPS_(?:DEVICE|SCSI)_(\w+)", flags_line)
        )
        if name in by_flag
    ]
    for column, version in enumerate(header[1:], start=1):
        if version[0].isdigit() and all(row[column] == "1" for row in wanted):
            return ".".join(version.split(".")[:2])
    return "1.2"


def compare_args(args) -> tuple[str, str | None]:
    """(variant name, None when virtxlate gives libvirt's storage options for ARGS, or why
    not)."""
    case = args.parent.name
    suffix = args.name[len(case) :]
    variant_name = _variant_name(suffix)
    xml = _input_xml(case, suffix)
    if xml is None:
        return variant_name, "no input XML in the corpus"
    domain = load(str(xml))
    arch = "x86_64" if domain.arch in (None, "i686") else domain.arch
    variant = next((v for v in _variants() if v.suffix == suffix and v.arch == arch), None)
    if variant is None or variant.release == "-":
        return variant_name, f"no table for {arch} {suffix}"
    if suffix == ".args":
        flags_line = _manifest().get(case, "")
        release = variant.release
        if arch == "x86_64":
            release = max(release, _first_release_with(flags_line), key=_version_key)
        table = _table_for(flags_line, release, arch)
    else:
        table = caps.load(variant.release, arch)
    from virtxlate.argv import command_line
    from virtxlate.libvirt.plan import plan_storage
    from virtxlate.rules import check_domain

    errors = [
        f for f in check_domain(domain, [table]) if f.is_error and f.code not in QEMU_START_ONLY
    ]
    if errors:
        return variant_name, "; ".join(f"{f.code} {f.message}" for f in errors)
    plan = plan_storage(domain, table, LIBVIRT_TEST_HOST)
    if any(f.is_error for f in plan.findings) or plan.family is None:
        return variant_name, "; ".join(f.message for f in plan.findings if f.is_error)
    ours, theirs = blockdev_storage(command_line(plan)), blockdev_storage(_args_words(args))
    if ours == theirs:
        return variant_name, None
    first = next(
        i
        for i, pair in enumerate(zip(ours + [None], theirs + [None], strict=False))
        if pair[0] != pair[1]
    )
    return variant_name, f"option {first} differs"


def test_conformance_every_args_file(shared):
    """Every .args of every case: virtxlate's storage options, as parsed values, equal
    libvirt's; the ones that do not are exactly those listed in conformance-gaps.tsv."""
    results = {}
    for args in sorted(CONFORMANCE.glob("*/*.args")):
        variant, why = compare_args(args)
        results[(variant, args.parent.name)] = why
    passed = [key for key, why in results.items() if why is None]
    by_variant: dict[str, list[int]] = {}
    for (variant, _), why in results.items():
        by_variant.setdefault(variant, [0, 0])[why is None] += 1
    detail = ", ".join(f"{name} {ok}/{ok + bad}" for name, (bad, ok) in sorted(by_variant.items()))
    print(f"\nconformance: {len(passed)} of {len(results)} .args files match ({detail})")
    gaps = {
        (variant, case): why for variant in by_variant for case, why in known_gaps(variant).items()
    }
    unexpected = {key: why for key, why in results.items() if why and key not in gaps}
    assert not unexpected, unexpected
    fixed = [key for key in gaps if results.get(key, "not in corpus") is None]
    assert not fixed, f"now passing, remove from conformance-gaps.tsv: {fixed}"
    stale = [key for key in gaps if key not in results]
    assert not stale, f"listed in conformance-gaps.tsv but not in the corpus: {stale}"
    assert len(results) == len(list(CONFORMANCE.glob("*/*.args")))
