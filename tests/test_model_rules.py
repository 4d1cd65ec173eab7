"""Issue 16.3: the checks read the model, not raw XPath.  What changes with it: numbers
are compared as libvirt compares them (numbers, not strings), and a finding still points
at the element of the field it is about."""

from __future__ import annotations

import virtxlate
from virtxlate.model import domain_from_document
from virtxlate.xmlinput import parse_text

_DISKS = """<domain type='qemu'><name>b</name><memory>65536</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices>
<disk type='file' device='disk'><source file='/a.img'/><target dev='vda' bus='virtio'/>
<boot order='{first}'/></disk>
<disk type='file' device='disk'><source file='/b.img'/><target dev='vdb' bus='virtio'/>
<boot order='{second}'/></disk>
</devices></domain>"""


def _codes(text: str) -> list[tuple[str, int, str]]:
    common, per_release = virtxlate.check(virtxlate.load(text), ["7.2"])
    findings = common + [f for _, found in per_release for f in found]
    return [(f.code, f.line, f.xpath) for f in findings]


def test_boot_order_01_and_1_are_one_order():
    """libvirt 9.0 (domxml-to-native): "boot order '1' used for more than one device"
    for order='01' and order='1' — the order is a number (virXMLPropUInt).  Compared as
    text, the two were different and nothing was said."""
    found = _codes(_DISKS.format(first="01", second="1"))
    assert ("VX0219", 7, "/domain/devices/disk[2]/boot/@order") in found
    assert not [c for c in _codes(_DISKS.format(first="1", second="2")) if c[0] == "VX0219"]


def test_place_of_points_at_the_fields_element():
    domain = domain_from_document(
        parse_text(
            "<domain type='qemu'>\n<name>n</name>\n<devices>\n<disk type='file'>\n"
            "<target dev='sda' bus='scsi'/>\n<wwn>5000c50015ea71ac</wwn>\n</disk>\n"
            "<interface type='user'><alias name='ua-n,1'/></interface>\n"
            "<interface type='user'><alias name='ua-net1'/></interface>\n"
            "</devices></domain>"
        )
    )
    disk = domain.disks[0]
    assert (disk.place_of("wwn").line, disk.place_of("wwn").xpath) == (
        6,
        "/domain/devices/disk/wwn",
    )
    assert disk.place_of("serial") is None
    assert disk.target.place_of("bus").xpath == "/domain/devices/disk/target"
    assert domain.place_of("name").line == 2
    # libvirt keeps ua-[A-Za-z0-9_-]* only (checked with libvirt 9.0)
    assert [i.user_alias for i in domain.interfaces] == [None, "ua-net1"]
    assert [i.alias for i in domain.interfaces] == ["ua-n,1", "ua-net1"]


def test_addressed_lists_devices_with_an_address_of_a_type():
    domain = domain_from_document(
        parse_text(
            "<domain type='qemu'><devices>"
            "<disk type='file'><target dev='vda' bus='virtio'/>"
            "<address type='pci' bus='0' slot='0x001b'/></disk>"
            "<controller type='usb' index='0'><address type='pci' slot='3'/></controller>"
            "<interface type='user'><address type='ccw' devno='0x0001'/></interface>"
            "<hostdev mode='subsystem' type='pci'><source>"
            "<address domain='0' bus='6' slot='2' function='0'/></source></hostdev>"
            "</devices></domain>"
        )
    )
    pci = domain.addressed("pci")
    assert [(d.kind, a.slot) for d, a in pci] == [("disk", 0x1B), ("controller", 3)]
    assert [d.kind for d, _ in domain.addressed("ccw")] == ["interface"]
    # a host device's <source><address> is the host's, not the guest's
    assert domain.hostdevs[0].address is None


def test_integers_with_digit_separators_are_not_numbers():
    """Python's int() reads '1_0' as 10; libvirt's strtoul stops at '_' and refuses it."""
    import pytest

    from virtxlate.errors import InvalidValue

    domain = domain_from_document(
        parse_text(
            "<domain type='qemu'><devices><controller type='scsi' index='1_0'/></devices></domain>"
        )
    )
    with pytest.raises(InvalidValue):
        _ = domain.controllers[0].index


def test_model_name_wherever_the_kind_writes_it():
    domain = domain_from_document(
        parse_text(
            "<domain type='qemu'><devices>"
            "<interface type='user'><model type='virtio-transitional'/></interface>"
            "<rng model='virtio-non-transitional'><backend model='builtin'/></rng>"
            "<video><model type='qxl'/></video><watchdog model='i6300esb'/>"
            "<input type='tablet' bus='usb'><address type='usb' bus='0' port='1.2'/></input>"
            "<hub type='usb'/></devices></domain>"
        )
    )
    assert [d.model_name for d in domain.devices] == [
        "virtio-transitional",
        "virtio-non-transitional",
        "qxl",
        "i6300esb",
        None,
        None,
    ]
    assert domain.inputs[0].address.port == "1.2"
