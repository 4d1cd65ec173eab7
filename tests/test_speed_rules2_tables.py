"""What the checks keep per capability table answers for that table alone, and the
placement's shortcuts give the places the long way gave.

The release gates (rules/release.py) and the graph refusals (rules/graph_refusals.py)
keep, per table, which device types exist and which buses they have; asking releases in
turn must never answer one release from another's.  QEMU 2.6 added mptsas1068 (libvirt's
lsisas1068 model): 2.5 lacks it, 2.6 and 7.2 have it (the shipped tables).
"""

from __future__ import annotations

from virtxlate import caps
from virtxlate.api import check, load
from virtxlate.option import Option
from virtxlate.placement.pcie import _root_port_functions
from virtxlate.placement.usb import assign_usb_ports
from virtxlate.rules.graph_refusals import graph_refusals

_LSISAS = (
    "<domain type='kvm'><name>t</name><memory unit='MiB'>512</memory>"
    "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
    "<controller type='scsi' index='0' model='lsisas1068'/>"
    "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
    "<source file='/a.img'/><target dev='sda' bus='scsi'/>"
    "<address type='drive' controller='0' bus='0' target='3' unit='0'/></disk>"
    "</devices></domain>"
)


def _codes(release: str) -> list[tuple[str, str]]:
    common, per_release = check(load(_LSISAS), (release,))
    return [(f.code, f.message) for f in common + per_release[0][1]]


def test_release_gate_answers_each_table_for_itself() -> None:
    refused = [
        (
            "VX0303",
            "SCSI controller model 'lsisas1068' needs QEMU device 'mptsas1068', "
            "which QEMU 2.5 does not have",
        )
    ]
    # alternating: a kept answer of one release must not leak into the next
    assert _codes("2.5") == refused
    assert _codes("7.2") == []
    assert _codes("2.5") == refused
    assert _codes("2.6") == []


def _family(table: caps.CapsTable) -> caps.tables.MachineFamily:
    machine = table.machine("pc")
    assert machine is not None
    return table.family_of(machine)


def test_graph_refusals_answer_each_table_for_itself() -> None:
    old, new = caps.load("2.5", "x86_64"), caps.load("7.2", "x86_64")
    options = [Option("-device", "mptsas1068", [("id", "scsi0"), ("bus", "pci.0")])]
    for _ in range(2):
        found = graph_refusals(old, _family(old), options, "t.xml")
        assert [(f.code, f.message) for f in found] == [
            ("VX0302", "QEMU 2.5 has no device type 'mptsas1068'")
        ]
        assert graph_refusals(new, _family(new), options, "t.xml") == []


def test_graph_refusals_know_the_buses_a_device_adds() -> None:
    table = caps.load("7.2", "x86_64")
    family = _family(table)
    hba = Option("-device", "virtio-scsi-pci", [("id", "scsi0"), ("bus", "pci.0")])
    on_it = Option("-device", "scsi-hd", [("bus", "scsi0.0"), ("drive", "d0")])
    elsewhere = Option("-device", "scsi-hd", [("bus", "scsi1.0"), ("drive", "d1")])
    assert graph_refusals(table, family, [hba, on_it], "t.xml") == []
    found = graph_refusals(table, family, [hba, elsewhere], "t.xml")
    assert [(f.code, f.message) for f in found] == [("VX0302", "Bus 'scsi1.0' not found")]


def test_root_ports_share_the_first_free_slot() -> None:
    # q35 keeps slot 1 for the video card: the ports take functions of slot 2
    assert _root_port_functions([1, 2, 3], {1}) == {
        1: (2, 0, True),
        2: (2, 1, True),
        3: (2, 2, True),
    }
    # one alone in its slot is no multi-function slot
    assert _root_port_functions([4], {1}) == {4: (2, 0, False)}
    # a slot whose eight functions are written root ports is passed over; a written
    # port's slot with a function to spare is joined
    assert _root_port_functions([1], {1}, {2: set(range(8))}) == {1: (3, 0, False)}
    assert _root_port_functions([1], {1}, {2: {0, 1}}) == {1: (2, 2, True)}
    # a full root bus: the rest have no place
    assert _root_port_functions([1, 2], set(range(1, 32))) == {}


def test_usb_ports_without_and_with_devices() -> None:
    bare = load(
        "<domain type='kvm'><name>t</name><memory unit='MiB'>512</memory>"
        "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices/></domain>"
    )
    ports = assign_usb_ports(bare, "qemu-xhci")
    assert (ports.ports, ports.hubs, ports.elements) == ({}, [], [])
    with_disks = load(
        "<domain type='kvm'><name>t</name><memory unit='MiB'>512</memory>"
        "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
        "<disk type='file' device='disk'><source file='/b.img'/>"
        "<target dev='sdb' bus='usb'/></disk>"
        "<disk type='file' device='disk'><source file='/a.img'/>"
        "<target dev='sda' bus='usb'/></disk></devices></domain>"
    )
    ports = assign_usb_ports(with_disks, "qemu-xhci")
    sdb, sda = with_disks.disks
    # libvirt's disk order: by target name (sda first), each the first free port
    assert ports.port_of(sda.element) == "1"
    assert ports.port_of(sdb.element) == "2"
    assert ports.hubs == []
