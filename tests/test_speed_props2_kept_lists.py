"""Issue 18, second round: a model object's device lists are kept as one read-only list,
and the rows that apply to a kind of device are worked out once per kind, era and set
of capability flags.  Both are shortcuts: each must give what the plain computation
gives and follow a write or a different table.  (Speed is measured by bench/run.py.)"""

from __future__ import annotations

import dataclasses

import pytest

from virtxlate.api import load
from virtxlate.caps import tables as caps_tables
from virtxlate.model import fields
from virtxlate.option import Option
from virtxlate.props import disk_table
from virtxlate.props.mapping import Context, add_props

_DOMAIN = """<domain type='kvm'>
  <name>kept</name>
  <memory>1048576</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none' discard='unmap' io='native'/>
      <source file='/a.img'/><target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <source file='/b.img'/><target dev='vdb' bus='virtio'/>
    </disk>
  </devices>
</domain>"""


def test_a_device_list_refuses_changes():
    """The list is shared by every reader: changing it would change what the next one
    reads, so each way of changing it raises (list() gives a copy to build on)."""
    disks = load(_DOMAIN).disks
    first = disks[0]
    for change in (
        lambda: disks.append(first),
        lambda: disks.extend([first]),
        lambda: disks.insert(0, first),
        lambda: disks.remove(first),
        lambda: disks.pop(),
        lambda: disks.clear(),
        lambda: disks.sort(key=id),
        lambda: disks.reverse(),
        lambda: disks.__setitem__(0, first),
        lambda: disks.__delitem__(0),
        lambda: disks.__iadd__([first]),
        lambda: disks.__imul__(2),
    ):
        with pytest.raises(TypeError, match="read-only"):
            change()
    assert [d.dev for d in disks] == ["vda", "vdb"]
    copy = list(disks)
    copy.append(first)
    assert len(copy) == 3 and len(disks) == 2
    assert disks + [first] == [*disks, first]


def test_a_device_list_follows_a_write():
    """The kept list is read again after a write through the model or note_write()
    after an lxml edit: a removed disk is gone, an added one is there."""
    domain = load(_DOMAIN)
    assert [d.dev for d in domain.disks] == ["vda", "vdb"]
    assert domain.disks is domain.disks  # kept: one list until a write
    devices = domain.element.find("devices")
    devices.remove(devices.findall("disk")[1])
    fields.note_write()
    assert [d.dev for d in domain.disks] == ["vda"]
    domain.disks[0].target.dev = "vdc"  # a write through the model
    assert [d.dev for d in domain.disks] == ["vdc"]
    assert domain.serials == [] and domain.serials is domain.hostdevs  # one empty list


def _drive_keys(table: caps_tables.CapsTable) -> list[str]:
    domain = load(_DOMAIN)
    option = Option("-drive")
    add_props(option, disk_table.DRIVE, domain.disks[0], "virtio", Context(table, False))
    return [key for key, _ in option.props]


def test_rows_follow_the_tables_flags():
    """The rows kept for a kind of device are those of the table's flags: a table
    without drive-discard (the same rows asked just before) writes no discard=."""
    table = caps_tables.load("7.2", "x86_64")
    assert "drive-discard" in table.flags
    assert _drive_keys(table) == ["cache", "discard", "aio"]
    fewer = dataclasses.replace(table, flags=table.flags - {"drive-discard"})
    assert _drive_keys(fewer) == ["cache", "aio"]
    assert _drive_keys(table) == ["cache", "discard", "aio"]


def test_rows_follow_the_kind_and_the_era():
    """A row kept for one bus or era is not given to another: vendor= is SCSI only,
    the DRIVE rows are the -drive era's."""
    table = caps_tables.load("7.2", "x86_64")
    disk = load(_DOMAIN.replace("<source file='/a.img'/>", "<vendor>V</vendor>")).disks[0]
    for kind, expected in (("scsi", ["vendor"]), ("virtio", []), ("scsi", ["vendor"])):
        option = Option("-device")
        add_props(option, disk_table.FRONTEND[4:5], disk, kind, Context(table, True))
        assert [key for key, _ in option.props] == expected, kind
    option = Option("-drive")
    add_props(option, disk_table.DRIVE, disk, "virtio", Context(table, True))
    assert option.props == []
