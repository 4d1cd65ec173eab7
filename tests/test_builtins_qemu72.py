"""The machine's built-in devices in `virtxlate tree` are the ones QEMU 7.2 creates, where it
creates them, for the machine options libvirt 9.0 writes:

- tests/cases/builtins-*.qemu-7.2.qtree (`info qtree` of real QEMU 7.2 on libvirt's line,
  VIRTXLATE_REGENERATE=1): the whole tree, every built-in included, in QEMU's order, and
  what `<vmport state='off'/>` (-machine vmport=off), `<timer name='hpet' present='no'/>`
  (-no-hpet) and a domain without `<acpi/>` (-no-acpi) take away on pc and q35; isapc's
  ISA-only chipset (tools/caps-facts/qtree-families.tsv);
- the 7.2 probe's own bare machines (tools/caps-replies/probe_7.2.22_*.replies.xz): pc, q35
  and s390-ccw-virtio as QEMU built them with nothing plugged;
- the other releases' tables claim no built-in the 7.2 probe showed beyond the range
  tools/caps-facts/builtin-releases.tsv gives it;
- under KVM (a live run where /dev/kvm can be opened) QEMU makes kvm-ioapic, kvm-i8259,
  kvm-pit and a kvmclock: the graph leaves those out and shows everything else.
Needs no QEMU but for the KVM test.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from cases_support import CASES
from conftest import REPO
from qemu_start import runnable
from qtree import QBus, parse_qtree

from virtxlate import caps
from virtxlate.api import analyze, load
from virtxlate.caps.answers import read_replies
from virtxlate.graph.render import qtree_text
from virtxlate.qemu import QemuProcess

REPLIES = REPO / "tools" / "caps-replies"
CASE_TREES = sorted(CASES.glob("builtins-*.qemu-7.2.qtree"))


def _devices(bus: QBus, path: tuple = ()) -> list[tuple]:
    """Every device's path from the root, (bus, type, id) per level, in qtree order."""
    found = []
    for device in bus.devices:
        key = (*path, (bus.name, device.type, device.id))
        found.append(key)
        for child in device.buses:
            found += _devices(child, key)
    return found


def _types(text: str) -> Counter[str]:
    """The built-ins of a tree (devices with no id below devices with none), by type."""
    paths = _devices(parse_qtree(text))
    return Counter(path[-1][1] for path in paths if not any(level[2] for level in path))


def _our_tree(xml: str, version: str = "7.2") -> str:
    result = analyze(load(xml), version)
    assert result.graph is not None, [f.message for f in result.findings]
    return qtree_text(result.graph)


def _case(name: str) -> str:
    return (CASES / f"{name}.qemu-7.2.qtree").read_text()


def test_the_cases_are_there():
    assert len(CASE_TREES) >= 8


@pytest.mark.parametrize("qtree", CASE_TREES, ids=lambda p: p.name)
def test_our_whole_tree_is_qemus(qtree: Path):
    """Every device in the same place and order, the built-ins with nothing left out."""
    xml = CASES / qtree.name.replace(".qemu-7.2.qtree", ".xml")
    ours = _devices(parse_qtree(_our_tree(xml.read_text())))
    assert ours == _devices(parse_qtree(qtree.read_text()))


@pytest.mark.parametrize(
    ("base", "changed", "gone"),
    [
        # pc_superio_init: no vmport_init, no vmmouse with vmport=off
        ("builtins-acpi-pc", "builtins-vmport-off-pc", {"vmport": 1, "vmmouse": 1}),
        # pc_basic_device_init: no hpet with -no-hpet
        ("builtins-acpi-pc", "builtins-hpet-off-pc", {"hpet": 1}),
        # pc_init1: neither PIIX4_PM nor its eight eeproms with -no-acpi
        ("builtins-acpi-pc", "builtins-no-acpi-pc", {"PIIX4_PM": 1, "smbus-eeprom": 8}),
        # pc_q35_init: the ICH9-SMB and its eeproms do not depend on ACPI
        ("builtins-acpi-q35", "builtins-no-acpi-q35", {}),
        (
            "builtins-acpi-q35",
            "builtins-vmport-hpet-off-q35",
            {"vmport": 1, "vmmouse": 1, "hpet": 1},
        ),
    ],
)
def test_what_a_machine_option_takes_away(base, changed, gone):
    """The difference QEMU shows between the two lines, and ours is the same."""
    assert _types(_case(base)) - _types(_case(changed)) == Counter(gone)
    assert _types(_case(changed)) - _types(_case(base)) == Counter()
    ours_base, ours_changed = (
        _types(_our_tree((CASES / f"{n}.xml").read_text())) for n in (base, changed)
    )
    assert ours_base - ours_changed == Counter(gone)


def test_q35_and_pc_have_their_own_chipsets():
    pc, q35 = _types(_case("builtins-acpi-pc")), _types(_case("builtins-acpi-q35"))
    only_pc = {"i440FX-pcihost", "i440FX", "PIIX3", "piix3-ide", "PIIX4_PM", "isa-fdc"}
    only_q35 = {"q35-pcihost", "mch", "ICH9-LPC", "ich9-ahci", "ICH9-SMB"}
    assert set(pc) - set(q35) == only_pc
    assert set(q35) - set(pc) == only_q35
    shared = {
        "ps2-mouse", "ps2-kbd", "hpet", "ioapic", "fw_cfg_io", "kvmvapic", "port92",
        "vmmouse", "vmport", "i8042", "isa-pcspk", "isa-pit", "mc146818rtc", "isa-i8259",
        "i8257", "smbus-eeprom",
    }  # fmt: skip
    assert set(pc) & set(q35) == shared


def test_isapc_has_an_isa_chipset():
    """isapc (pc_init1 without PCI): an isabus-bridge whose isa.0 is the root bus, two
    isa-ide, the ISA built-ins of pc without hpet, ioapic or kvmvapic."""
    isapc, pc = _types(_case("builtins-floppy-isapc")), _types(_case("builtins-acpi-pc"))
    assert set(isapc) - set(pc) == {"isabus-bridge", "isa-ide"}
    assert set(pc) - set(isapc) >= {"hpet", "ioapic", "kvmvapic", "i440FX-pcihost", "PIIX3"}


def test_a_serial_port_of_isapc_goes_on_its_isa_bus():
    """libvirt 9.0 writes -device isa-serial for isapc's <serial>; virtxlate refused it
    ("no ISA bus") while the table had no isapc family."""
    xml = (CASES / "builtins-floppy-isapc.xml").read_text()
    xml = xml.replace("<memballoon", "<serial type='pty'/><memballoon")
    result = analyze(load(xml), "7.2")
    assert result.ok and result.graph is not None, [f.message for f in result.findings]
    paths = [path[-1] for path in _devices(parse_qtree(qtree_text(result.graph)))]
    assert ("isa.0", "isa-serial", "serial0") in paths


def _probe_bare_trees(arch: str) -> dict[str, str]:
    """The probe's `info qtree` of each machine it started with nothing plugged."""
    answers = read_replies(next(REPLIES.glob(f"probe_7.2.22_{arch}.replies.xz")))
    found: dict[str, str] = {}
    for session in answers.sessions():
        text = answers.hmp(session, "info qtree")
        machine = next((e.value for e in session if e.execute == "qom-get" and e.ok), "")
        if text is None or not machine:
            continue
        if all(path[-1][2] == "" for path in _devices(parse_qtree(text))):
            found.setdefault(str(machine).removesuffix("-machine"), text)
    return found


@pytest.mark.parametrize(
    ("arch", "machine", "features"),
    [
        ("x86_64", "pc-i440fx-7.2", "<acpi/>"),
        ("x86_64", "pc-q35-7.2", "<acpi/>"),
        ("s390x", "s390-ccw-virtio-7.2", ""),
    ],
)
def test_the_bare_machine_is_the_probes(arch, machine, features):
    """A domain with no devices (libvirt adds a USB controller on x86 and a balloon, which
    are left out here: only the built-ins count) against the probe's bare machine."""
    probe = _probe_bare_trees(arch)[machine]
    xml = (
        f"<domain type='qemu'><name>b</name><memory>262144</memory><os><type arch='{arch}' "
        f"machine='{machine}'>hvm</type></os><features>{features}</features><devices>"
        "<memballoon model='none'/>"
        + ("<controller type='usb' model='none'/>" if arch == "x86_64" else "")
        + "</devices></domain>"
    )
    ours = _devices(parse_qtree(_our_tree(xml)))
    assert ours == _devices(parse_qtree(probe))
    assert len(ours) >= (6 if arch == "s390x" else 30)


def test_no_other_release_claims_the_72_builtins():
    """tools/caps-facts/builtin-releases.tsv keeps the built-ins whose place was read only
    in 7.2: a release before or after shows none of them (nothing claimed unread)."""
    only_72 = {"ps2-mouse", "ps2-kbd", "hpet", "ioapic", "fw_cfg_io", "kvmvapic", "port92"}
    only_72 |= {"vmport", "vmmouse", "i8042", "isa-pit", "mc146818rtc", "isa-i8259", "i8257"}
    only_72 |= {"isa-pcspk", "smbus-eeprom", "s390-flic-qemu", "sclpquiesce"}
    checked = 0
    for version, arch in caps.available():
        table = caps.load(version, arch)
        types = {b.type for f in table.families.values() for b in f.builtins}
        if version == "7.2" and arch in ("x86_64", "s390x"):
            assert types & only_72, arch
        else:
            assert not types & only_72, (version, arch)
            checked += 1
    assert checked > 40


# Built-ins of the hand-written 1.x tables (tools/caps-sources) and of the derived 2.0 whose
# type that table's device list lacks (the captured qom-list-types of 1.2.2 and 1.5.3 list
# i440FX and PIIX4_PM; tools/caps-facts/builtins.tsv): a gap of those tables' device lists,
# not of the built-ins.  A table that gains the type must leave this list.
TYPE_MISSING_FROM_TABLE = {
    ("2.0", "q35"): ["ICH9 LPC"],
}


def test_every_builtin_is_a_type_of_its_release():
    """A built-in is shown only where the release's table (its qom-list-types) has the type."""
    for version, arch in caps.available():
        table = caps.load(version, arch)
        for family in table.families.values():
            missing = [b.type for b in family.builtins if table.device(b.type) is None]
            known = (
                TYPE_MISSING_FROM_TABLE.get((version, family.name), []) if arch == "x86_64" else []
            )
            assert missing == known, (version, arch, family.name)


def _kvm_usable() -> bool:
    return (
        os.access("/dev/kvm", os.R_OK | os.W_OK) and shutil.which("qemu-system-x86_64") is not None
    )


@pytest.mark.integration
@pytest.mark.parametrize("machine", ["pc", "q35"])
def test_under_kvm_only_the_kvm_types_are_left_out(machine):
    """Real QEMU 7.2 under KVM: ours is QEMU's tree less kvm-ioapic, the two kvm-i8259,
    kvm-pit and kvmclock (types of KVM's in-kernel irqchip and of the CPU's KVM features,
    which the table, probed under TCG, does not know), everything else in place."""
    if not _kvm_usable():
        if os.environ.get("VIRTXLATE_REQUIRE_INTEGRATION") == "1":
            pytest.fail("VIRTXLATE_REQUIRE_INTEGRATION=1 but /dev/kvm or QEMU 7.2 is missing")
        pytest.skip("no usable /dev/kvm or qemu-system-x86_64")
    xml = (CASES / f"builtins-acpi-{machine}.xml").read_text().replace('type="qemu"', 'type="kvm"')
    result = analyze(load(xml), "7.2")
    assert result.argv is not None and result.graph is not None
    words = [w.replace("tcg", "kvm") if w == "tcg" else w for w in runnable(list(result.argv))]
    words = [w if w != "max" else "qemu64" for w in words]
    with QemuProcess(shutil.which(words[0]) or words[0], words[1:], timeout=20.0) as qemu:
        real_text = str(qemu.hmp("info qtree")).replace("\r\n", "\n")
    ours = _types(qtree_text(result.graph))
    real = _types(real_text)
    assert real - ours == Counter({"kvm-ioapic": 1, "kvm-i8259": 2, "kvm-pit": 1, "kvmclock": 1})
    assert ours - real == Counter()
