"""The declarative model: one declaration reads and writes; unknown XML survives."""

from __future__ import annotations

import pytest
from conftest import SAMPLES, conformance_inputs
from lxml import etree

from virtxlate.errors import InvalidValue
from virtxlate.model import devices, domain_from_document
from virtxlate.model.fields import Field, iter_fields
from virtxlate.xmlinput import parse_bytes, parse_text


def _c14n(data: bytes) -> bytes:
    # comments included: every element, attribute, comment and namespace must survive
    return etree.tostring(etree.fromstring(data).getroottree(), method="c14n2", with_comments=True)


def _roundtrip(path) -> None:
    data = path.read_bytes()
    document = parse_bytes(data, str(path))
    domain = domain_from_document(document)
    # touch every storage field so that reading can be seen not to write
    for disk in domain.disks:
        _ = (disk.type, disk.dev, disk.bus, disk.driver, disk.source, disk.address, disk.serial)
    for controller in domain.controllers:
        _ = (controller.type, controller.index, controller.model, controller.driver)
    assert _c14n(document.to_xml().encode()) == _c14n(data)


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.xml")), ids=lambda p: p.name)
def test_samples_survive_parse_and_write(path):
    _roundtrip(path)


def test_conformance_xml_survives_parse_and_write(shared):
    paths = conformance_inputs()
    assert len(paths) >= 60
    for path in paths:
        _roundtrip(path)


def test_unknown_xml_is_kept_when_a_field_is_written():
    text = """<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>guest</name>
  <metadata><app:x xmlns:app='urn:app'>keep me</app:x></metadata>
  <devices>
    <!-- a comment -->
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' future='yes'/>
      <source file='/a.qcow2'><seclabel model='dac' relabel='no'/></source>
      <target dev='vda' bus='virtio'/>
    </disk>
    <memballoon model='virtio'/>
  </devices>
  <qemu:commandline><qemu:arg value='-trace'/></qemu:commandline>
</domain>"""
    document = parse_text(text)
    disk = domain_from_document(document).disks[0]
    disk.driver.cache = "none"
    out = document.to_xml()
    assert 'cache="none"' in out
    for kept in (
        "keep me",
        "<!-- a comment -->",
        'future="yes"',
        "<seclabel",
        "<memballoon",
        "qemu:commandline",
        "-trace",
    ):
        assert kept in out


def test_absent_stays_absent():
    domain = domain_from_document(
        parse_text(
            "<domain type='qemu'><devices><controller type='scsi' model='virtio-scsi'>"
            "<driver queues='1'/></controller></devices></domain>"
        )
    )
    driver = domain.controllers[0].driver
    assert driver.queues == 1  # a user choice, kept
    assert driver.cmd_per_lun is None  # not given: QEMU's default applies, per release
    assert domain.controllers[0].index is None
    assert domain.vcpu is None


def test_bad_value_names_line_and_xpath():
    domain = domain_from_document(
        parse_text(
            "<domain type='qemu'>\n<devices>\n<controller type='scsi' index='x'/>\n"
            "</devices></domain>",
            "g.xml",
        )
    )
    with pytest.raises(InvalidValue) as caught:
        _ = domain.controllers[0].index
    assert caught.value.line == 3
    assert caught.value.xpath == "/domain/devices/controller/@index"
    assert caught.value.message == "@index of <controller> is 'x': expected an integer"


MODEL_CLASSES = [
    devices.Address,
    devices.ControllerDriver,
    devices.Controller,
    devices.DiskDriver,
    devices.DiskSource,
    devices.DiskTarget,
    devices.BlockIO,
    devices.Geometry,
    devices.Disk,
    devices.SourceHost,
    devices.IOThreadId,
]

_SAMPLE_VALUES = {
    "integer": 7,
    "yes/no": True,
    "on/off": True,
    "string": "v-1",
    "PCI controller model name": "pci-bridge",
    "disk format": "qcow2",
}


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda c: c.__name__)
def test_every_declared_field_writes_what_it_reads(cls):
    """Like virt-manager's test_checkprops: every declaration is exercised both ways."""
    fields = list(iter_fields(cls))
    assert fields
    for name, field in fields:
        assert isinstance(field, Field)
        element = etree.Element(cls.__name__.lower())
        obj = cls(element)
        assert getattr(obj, name) is None
        value = _SAMPLE_VALUES[field.converter.name]
        setattr(obj, name, value)
        assert getattr(obj, name) == value, name
        reparsed = cls(etree.fromstring(etree.tostring(element)))
        assert getattr(reparsed, name) == value, name
        setattr(obj, name, None)
        assert getattr(obj, name) is None


def test_fragment_lines_point_into_the_users_file():
    document = parse_text(
        "<devices>\n\n<disk type='file'>\n<target dev='sda' bus='scsi'/></disk></devices>",
        "frag.xml",
    )
    disk = domain_from_document(document).disks[0]
    assert disk.line == 3
    assert document.to_xml().startswith("<devices>")


@pytest.mark.parametrize(
    ("xml", "field", "expected"),
    [
        ("<serial>AB<!-- c -->CD</serial>", "serial", "ABCD"),
        ("<serial>AB<?pi x?>CD<!--y-->E</serial>", "serial", "ABCDE"),
        ("<serial><!-- c -->CD</serial>", "serial", "CD"),
    ],
)
def test_comment_inside_text_does_not_end_it(xml, field, expected):
    """Issue 14.17: <serial>AB<!-- c -->CD</serial> read as 'AB'; libvirt reads 'ABCD'
    (virXPathString: the string value of the element)."""
    domain = domain_from_document(
        parse_text(
            f"<domain type='qemu'><name>sc<!-- x -->tail</name><devices><disk type='file'>"
            f"<target dev='vda' bus='virtio'/>{xml}</disk></devices></domain>"
        )
    )
    assert domain.name == "sctail"
    assert getattr(domain.disks[0], field) == expected
    domain.disks[0].serial = "new"
    assert domain.disks[0].serial == "new"


@pytest.mark.parametrize(
    ("device", "dev", "bus"),
    [
        ("disk", "hda", "ide"),
        ("disk", "sdb", "scsi"),
        ("disk", "vdc", "virtio"),
        ("disk", "xvda", "xen"),
        ("disk", "ubda", "uml"),
        ("floppy", "fda", "fdc"),
        ("cdrom", "hdc", "ide"),
        ("disk", "ioemu:vda", "virtio"),
        ("disk", "nvme0n1", "ide"),
        (None, "vda", "virtio"),
    ],
)
def test_a_target_without_bus_gets_libvirts_bus(device, dev, bus):
    """Issue 15.10: a disk without target/@bus was dropped; libvirt derives the bus from
    the target name (virDomainDiskDefPostParse).  Derived when read: the XML is untouched."""
    attribute = f" device='{device}'" if device else ""
    document = parse_text(
        f"<domain type='qemu'><devices><disk type='file'{attribute}>"
        f"<target dev='{dev}'/></disk></devices></domain>"
    )
    disk = domain_from_document(document).disks[0]
    assert disk.bus == bus
    assert disk.written_bus is None
    assert "bus=" not in document.to_xml()


def test_a_write_through_the_api_is_read_back_everywhere():
    """Issue 16: Disk.bus was cached once per disk, so after `disk.target.bus = 'scsi'`
    analyze() still wrote virtio-blk-pci.  Reads are cached per model object, but any
    write through the model drops them."""
    from virtxlate import analyze, load

    domain = load(
        "<domain type='qemu'><devices><disk type='file' device='disk'>"
        "<source file='/a.img'/><target dev='vda' bus='virtio'/></disk>"
        "</devices></domain>"
    )
    disk = domain.disks[0]
    assert (disk.bus, disk.dev, disk.target.bus) == ("virtio", "vda", "virtio")
    assert "virtio-blk-pci" in " ".join(analyze(domain, "7.2").argv or [])
    disk.target.bus = "scsi"
    disk.target.dev = "sda"
    assert (disk.bus, disk.written_bus, disk.dev) == ("scsi", "scsi", "sda")
    assert domain.disks[0].target.bus == "scsi"
    argv = " ".join(analyze(domain, "7.2").argv or [])
    assert "virtio-blk-pci" not in argv
    assert "scsi-hd" in argv
    disk.target.bus = None  # absent again: libvirt derives it from the name
    assert disk.bus == "scsi" and disk.written_bus is None
    disk.target.dev = "hda"
    assert disk.bus == "ide"


def test_child_and_flag_reads_follow_writes():
    domain = domain_from_document(
        parse_text(
            "<domain type='qemu'><devices><disk type='file'><target dev='vda'/></disk>"
            "</devices></domain>"
        )
    )
    disk = domain.disks[0]
    assert disk.driver is None and disk.readonly is False and disk.serial is None
    type(disk).driver.create(disk).cache = "none"
    assert disk.driver is not None and disk.driver.cache == "none"
    disk.readonly = True
    disk.serial = "abc"
    assert disk.readonly is True and disk.serial == "abc"
    disk.serial = None
    disk.driver.cache = None
    assert disk.serial is None and disk.driver.cache is None


def test_an_lxml_edit_is_read_after_note_write():
    from virtxlate.model.fields import note_write

    domain = domain_from_document(
        parse_text(
            "<domain type='qemu'><devices><disk type='file'><target dev='vda' bus='virtio'/>"
            "</disk></devices></domain>"
        )
    )
    disk = domain.disks[0]
    assert disk.bus == "virtio"
    disk.element.find("target").set("bus", "sata")
    note_write()
    assert disk.bus == "sata" and disk.target.bus == "sata"
