"""The tables of every release: generated as committed, and telling each release's story."""

from __future__ import annotations

import sys

import pytest
from conftest import REPO, SAMPLES, SHARED

from virtxlate import caps
from virtxlate.api import analyze, load
from virtxlate.graph.render import graph_json

ALL = caps.known_versions()


def test_tables_are_what_the_build_writes(shared):
    """No table is edited by hand: tools/build_tables.py rebuilds every shipped file (and
    the index) byte for byte, from the captures, the probe recordings and the facts."""
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import build_tables
    finally:
        sys.path.remove(str(REPO / "tools"))
    files = build_tables.files_of(build_tables.build(SHARED))
    data = REPO / "virtxlate" / "caps" / "data"
    assert sorted(files) == sorted(p.name for p in data.glob("*.json"))
    for name, text in files.items():
        assert (data / name).read_text(encoding="utf-8") == text, name


def _seed_chain(version: str) -> list[tuple[str, str, str | None]]:
    graph = graph_json(analyze(load(str(SAMPLES / "seed-virtio-scsi.xml")), version).graph)
    chain, bus = [], graph["root"]
    while bus["devices"]:
        device = bus["devices"][0]
        if bus is graph["root"]:  # the PCI host (QEMU 7.2 lists ps2-mouse … before it)
            device = next(d for d in bus["devices"] if d["buses"])
        chain.append((bus["name"], device["type"], device["id"]))
        if not device["buses"]:
            break
        bus = device["buses"][0]
    return chain


@pytest.mark.parametrize("version", ALL)
def test_seed_tree_in_every_release(version):
    """Before 1.5 virtio-scsi-pci owns scsi0.0; from 1.5 a virtio-scsi-device on the proxy's
    virtio-bus owns it (QOM-FACTS.md §1-§3).  The SCSI bus keeps its name throughout."""
    chain = _seed_chain(version)
    head = [("main-system-bus", "i440FX-pcihost", None), ("pci.0", "virtio-scsi-pci", "scsi0")]
    if caps.load(version).device("virtio-scsi-device") is None:
        assert chain == head + [("scsi0.0", "scsi-hd", "scsi0-0-0-0")]
    else:
        assert chain == head + [
            ("virtio-bus", "virtio-scsi-device", None),
            ("scsi0.0", "scsi-hd", "scsi0-0-0-0"),
        ]
    assert (version in ("1.2", "1.3", "1.4")) == (len(chain) == 3)


def _machines(version: str) -> set[str]:
    return {m.name for m in caps.load(version).machines}


def test_machine_types_follow_their_sources():
    # libvirt's captured caps files and replies
    assert "pc-i440fx-1.4" in _machines("1.4") and "pc-q35-1.4" in _machines("1.4")
    assert "pc-q35-2.3" in _machines("2.5") and "pc-q35-2.3" not in _machines("2.6")
    assert "pc-0.10" in _machines("3.1") and "pc-0.10" not in _machines("4.0")
    assert "pc-1.3" in _machines("5.2") and "pc-1.3" not in _machines("6.0")
    assert "pc-i440fx-1.7" in _machines("8.1") and "pc-i440fx-1.7" not in _machines("8.2")
    # issue 13: 9.0's replies have pc-i440fx-2.0 and 2.1, 10.0's have pc-i440fx-2.9
    assert "pc-i440fx-2.0" in _machines("9.0") and "pc-i440fx-2.0" not in _machines("9.1")
    assert "pc-i440fx-2.9" in _machines("10.0")
    # QEMU's policy (18 releases) from 10.1, derived
    assert "pc-i440fx-2.9" not in _machines("10.1") and "pc-i440fx-4.2" in _machines("10.1")
    assert "pc-i440fx-4.2" not in _machines("10.2")
    # the newest machine is the default and carries the alias
    for version in ALL:
        assert caps.load(version).machine("pc") is not None, version
    assert caps.load("9.2").machine("pc").name == "pc-i440fx-9.2"
    assert caps.load("11.0").machine("q35").name == "pc-q35-11.0"


def test_storage_style_by_era():
    assert caps.load("4.1").storage_style == "drive"
    assert caps.load("4.2").storage_style == "blockdev"
    assert not caps.load("6.1").json_device and caps.load("6.2").json_device


def test_types_come_and_go_with_the_replies():
    assert caps.load("2.5").device("mptsas1068") is None
    assert caps.load("2.6").device("mptsas1068") is not None
    # issue 13: vhost-user-blk-pci is in 2.12's replies (not first in 3.0)
    assert caps.load("2.11").device("vhost-user-blk-pci") is None
    assert caps.load("2.12").device("vhost-user-blk-pci") is not None
    assert caps.load("3.1").device("virtio-scsi-pci-transitional") is None
    assert caps.load("4.0").device("virtio-scsi-pci-transitional") is not None
    assert caps.load("5.2").device("ide-drive") is not None
    assert caps.load("6.0").device("ide-drive") is None


def test_seed_argv_runs_on_every_release_table():
    for version in ALL:
        result = analyze(load(str(SAMPLES / "seed-virtio-scsi.xml")), version)
        assert result.ok and result.argv, (version, result.findings)


@pytest.mark.parametrize(
    "arch,releases",
    [
        (
            "s390x",
            [
                "2.7",
                "2.8",
                "2.9",
                "2.10",
                "2.11",
                "2.12",
                "3.0",
                "4.0",
                "4.2",
                "5.2",
                "6.0",
                "7.2",
                "8.1",
                "8.2",
                "9.1",
                "9.2",
                "10.0",
                "11.0",
            ],
        ),
        (
            "aarch64",
            [
                "2.6",
                "2.10",
                "2.12",
                "4.0",
                "4.2",
                "5.0",
                "5.2",
                "6.0",
                "6.2",
                "7.0",
                "7.2",
                "8.2",
                "11.0",
            ],
        ),
    ],
)
def test_other_architectures(arch, releases):
    assert caps.known_versions(arch) == releases
    for version in releases:
        table = caps.load(version, arch)
        proxy = table.device("virtio-scsi-ccw" if arch == "s390x" else "virtio-scsi-pci")
        assert proxy is not None and proxy.embeds == "virtio-scsi-device"
        assert [b.name_rule for b in proxy.buses] == ["virtio-bus"]
    assert "s390-ccw-virtio-2.7" in {m.name for m in caps.load("2.7", "s390x").machines}
    assert caps.load("11.0", "s390x").machine("s390-ccw-virtio").name == "s390-ccw-virtio-11.0"
    if arch == "s390x":
        bus = caps.load("7.2", arch).device("virtio-scsi-ccw").buses[0]
        assert bus.bus_type == "virtio-ccw-bus"  # QOM-FACTS.md §2 (CCW proxies)
    else:
        virt = caps.load("7.2", arch).families["virt"]
        assert virt.root_bus == "pcie.0"
        assert sum(1 for b in virt.builtins if b.type == "virtio-mmio") == 32


def test_armv7l_from_its_capture():
    table = caps.load("8.2", "armv7l")
    assert table.emulator == "/usr/bin/qemu-system-arm"
    assert table.machine("virt") is not None
