"""Capability tables: valid against schemas/caps.xsd, and saying what the sources say."""

from __future__ import annotations

import pytest
import xmlschema
from conftest import QEMU_CAPS, REPO

from virtxlate import caps
from virtxlate.caps.tables import parse_table
from virtxlate.errors import UsageError

SCHEMA = REPO / "schemas" / "caps.xsd"
TABLE_FILES = sorted((REPO / "virtxlate" / "caps" / "data").glob("*.xml"))


@pytest.mark.parametrize("path", TABLE_FILES, ids=lambda p: p.name)
def test_table_is_valid(path):
    xmlschema.XMLSchema(str(SCHEMA)).validate(str(path))


def test_invalid_table_is_refused(tmp_path):
    bad = tmp_path / "qemu-9.9-x86_64.xml"
    bad.write_text(TABLE_FILES[0].read_text().replace('arch="x86_64"', 'arch="sparc"', 1))
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        parse_table(bad)


def test_known_releases():
    # the releases issue #3 asks for: 1.2 … 1.7, 2.0 … 2.12, 3.0 … 11.0
    expected = ["1.2", "1.3", "1.4", "1.5", "1.6", "1.7"] + [f"2.{m}" for m in range(13)] + [
        "3.0", "3.1", "4.0", "4.1", "4.2", "5.0", "5.1", "5.2", "6.0", "6.1", "6.2", "7.0",
        "7.1", "7.2", "8.0", "8.1", "8.2", "9.0", "9.1", "9.2", "10.0", "10.1", "10.2", "11.0"]
    assert caps.known_versions() == expected
    assert caps.normalize_version("1.5.3") == "1.5"
    assert caps.normalize_version("v1.2.0") == "1.2"
    assert caps.normalize_version("1005003") == "1.5"
    assert caps.normalize_version("11000000") == "11.0"
    with pytest.raises(UsageError, match="nearest known: 11.0;"):
        caps.load("11.1")
    with pytest.raises(UsageError, match=r"nearest known: 1\.2;"):
        caps.load("0.15")
    with pytest.raises(UsageError, match="not a QEMU version"):
        caps.load("seven")


def _types(version):
    return set(caps.load(version).devices)


def test_refactoring_types_appear_in_1_5():
    # QOM-FACTS.md §1 (qom-list-types of 1.4.2 vs 1.5.3) and the mission's seed.
    added = _types("1.5") - _types("1.2")
    for name in ("vhost-scsi", "vhost-scsi-pci", "virtio-blk-device", "virtio-scsi-device",
                 "virtio-net-device", "virtio-serial-device", "virtio-balloon-device",
                 "virtio-scsi-common", "virtio-rng-pci"):
        assert name in added, name
    assert not _types("1.2") - _types("1.5")


def test_virtio_scsi_structure_before_and_after():
    old = caps.load("1.2").device("virtio-scsi-pci")
    assert old.embeds is None
    assert [(b.bus_type, b.name_for("scsi0")) for b in old.buses] == [("SCSI", "scsi0.0")]
    new = caps.load("1.5")
    proxy = new.device("virtio-scsi-pci")
    assert proxy.embeds == "virtio-scsi-device"
    assert [(b.bus_type, b.name_for("scsi0"), b.max_devices) for b in proxy.buses] == \
        [("virtio-pci-bus", "virtio-bus", 1)]
    inner = new.device("virtio-scsi-device")
    assert [(b.bus_type, b.name_for(None, "scsi0")) for b in inner.buses] == \
        [("SCSI", "scsi0.0")]
    assert {p.name: p.default for p in inner.props if p.default} == \
        {"num_queues": "1", "max_sectors": "65535", "cmd_per_lun": "128"}
    assert "virtio-pci-bus" in new.bus_types
    assert "virtio-pci-bus" not in caps.load("1.2").bus_types


def test_scsi_limits_follow_qom_facts():
    table = caps.load("1.5")
    virtio = table.device("virtio-scsi-device").buses[0]
    assert (virtio.max_channel, virtio.max_target, virtio.max_lun) == (0, 255, 16383)
    lsi = table.device("lsi").buses[0]
    assert (lsi.max_target, lsi.max_lun) == (7, 0)


def test_aliases_resolve():
    table = caps.load("1.2")
    assert table.device("lsi").name == "lsi53c895a"
    assert table.device("ahci").name == "ich9-ahci"


def test_machines():
    assert caps.load("1.2").machine("pc").name == "pc-1.2"
    assert caps.load("1.5").machine("pc").name == "pc-i440fx-1.5"
    assert caps.load("1.5").machine("q35").name == "pc-q35-1.5"
    assert caps.load("1.2").machine("q35") is None
    assert caps.load("1.5").machine(None).name == "pc-i440fx-1.5"


@pytest.mark.parametrize("version,release", [("1.2", "1.2.2"), ("1.5", "1.5.3")])
def test_flags_and_machines_match_libvirt_caps(shared, version, release):
    """Every flag and machine in our table is in libvirt's captured caps of that release."""
    from lxml import etree

    captured = etree.parse(str(QEMU_CAPS / f"caps_{release}.x86_64.xml")).getroot()
    captured_flags = {f.get("name") for f in captured.iter("flag")}
    captured_machines = {m.get("name") for m in captured.iter("machine")}
    table = caps.load(version)
    assert table.flags <= captured_flags, table.flags - captured_flags
    assert {m.name for m in table.machines} <= captured_machines
