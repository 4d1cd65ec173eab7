"""Issue 18: the model's kept reads, the device-list grouping and the graph's per-type
rows are shortcuts; each must give what the plain computation gives, and drop what a
write makes stale.  (The speed itself is measured by bench/run.py, not here.)"""

from __future__ import annotations

import gc
import random

import pytest
from lxml import etree

from virtxlate.api import analyze, load
from virtxlate.caps import tables as caps_tables
from virtxlate.graph import build as graph_build
from virtxlate.graph import realize as graph_realize
from virtxlate.graph.nodes import Device, Prop
from virtxlate.model import domain_from_document, fields
from virtxlate.model.domain import DEVICE_CLASSES
from virtxlate.xmlinput import parse_text

_MESSY = """<domain type='kvm'>
  <name>messy</name>
  <!-- a comment among the domain's children -->
  <devices>
    <disk type='file'><!-- c --><target dev='vda' bus='virtio'/><?pi x?>
      <source file='/a.img'/><target dev='vdz' bus='scsi'/></disk>
    <x:disk xmlns:x='urn:other' type='file'/>
    <interface type='user'/>
    <disk type='file'><source file='/b.img'/><target dev='vdb'/></disk>
  </devices>
  <devices>
    <disk type='block'><source dev='/dev/c'/><target dev='vdc' bus='virtio'/></disk>
    <serial type='pty'/>
  </devices>
</domain>"""


def _messy():
    return domain_from_document(parse_text(_MESSY))


def test_device_lists_are_what_findall_finds():
    """Every <devices> is read, in document order; comments, PIs and elements of
    another namespace are no devices (findall's own answer)."""
    domain = _messy()
    for tag in DEVICE_CLASSES:
        attribute = next(
            name
            for name, value in vars(type(domain)).items()
            if isinstance(value, fields.Children) and value.path == f"devices/{tag}"
        )
        found = [obj.element for obj in getattr(domain, attribute)]
        assert found == domain.element.findall(f"devices/{tag}"), tag
    assert [d.dev for d in domain.disks] == ["vda", "vdb", "vdc"]
    assert len(domain.serials) == 1


def test_a_field_below_an_element_is_its_first_child_of_that_tag():
    """The index of children by tag keeps the first of each tag (lxml's find) and skips
    comments and processing instructions."""
    disk = _messy().disks[0]
    assert disk.target is not None and disk.target.dev == "vda" and disk.bus == "virtio"
    assert disk.source is not None and disk.source.file == "/a.img"
    assert disk.driver is None and disk.readonly is False and disk.serial is None


def test_an_lxml_edit_then_note_write_is_read_afresh():
    """The index of children and the grouping of <devices> are reads too: note_write()
    drops them with the rest."""
    domain = _messy()
    disk = domain.disks[1]
    assert disk.readonly is False and disk.serial is None and disk.driver is None
    assert len(domain.interfaces) == 1
    etree.SubElement(disk.element, "readonly")
    etree.SubElement(disk.element, "serial").text = "S1"
    etree.SubElement(disk.element, "driver", name="qemu", type="raw")
    etree.SubElement(domain.element.find("devices"), "interface", type="network")
    fields.note_write()
    assert disk.readonly is True and disk.serial == "S1"
    assert disk.driver is not None and disk.driver.type == "raw"
    assert [i.type for i in domain.interfaces] == ["user", "network"]


def test_a_write_through_one_view_is_seen_through_another():
    domain = _messy()
    first = domain.disks[1]
    assert first.bus == "virtio" and first.dev == "vdb"  # derived from the name
    again = domain.disks[1]
    assert again is first  # the same view while nothing is written
    first.target.bus = "sata"
    assert domain.disks[1].bus == "sata" and again.bus == "sata"
    with pytest.raises(AttributeError):
        first.bus = "ide"  # computed, not written


def test_the_list_of_objects_holding_reads_stays_bounded():
    """Objects that keep reads are listed by weak reference, and the list is compacted:
    checking many domains one after another holds no domain alive (memory stays flat)."""
    text = (
        "<domain type='kvm'><name>n</name><memory>1024</memory><os><type>hvm</type></os>"
        "<devices><disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/>"
        "</disk></devices></domain>"
    )
    for _ in range(3000):
        domain = load(text)
        assert domain.disks[0].bus == "virtio" and domain.name == "n"
    del domain
    gc.collect()
    assert len(fields._holders) <= 2 * fields._HOLDERS_COMPACTED_AT + 100
    assert sum(ref() is not None for ref in fields._holders) < 100


def _props_by_walking(dtype, given, exclude):
    """build._props as it was: every shown property of the type in turn."""
    shown = []
    for prop in dtype.props:
        if (exclude and prop.name in exclude) or not prop.in_qtree:
            continue
        if prop.name in given:
            value = graph_build._given(dtype, prop.name, prop.type, given[prop.name])
        elif prop.default is not None:
            value = graph_build.convert(prop.type, prop.default)
        else:
            continue
        shown.append(Prop(prop.name, prop.type, value))
    return shown


def _value_for(prop_type: str, rng: random.Random):
    if prop_type in ("uint8", "uint16", "uint32", "uint64", "int32", "size"):
        return rng.choice([0, 1, 7, "0x10"])
    if prop_type in ("on-off", "bool"):
        return rng.choice(["on", "off", True, False])
    if prop_type == "pci-devfn":
        return rng.choice(["0x3", "0x4.0x1"])
    if prop_type == "hex64":
        return "ff"
    return rng.choice(["x", "<bus of 0x1234:0xbeef>"])


@pytest.mark.parametrize("release", ["7.2", "2.12"])
def test_a_types_defaults_row_gives_what_the_walk_gave(release):
    """_props from the type's row of defaults equals walking the type's properties, with
    and without the names of an embedded type left out, for every type of the table."""
    table = caps_tables.load(release)
    rng = random.Random(18)
    types = sorted(table.devices.values(), key=lambda t: t.name)
    for dtype in types:
        names = [p.name for p in dtype.props]
        inner = rng.choice(types)
        inner_info = graph_realize.type_info(inner)
        for _ in range(3):
            chosen = rng.sample(names, min(len(names), rng.randint(0, 6))) + ["id", "bus"]
            given = {
                name: _value_for(dtype.prop(name).type if dtype.prop(name) else "str", rng)
                for name in chosen
            }
            for excluded in (None, inner_info):
                exclude = inner_info.order.keys() if excluded is not None else None
                try:
                    expected = _props_by_walking(dtype, given, exclude)
                except ValueError:
                    with pytest.raises(ValueError):
                        graph_build._props(dtype, given, excluded)
                    continue
                assert graph_build._props(dtype, given, excluded) == expected, dtype.name


def _apply_by_sorting(device, info, realized):
    shown = {spec.name: spec for spec in info.dtype.props if spec.in_qtree}
    props = [p for p in device.props if p.name not in realized]
    props += [
        Prop(name, shown[name].type, value) for name, value in realized.items() if name in shown
    ]
    order = [spec.name for spec in info.dtype.props]
    props.sort(key=lambda p: order.index(p.name) if p.name in order else len(order))
    return props


def test_a_realized_value_lands_where_the_sort_put_it():
    table = caps_tables.load("7.2")
    rng = random.Random(2026)
    for name in ("scsi-hd", "scsi-cd", "ide-hd", "virtio-blk-pci", "virtio-scsi-pci", "VGA"):
        dtype = table.device(name)
        info = graph_realize.type_info(dtype)
        shown = [p.name for p in dtype.props if p.in_qtree]
        for _ in range(20):
            given = {n: "x" for n in rng.sample(shown, min(4, len(shown)))}
            given = {n: v for n, v in given.items() if info.shown_types[n] == "str"}
            device = Device(name, None, graph_build._props(dtype, given))
            realized = {n: rng.choice([0, 1, "on"]) for n in rng.sample(shown, 2)}
            expected = _apply_by_sorting(device, info, realized)
            graph_realize._apply(device, info, realized)
            assert device.props == expected, name


def test_a_thousand_disk_guest_checks_as_a_hundred_does():
    """The per-bus SCSI addresses kept while the graph grows give every LUN QEMU would
    pick: no LUN twice on a bus, in a guest with overflow lsilogic controllers."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from mix import many_disks

    result = analyze(load(many_disks(300)), "7.2")
    assert result.ok and result.graph is not None
    seen: dict[str, set[tuple[object, ...]]] = {}
    todo = [result.graph.root]
    while todo:
        bus = todo.pop()
        for device in bus.devices:
            todo.extend(device.buses)
            if device.type in ("scsi-hd", "scsi-cd"):
                address = graph_realize._address(device)
                assert address not in seen.setdefault(bus.name, set()), (bus.name, address)
                seen[bus.name].add(address)
    assert sum(len(v) for v in seen.values()) == 270
