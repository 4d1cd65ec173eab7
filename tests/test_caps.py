"""Capability tables: valid against schemas/caps.xsd, sourced fact by fact, and saying what
the sources say."""

from __future__ import annotations

import json

import pytest
import xmlschema
from conftest import QEMU_CAPS, REPO

from virtxlate import caps
from virtxlate.caps.store import to_element
from virtxlate.caps.tables import parse_table, validate
from virtxlate.errors import UsageError

DATA = REPO / "virtxlate" / "caps" / "data"
TABLE_FILES = sorted(DATA.glob("qemu-*.json"))


def _xml(path):
    return to_element(json.loads(path.read_text()))


@pytest.fixture(scope="module")
def fast_schema():
    """libxml2's validator: the schema's structure and types in milliseconds (it does not
    check IDREFs, which the test below does); xmlschema validates a sample, and the build
    validates every table."""
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(REPO / "schemas" / "caps.xsd")))


@pytest.mark.parametrize("path", TABLE_FILES, ids=lambda p: p.name)
def test_table_is_valid_and_every_fact_sourced(path, fast_schema):
    table = _xml(path)
    assert fast_schema.validate(table), fast_schema.error_log.last_error
    ids = {node.get("id") for node in table.findall("source")}
    # every reference names a source of the same table; every element that states a fact
    # has a source of its own or from its parent
    for node in table.iter():
        for attr in ("source", "structure-source", "default-source", "since-source"):
            assert set((node.get(attr) or "").split()) <= ids, (path.name, node.tag, attr)
    families = {node.get("name") for node in table.findall("machine-family")}
    assert {m.get("family") for m in table.iterfind("machines/machine")} <= families
    for node in table.iter(
        "device-type", "bus-type", "machine-family", "machines", "flags", "command-line"
    ):
        assert node.get("source"), (path.name, node.tag, node.get("name"))
    # a derived release says so on every device type
    if table.find("source[@id='DERIVED']") is not None:
        assert all(n.get("inferred") == "yes" for n in table.iter("device-type"))


@pytest.mark.parametrize(
    "name",
    [
        "qemu-1.2-x86_64.json",
        "qemu-1.5-x86_64.json",
        "qemu-2.2-x86_64.json",
        "qemu-7.2-x86_64.json",
        "qemu-10.1-x86_64.json",
        "qemu-7.2-s390x.json",
        "qemu-8.2-armv7l.json",
    ],
)
def test_sample_of_tables_is_valid_for_xmlschema(name):
    validate(_xml(DATA / name))


def test_invalid_table_is_refused(tmp_path):
    from lxml import etree

    bad = tmp_path / "qemu-9.9-x86_64.xml"
    table = _xml(TABLE_FILES[0])
    table.set("arch", "sparc")
    bad.write_bytes(etree.tostring(table))
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        parse_table(bad)


def test_known_releases():
    expected = (
        ["1.2", "1.3", "1.4", "1.5", "1.6", "1.7"]
        + [f"2.{m}" for m in range(13)]
        + [
            "3.0",
            "3.1",
            "4.0",
            "4.1",
            "4.2",
            "5.0",
            "5.1",
            "5.2",
            "6.0",
            "6.1",
            "6.2",
            "7.0",
            "7.1",
            "7.2",
            "8.0",
            "8.1",
            "8.2",
            "9.0",
            "9.1",
            "9.2",
            "10.0",
            "10.1",
            "10.2",
            "11.0",
            "11.1",
        ]
    )
    assert caps.known_versions() == expected
    assert caps.normalize_version("1.5.3") == "1.5"
    assert caps.normalize_version("v1.2.0") == "1.2"
    assert caps.normalize_version("1005003") == "1.5"
    assert caps.normalize_version("11000000") == "11.0"
    with pytest.raises(UsageError, match="nearest known: 11.1;"):
        caps.load("11.2")
    with pytest.raises(UsageError, match=r"nearest known: 1\.2;"):
        caps.load("0.15")
    with pytest.raises(UsageError, match="not a QEMU version"):
        caps.load("seven")


def test_huge_version_number_is_a_usage_error():
    """A 5,000-digit --qemu was a ValueError traceback from int()."""
    with pytest.raises(UsageError, match="not a QEMU version") as raised:
        caps.normalize_version("9" * 5000)
    assert len(str(raised.value)) < 200
    with pytest.raises(UsageError):
        caps.normalize_version("1." + "9" * 5000)


def _types(version):
    return set(caps.load(version).devices)


def test_refactoring_types_appear_in_1_5():
    # QOM-FACTS.md §1 (qom-list-types of 1.4.2 vs 1.5.3) and the mission's seed.
    added = _types("1.5") - _types("1.2")
    for name in (
        "vhost-scsi",
        "vhost-scsi-pci",
        "virtio-blk-device",
        "virtio-scsi-device",
        "virtio-net-device",
        "virtio-serial-device",
        "virtio-balloon-device",
        "virtio-scsi-common",
        "virtio-rng-pci",
    ):
        assert name in added, name
    # the 1.2 table is hand-written for storage; every type it names is in 1.5.3's replies
    assert not _types("1.2") - _types("1.5") - {"virtio-bus"}


def test_virtio_scsi_structure_before_and_after():
    old = caps.load("1.2").device("virtio-scsi-pci")
    assert old.embeds is None
    assert [(b.bus_type, b.name_for("scsi0")) for b in old.buses] == [("SCSI", "scsi0.0")]
    new = caps.load("1.5")
    proxy = new.device("virtio-scsi-pci")
    assert proxy.embeds == "virtio-scsi-device"
    assert [(b.bus_type, b.name_for("scsi0"), b.max_devices) for b in proxy.buses] == [
        ("virtio-pci-bus", "virtio-bus", 1)
    ]
    inner = new.device("virtio-scsi-device")
    assert [(b.bus_type, b.name_for(None, "scsi0")) for b in inner.buses] == [("SCSI", "scsi0.0")]
    assert {p.name: p.default for p in inner.props if p.default} == {
        "num_queues": "1",
        "max_sectors": "65535",
        "cmd_per_lun": "128",
    }
    assert "virtio-pci-bus" in new.bus_types
    assert "virtio-pci-bus" not in caps.load("1.2").bus_types


def test_scsi_limits_follow_their_sources():
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


@pytest.mark.parametrize(
    "version,name",
    [
        ("1.2", "caps_1.2.2.x86_64.xml"),
        ("1.5", "libvirt-captures/caps_1.5.3_x86_64.xml.xz"),
        ("4.0", "libvirt-captures/caps_4.0.0_x86_64.xml.xz"),
    ],
)
def test_flags_and_machines_match_libvirt_caps(shared, version, name):
    """Every flag and machine in our table is in libvirt's parse of that release."""
    import lzma

    from lxml import etree

    path = QEMU_CAPS / name
    data = lzma.open(path).read() if name.endswith(".xz") else path.read_bytes()
    captured = etree.fromstring(data)
    captured_flags = {f.get("name") for f in captured.iter("flag")}
    captured_machines = {m.get("name") for m in captured.iter("machine")}
    table = caps.load(version)
    assumed = {
        line.strip()
        for line in (DATA / "libvirt-assumed-flags.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert table.flags - assumed <= captured_flags, table.flags - captured_flags
    assert {m.name for m in table.machines} <= captured_machines | {"none"}


def test_loading_does_not_validate(monkeypatch):
    """Shipped tables are validated by the build and these tests, not at every start."""
    import virtxlate.caps.tables as tables

    monkeypatch.setattr(tables, "_validator", lambda: pytest.fail("validated at load"))
    tables.parse_table(DATA / "qemu-7.2-x86_64.json")
