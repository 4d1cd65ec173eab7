"""The tables against what real QEMU binaries answered (libvirt's captured QMP replies in
../shared/qemu-caps/libvirt-captures, and this repository's probe recordings).

- One interpreter: 7.2's captured replies and the probe of a Debian QEMU 7.2 binary give
  the same table through interpret(), apart from the differences listed here with why.
- `check` verdicts on machine types and storage devices agree with each captured
  release's replies (issue 13, point 7), run in-process.
- The wrong facts issue 13 names are right.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from conftest import QEMU_CAPS, REPO

from virtxlate import caps
from virtxlate.api import load
from virtxlate.caps import index
from virtxlate.caps.answers import format_replies, parse_replies, read_replies
from virtxlate.caps.interpret import interpret
from virtxlate.caps.store import to_node
from virtxlate.caps.tables import table_from_node
from virtxlate.names import transitional
from virtxlate.names.scsi import SCSI_MODEL_DEVICES
from virtxlate.rules import check_domain

CAPTURES = QEMU_CAPS / "libvirt-captures"
PROBES = REPO / "tools" / "caps-replies"
ARCHES = {
    "x86_64": ("pc-i440fx", "pc-q35"),
    "s390x": ("s390-ccw-virtio",),
    "aarch64": ("virt",),
    "armv7l": ("virt",),
}


def _captured() -> list[tuple[str, str, Path]]:
    found = []
    for path in sorted(CAPTURES.glob("caps_*.replies.xz")):
        release = path.name.split("_")[1]
        arch = path.name.removeprefix(f"caps_{release}_").removesuffix(".replies.xz")
        found.append((".".join(release.split(".")[:2]), arch, path))
    return sorted(found, key=lambda c: (tuple(int(p) for p in c[0].split(".")), c[1]))


@cache
def _answers(path: Path):  # type: ignore[no-untyped-def]
    return read_replies(path)


def _table(element, name):  # type: ignore[no-untyped-def]
    return table_from_node(to_node(element), Path(name))


# --- one interpreter --------------------------------------------------------------------

# Types the Debian 7.2 binary has and upstream v7.2.0 (libvirt's capture) was built
# without (Debian enables PVRDMA and Hyper-V VMBus; cpu-core is a hotplug container type).
ONLY_IN_THE_PROBE = {"cpu-core", "pvrdma", "vmbus-dev"}
# Types libvirt asks device-list-properties of that the probe does not (it asks storage and
# virtio types, data/probe-selection.txt): their properties are only in the capture's table.
ASKED_BY_LIBVIRT_ONLY = {
    "ICH9-LPC",
    "PIIX4_PM",
    "VGA",
    "intel-iommu",
    "kvm-pit",
    "mch",
    "nvdimm",
    "qxl",
    "usb-host",
    "usb-redir",
    "vfio-pci",
    "vhost-user-fs-device",
    "vmware-svga",
}


def test_capture_and_probe_of_7_2_give_the_same_table(shared):
    """libvirt's capture carries no `device_add help` and no `info qtree`: the interpreter
    takes those from the probe (its base), and everything both answered must agree."""
    probe = interpret(_answers(next(PROBES.glob("probe_7.2.*_x86_64.replies.xz"))))
    captured = interpret(
        _answers(CAPTURES / "caps_7.2.0_x86_64.replies.xz"),
        base=probe,
        source=("CAPTURE-7.2.0", "libvirt's capture"),
    )
    p, c = _table(probe, "probe"), _table(captured, "capture")
    assert set(p.devices) - set(c.devices) == ONLY_IN_THE_PROBE
    assert set(c.devices) - set(p.devices) == set()
    props_differ = set()
    for name in set(p.devices) & set(c.devices):
        a, b = p.devices[name], c.devices[name]
        assert (a.parent, a.abstract, a.creatable, a.plugs_into, a.aliases, a.buses, a.embeds) == (
            b.parent,
            b.abstract,
            b.creatable,
            b.plugs_into,
            b.aliases,
            b.buses,
            b.embeds,
        ), name
        if {(x.name, x.type, x.default) for x in a.props} != {
            (x.name, x.type, x.default) for x in b.props
        }:
            props_differ.add(name)
    assert props_differ == ASKED_BY_LIBVIRT_ONLY
    for name in ASKED_BY_LIBVIRT_ONLY:
        assert not p.devices[name].props and c.devices[name].props
    assert p.machines == c.machines
    assert p.families == c.families
    assert p.bus_types == c.bus_types


def test_replies_round_trip():
    answers = _answers(next(PROBES.glob("probe_7.2.*_s390x.replies.xz")))
    again = parse_replies(format_replies(answers))
    assert [(e.execute, e.arguments, e.reply, e.session, e.args) for e in again.exchanges] == [
        (e.execute, e.arguments, e.reply, e.session, e.args) for e in answers.exchanges
    ]


# --- check against each capture ---------------------------------------------------------


def _domain(arch: str, machine: str, devices: str = "") -> str:
    return (
        f"<domain type='qemu'><name>c</name><memory>262144</memory><os>"
        f"<type arch='{arch}' machine='{machine}'>hvm</type></os>"
        f"<devices>{devices}</devices></domain>"
    )


def _versioned(names: set[str], arch: str) -> set[str]:
    prefixes = "|".join(re.escape(p) for p in ARCHES[arch])
    return {n for n in names if re.fullmatch(rf"(?:{prefixes})-\d+\.\d+", n)}


@cache
def _machines_seen(arch: str) -> set[str]:
    seen: set[str] = set()
    for _, other_arch, path in _captured():
        if other_arch == arch:
            seen |= {m["name"] for m in _answers(path).value("query-machines")}
    return _versioned(seen, arch)


@pytest.mark.parametrize(
    "version,arch,path", _captured(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_machine_types_agree_with_the_replies(shared, version, arch, path):
    table = caps.load(version, arch)
    answered = _versioned({m["name"] for m in _answers(path).value("query-machines")}, arch)
    assert answered
    for machine in sorted(answered):
        findings = check_domain(load(_domain(arch, machine)), [table])
        assert [f for f in findings if f.code == "VX0301"] == [], (version, machine)
    for machine in sorted(_machines_seen(arch) - answered):
        findings = check_domain(load(_domain(arch, machine)), [table])
        assert [f.code for f in findings if f.is_error] == ["VX0301"], (version, machine)


# device types virtxlate maps storage to, and the XML that asks for them (x86_64)
_DISKS = {
    "scsi-hd": "<disk type='file' device='disk'><source file='/i'/>"
    "<target dev='sda' bus='scsi'/></disk>",
    "scsi-cd": "<disk type='file' device='cdrom'><target dev='sda' bus='scsi'/></disk>",
    "ide-hd": "<disk type='file' device='disk'><source file='/i'/>"
    "<target dev='hda' bus='ide'/></disk>",
    "virtio-blk-pci": "<disk type='file' device='disk'><source file='/i'/>"
    "<target dev='vda' bus='virtio'/></disk>",
}
# QEMU's -device aliases (qdev_alias_table): libvirt writes lsi for lsi53c895a
_QOM_NAME = {"lsi": "lsi53c895a"}


@pytest.mark.parametrize(
    "version,arch,path",
    [c for c in _captured() if c[1] == "x86_64"],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_storage_devices_agree_with_the_replies(shared, version, arch, path):
    table = caps.load(version, arch)
    listed = {t["name"] for t in _answers(path).value("qom-list-types")}
    cases = [
        (model, SCSI_MODEL_DEVICES[model], f"<controller type='scsi' index='0' model='{model}'/>")
        for model in SCSI_MODEL_DEVICES
        if model != "ibmvscsi"
    ]
    # an lsi controller the scsi disks go on (the default model of x86)
    cases += [
        (
            name,
            name,
            xml + "<controller type='scsi' index='0' model='lsilogic'/>"
            if name.startswith("scsi-")
            else xml,
        )
        for name, xml in _DISKS.items()
    ]
    for what, device, xml in cases:
        resolved = transitional.resolve(table, device)[0]
        qom = _QOM_NAME.get(resolved, resolved)
        findings = check_domain(load(_domain(arch, "pc", xml)), [table])
        gates = [(f.code, f.since) for f in findings if f.code.startswith("VX03")]
        if qom in listed:
            assert gates == [], (version, what)
        else:
            since = index.first_with("devices", qom, arch, after=version)
            assert gates == [("VX0303", since)], (version, what)
            assert (
                since is None
                or qom
                in {
                    t["name"]
                    for t in _answers(
                        CAPTURES / f"caps_{_release_of(since)}_{arch}.replies.xz"
                    ).value("qom-list-types")
                }
                or since not in _captured_versions(arch)
            )


@cache
def _captured_versions(arch: str) -> set[str]:
    return {v for v, a, _ in _captured() if a == arch}


def _release_of(version: str) -> str:
    return next(p.name.split("_")[1] for v, _, p in _captured() if v == version)


# --- the wrong facts of issue 13 --------------------------------------------------------


@pytest.mark.parametrize(
    "version,machine",
    [("10.0", "pc-i440fx-2.9"), ("9.0", "pc-i440fx-2.0"), ("9.0", "pc-i440fx-2.1")],
)
def test_machines_issue_13_found_missing(shared, version, machine):
    table = caps.load(version)
    assert table.machine(machine) is not None
    assert not [
        f for f in check_domain(load(_domain("x86_64", machine)), [table]) if f.code == "VX0301"
    ]


@pytest.mark.parametrize(
    "name,first",
    [
        ("megasas-gen2", "2.4"),
        ("lsi53c810", "1.7"),
        ("vhost-user-blk-pci", "2.12"),
        ("nvme-ns", "5.2"),
        ("qemu-xhci", "2.9"),
        ("virtio-gpu-pci", "2.4"),
        ("virtio-vga", "2.4"),
        ("virtio-keyboard-pci", "2.4"),
    ],
)
def test_types_are_dated_by_the_replies(shared, name, first):
    """Each type is in the first captured release whose qom-list-types has it, and in no
    table before (issue 13 found them dated 7.2, 3.0, 6.0, 2.10)."""
    captured = [v for v, a, _ in _captured() if a == "x86_64"]
    having = [
        v
        for v, a, p in _captured()
        if a == "x86_64" and name in {t["name"] for t in _answers(p).value("qom-list-types")}
    ]
    assert having[0] == first
    assert index.first_with("devices", name, "x86_64") == first
    for version in captured:
        assert caps.load(version).has_device(name) == (version in having), version


def test_facts_issue_13_found_wrong(shared):
    # mptsas1068's SCSI bus takes target 8 (measured on QEMU 7.2: 9 refused)
    mptsas = caps.load("7.2").device("mptsas1068").buses[0]
    assert (mptsas.max_target, mptsas.max_lun) == (8, 1)
    assert caps.load("8.0").device("mptsas1068").buses[0].max_target == 8
    # am53c974 and dc390 limits recorded
    for name in ("am53c974", "dc390"):
        bus = caps.load("7.2").device(name).buses[0]
        assert (bus.max_target, bus.max_lun) == (7, 7)

    # virtio-scsi num_queues: 1 before 5.2, computed ('auto', no static default) from 5.2
    def num_queues(version):  # type: ignore[no-untyped-def]
        return caps.load(version).device("virtio-scsi-device").prop("num_queues").default

    assert num_queues("5.1") == "1" and num_queues("5.2") is None
    assert (
        caps.load("5.2").device("virtio-scsi-pci").prop("num_queues").default == "4294967295"
    )  # as 5.2's replies say: VIRTIO_SCSI_AUTO_NUM_QUEUES
    # virtio-blk scsi defaulted to on until 2.4 (hw_compat_2_4)
    assert caps.load("2.4").device("virtio-blk-device").prop("scsi").default == "on"
    assert caps.load("9.0").device("virtio-blk-pci").prop("scsi") is not None
    assert caps.load("9.1").device("virtio-blk-pci").prop("scsi") is None
    # rombar is int32 default -1 from 10.0 (10.0's replies)
    rombar = caps.load("10.0").device("virtio-scsi-pci").prop("rombar")
    assert (rombar.type, rombar.default) == ("int32", "-1")
    # 11.0: the 2.x compat properties are gone, scsi-hd dpofua defaults on
    eleven = caps.load("11.0")
    assert all(
        d.prop("migrate-extra") is None and d.prop("x-disable-pcie") is None
        for d in eleven.devices.values()
    )
    assert eleven.device("scsi-hd").prop("dpofua").default == "on"


def test_no_fact_is_only_a_derived_guess_in_a_captured_release():
    """Captured releases carry no 'uncertain' list: their replies are complete."""
    for version, arch, _ in _captured():
        assert not caps.load(version, arch).uncertain_devices, (version, arch)


def test_vhost_scsi_needs_its_device():
    """vhost-scsi-pci came in 1.5 (QOM-FACTS.md §1): a vhost scsi_host hostdev on 1.2 was
    let through without a finding."""
    xml = _domain(
        "x86_64",
        "pc",
        "<hostdev mode='subsystem' type='scsi_host'>"
        "<source protocol='vhost' wwpn='naa.5123456789abcde0'/></hostdev>",
    )
    findings = check_domain(load(xml), [caps.load("1.2")])
    assert [(f.code, f.since, f.xpath) for f in findings if f.code.startswith("VX03")] == [
        ("VX0303", "1.5", "/domain/devices/hostdev")
    ]
    assert not [f for f in check_domain(load(xml), [caps.load("1.5")]) if f.code.startswith("VX03")]


def test_an_uncertain_absence_is_a_warning_not_an_error():
    """A type a derived release may or may not have (its neighbours disagree) gives
    VX0307, a warning that virtxlate does not know, never an error."""
    import dataclasses

    base = caps.load("2.2")
    table = dataclasses.replace(
        base,
        devices={n: d for n, d in base.devices.items() if n != "pvscsi"},
        uncertain_devices=frozenset({"pvscsi"}),
    )
    xml = _domain("x86_64", "pc", "<controller type='scsi' index='0' model='vmpvscsi'/>")
    findings = check_domain(load(xml), [table])
    assert [(f.code, f.severity) for f in findings if f.code.startswith("VX03")] == [
        ("VX0307", "warning")
    ]
    assert not any(f.is_error for f in findings)
