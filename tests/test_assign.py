"""placement.assign alone: every device's place, decided before any option is written.

The expected places were read from libvirt 9.0's `virsh domxml-to-native qemu-argv`
(Debian 12, QEMU 7.2 and qemu-system-s390x 7.2) on these very domains: each device's
bus= and addr= (or devno=), the hubs' ports, the zpci device's uid and fid.
"""

from __future__ import annotations

import dataclasses

import pytest
from lxml import etree

from virtxlate import caps
from virtxlate.api import load
from virtxlate.placement.assign import (
    IMPLICIT_BALLOON,
    IMPLICIT_USB,
    IMPLICIT_VIDEO,
    Place,
    Placement,
    assign,
)

_HEAD = (
    "<domain type='qemu'><name>p</name><memory unit='MiB'>256</memory>"
    "<os><type arch='{arch}' machine='{machine}'>hvm</type></os><devices>"
    "<emulator>/usr/bin/qemu-system-{arch}</emulator>"
)


def _domain(machine: str, body: str, arch: str = "x86_64") -> str:
    return _HEAD.format(machine=machine, arch=arch) + body + "</devices></domain>"


def _disk(dev: str, bus: str = "virtio", inside: str = "") -> str:
    return (
        "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
        f"<source file='/img/{dev}.img'/><target dev='{dev}' bus='{bus}'/>{inside}</disk>"
    )


def _pci(slot: str, bus: str = "0x00") -> str:
    return f"<address type='pci' domain='0x0000' bus='{bus}' slot='{slot}' function='0x0'/>"


def _assign(xml: str, arch: str = "x86_64"):  # type: ignore[no-untyped-def]
    domain = load(xml)
    return domain, assign(domain, caps.load("7.2", arch))


def _disk_at(domain, dev: str):  # type: ignore[no-untyped-def]
    return domain.element.xpath(f"devices/disk[target/@dev='{dev}']")[0]


def test_pc_places_in_libvirts_order():
    # interfaces first, then the controllers, then the virtio disks by target name,
    # then the balloon libvirt adds; the SCSI disk has no PCI place of its own
    domain, placement = _assign(
        _domain(
            "pc",
            "<controller type='scsi' model='virtio-scsi'/>"
            + _disk("vdb")
            + _disk("vda")
            + "<interface type='user'><model type='virtio'/></interface>"
            + _disk("sda", "scsi"),
        )
    )
    devices = domain.element.find("devices")
    assert placement.place_of(devices.find("interface")) == Place("pci.0", "0x2")
    assert placement.place_of(devices.find("controller[@type='scsi']")) == Place("pci.0", "0x3")
    assert placement.place_of(_disk_at(domain, "vda")) == Place("pci.0", "0x4")
    assert placement.place_of(_disk_at(domain, "vdb")) == Place("pci.0", "0x5")
    assert placement.place_of(IMPLICIT_BALLOON) == Place("pci.0", "0x6")
    assert placement.place_of(_disk_at(domain, "sda")) is None
    # the implicit PIIX3 UHCI sits at the PIIX3's own function
    assert placement.place_of(IMPLICIT_USB) == Place("pci.0", "0x1.0x2")
    assert [c.alias for c in placement.controllers] == ["scsi0"]
    assert placement.pci_controllers == () and placement.findings == ()
    # a model object answers as its element does
    assert placement.location_of(domain.disks[1]) == ("pci.0", "0x4")


def test_q35_second_pass_for_the_pcie_pci_bridge():
    # the e1000 is conventional PCI: libvirt's dry run adds a root port and a
    # pcie-pci-bridge behind it, which the real pass places before any device
    domain, placement = _assign(
        _domain(
            "q35",
            _disk("vda")
            + "<interface type='user'><model type='e1000'/></interface>"
            + _disk("vdb"),
        )
    )
    devices = domain.element.find("devices")
    assert placement.place_of(devices.find("interface")) == Place("pci.2", "0x1")
    assert placement.place_of(IMPLICIT_USB) == Place("pci.3", "0x0")
    assert placement.usb0 == ("pci.3", "0x0")
    assert placement.place_of(_disk_at(domain, "vda")) == Place("pci.4", "0x0")
    assert placement.place_of(_disk_at(domain, "vdb")) == Place("pci.5", "0x0")
    assert placement.place_of(IMPLICIT_BALLOON) == Place("pci.6", "0x0")
    added = [
        (option.implied, option.get("id"), option.get("bus"), option.get("addr"))
        for option in placement.pci_controllers
    ]
    assert added == [
        ("pcie-root-port", "pci.1", "pcie.0", "0x1"),
        ("pcie-pci-bridge", "pci.2", "pci.1", "0x0"),
        ("pcie-root-port", "pci.3", "pcie.0", "0x1.0x1"),
        ("pcie-root-port", "pci.4", "pcie.0", "0x1.0x2"),
        ("pcie-root-port", "pci.5", "pcie.0", "0x1.0x3"),
        ("pcie-root-port", "pci.6", "pcie.0", "0x1.0x4"),
        ("pcie-root-port", "pci.7", "pcie.0", "0x1.0x5"),
    ]
    assert placement.pci_controllers[0].get("multifunction") is True


def test_pc_past_31_devices_gets_a_pci_bridge():
    # 40 virtio disks and the balloon: libvirt adds pci-bridge pci.1 at root slot 2;
    # the disks fill slots 3-31 and then the bridge from slot 1, the balloon after them
    names = [f"vd{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(40)]
    domain, placement = _assign(_domain("pc", "".join(_disk(name) for name in names)))
    places = [placement.place_of(_disk_at(domain, name)) for name in names]
    assert places == [Place("pci.0", f"{slot:#x}") for slot in range(3, 32)] + [
        Place("pci.1", f"{slot:#x}") for slot in range(1, 12)
    ]
    assert placement.place_of(IMPLICIT_BALLOON) == Place("pci.1", "0xc")
    bridges = [o.props for o in placement.pci_controllers]
    assert bridges == [[("chassis_nr", 1), ("id", "pci.1"), ("bus", "pci.0"), ("addr", "0x2")]]


def test_usb_disks_beyond_the_ports_get_a_hub():
    # the PIIX3's UHCI has two ports: libvirt plugs a hub into port 1 first
    domain, placement = _assign(_domain("pc", "".join(_disk(f"sd{c}", "usb") for c in "abc")))
    ports = placement.usb_ports
    assert ports is not None and ports.hubs == ["1"]
    assert [ports.port_of(_disk_at(domain, f"sd{c}")) for c in "abc"] == ["2", "1.1", "1.2"]
    assert placement.place_of(IMPLICIT_BALLOON) == Place("pci.0", "0x2")


def test_s390x_devnos_and_zpci():
    # devnos in libvirt's order: the virtio disks by target name, then the interface,
    # then the balloon libvirt adds; a disk written on PCI keeps its slot and gets
    # the zPCI ids written
    zpci = (
        "<address type='pci' domain='0x0000' bus='0x00' slot='0x08' function='0x0'>"
        "<zpci uid='0x0019' fid='0x0000001f'/></address>"
    )
    domain, placement = _assign(
        _domain(
            "s390-ccw-virtio",
            _disk("vdb")
            + _disk("vda")
            + "<interface type='user'><model type='virtio'/></interface>"
            + _disk("vdc", inside=zpci),
            arch="s390x",
        ),
        arch="s390x",
    )
    assert placement.place_of(_disk_at(domain, "vda")) == Place("", "fe.0.0000")
    assert placement.place_of(_disk_at(domain, "vdb")) == Place("", "fe.0.0001")
    interface = domain.element.find("devices/interface")
    assert placement.place_of(interface) == Place("", "fe.0.0002")
    assert placement.place_of(IMPLICIT_BALLOON) == Place("", "fe.0.0003")
    assert placement.place_of(_disk_at(domain, "vdc")) == Place("pci.0", "0x8")
    assert placement.zpci[_disk_at(domain, "vdc")] == (25, 31)


@pytest.mark.parametrize("slot", ["0x1b", "0x001b", "27"])
def test_a_slot_is_a_number_whatever_its_spelling(slot):
    # issue 16: a disk at 00:1b takes the slot q35 keeps for an ich9 sound card, which
    # then goes behind the pcie-pci-bridge like any conventional device; libvirt 9.0
    # reads slot='0x001b' as 0x1b (the same -device lines for both spellings)
    domain, placement = _assign(
        _domain("q35", "<sound model='ich9'/>" + _disk("vda", inside=_pci(slot)) + _disk("vdb"))
    )
    assert placement.place_of(_disk_at(domain, "vda")) == Place("pcie.0", "0x1b")
    assert placement.place_of(domain.element.find("devices/sound")) == Place("pci.2", "0x1")
    assert placement.place_of(_disk_at(domain, "vdb")) == Place("pci.4", "0x0")
    assert placement.place_of(IMPLICIT_BALLOON) == Place("pci.5", "0x0")


def test_a_controller_index_is_a_number_whatever_its_spelling():
    # index='00' is index 0: pc's piix3-uhci of index 0 is the PIIX3's own UHCI and
    # takes no slot of its own (libvirt 9.0: the disk at 0x2, the balloon at 0x3)
    domain, placement = _assign(
        _domain("pc", "<controller type='usb' index='00' model='piix3-uhci'/>" + _disk("vda"))
    )
    controller = domain.element.find("devices/controller")
    assert placement.place_of(controller) == Place("pci.0", "0x1.0x2")
    assert placement.place_of(_disk_at(domain, "vda")) == Place("pci.0", "0x2")
    assert placement.place_of(IMPLICIT_BALLOON) == Place("pci.0", "0x3")


def test_the_machines_fixed_slots():
    # q35: the video card libvirt adds for <graphics> at 00:01, the ich9 sound card at
    # 00:1b; the rest behind root ports
    domain, placement = _assign(
        _domain("q35", "<graphics type='vnc'/>" + _disk("vda") + "<sound model='ich9'/>")
    )
    assert placement.place_of(IMPLICIT_VIDEO) == Place("pcie.0", "0x1")
    assert placement.place_of(domain.element.find("devices/sound")) == Place("pcie.0", "0x1b")
    assert placement.place_of(IMPLICIT_USB) == Place("pci.1", "0x0")
    assert placement.place_of(_disk_at(domain, "vda")) == Place("pci.2", "0x0")
    assert placement.place_of(IMPLICIT_BALLOON) == Place("pci.3", "0x0")


def test_the_devices_after_the_disks():
    # pc: the primary video at 00:02; after the disk the balloon, the rng, then the
    # secondary video card
    domain, placement = _assign(
        _domain(
            "pc",
            _disk("vda")
            + "<video><model type='qxl'/></video><video><model type='virtio'/></video>"
            + "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>",
        )
    )
    primary, secondary = domain.element.findall("devices/video")
    assert placement.place_of(primary) == Place("pci.0", "0x2")
    assert placement.place_of(_disk_at(domain, "vda")) == Place("pci.0", "0x3")
    assert placement.place_of(IMPLICIT_BALLOON) == Place("pci.0", "0x4")
    assert placement.place_of(domain.element.find("devices/rng")) == Place("pci.0", "0x5")
    assert placement.place_of(secondary) == Place("pci.0", "0x6")


@pytest.mark.parametrize(
    ("machine", "slot"), [("pc", ("pci.0", 2)), ("q35", ("pcie.0", 0x1D))], ids=["pc", "q35"]
)
def test_an_ich9_usb2_set_shares_one_slot(machine, slot):
    # the EHCI master at function 7, its companions at 0 (multifunction) and 1: on pc
    # the master's free slot, on q35 the slot 00:1d the machine keeps for them
    domain, placement = _assign(
        _domain(
            machine,
            "<controller type='usb' index='0' model='ich9-ehci1'/>"
            "<controller type='usb' index='0' model='ich9-uhci1'/>"
            "<controller type='usb' index='0' model='ich9-uhci2'/>" + _disk("vda"),
        )
    )
    bus, number = slot
    ehci, uhci1, uhci2 = domain.element.findall("devices/controller")
    assert placement.place_of(ehci) == Place(bus, f"{number:#x}.0x7")
    assert placement.place_of(uhci1) == Place(bus, f"{number:#x}", True)
    assert placement.place_of(uhci2) == Place(bus, f"{number:#x}.0x1")


def test_assign_is_pure_and_its_placement_final():
    xml = _domain("q35", _disk("vda") + "<interface type='user'><model type='e1000'/></interface>")
    domain = load(xml)
    before = etree.tostring(domain.element)
    table = caps.load("7.2")
    first, second = assign(domain, table), assign(domain, table)
    assert etree.tostring(domain.element) == before
    assert dict(first.places) == dict(second.places)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.findings = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        first.places[IMPLICIT_BALLOON] = Place("pci.0", "0x9")  # type: ignore[index]


def test_an_unknown_machine_has_no_places():
    domain = load(_domain("no-such-machine", _disk("vda")))
    assert assign(domain, caps.load("7.2")) == Placement()
