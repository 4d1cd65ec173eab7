"""The disk table's rows in both directions, against libvirt 9.0's own command lines.

tests/data/libvirt-9.0 holds domains with libvirt's answer beside them (test_fidelity
checks that `argv` writes those lines).  Here from-argv reads libvirt's line back and
every row's field must come back with the value the domain gave it; and every row of
the tables must be set by one of these cases, so a new row comes with its proof.
"""

from __future__ import annotations

import pytest
from conftest import DATA

from virtxlate.api import load
from virtxlate.model import Controller, Disk
from virtxlate.model.fields import XmlObject
from virtxlate.native import domain_from_argv
from virtxlate.native.words import read_command_line
from virtxlate.props import disk_table
from virtxlate.props.mapping import Row

CASES = DATA / "libvirt-9.0"
ROW_CASES = ("disk-table-rows-pc", "curl-source-options-pc")

DISK_ROWS = (
    *disk_table.FRONTEND,
    *disk_table.VIRTIO_BEFORE_SCSI,
    *disk_table.VIRTIO_AFTER_SCSI,
    *disk_table.VIRTIO_OPTIONS,
)
CONTROLLER_ROWS = (disk_table.IOTHREAD, *disk_table.SCSI_CONTROLLER, *disk_table.VIRTIO_OPTIONS)
SOURCE_ROWS = disk_table.NETWORK_STORAGE


def _objects(xml: str) -> list[tuple[str, XmlObject, tuple[Row, ...]]]:
    """(key, model object, its rows) of every disk, <source> and SCSI controller."""
    domain = load(xml)
    found: list[tuple[str, XmlObject, tuple[Row, ...]]] = []
    for disk in domain.disks:
        found.append((f"disk {disk.dev}", disk, DISK_ROWS))
        if disk.source is not None:
            found.append((f"source of {disk.dev}", disk.source, SOURCE_ROWS))
    found += [
        (f"controller {c.index}", c, CONTROLLER_ROWS)
        for c in domain.controllers
        if c.type == "scsi"
    ]
    return found


@pytest.mark.parametrize("case", ROW_CASES)
def test_every_row_reads_back_from_libvirts_line(case):
    given = (CASES / f"{case}.xml").read_text()
    line = read_command_line((CASES / f"{case}.args").read_text(), case)
    back = {key: obj for key, obj, _ in _objects(domain_from_argv(line).xml)}
    differences = []
    for key, obj, rows in _objects(given):
        assert key in back, f"{key} does not come back"
        for row in rows:
            if row.read(obj) != row.read(back[key]):
                differences.append(
                    f"{key}: {row.field} {row.read(obj)!r} != {row.read(back[key])!r}"
                )
    assert not differences


def test_every_row_is_set_by_a_case():
    """checkprops: a row no case sets is a mapping nobody has checked against libvirt."""
    set_rows = {
        row
        for case in ROW_CASES
        for _, obj, rows in _objects((CASES / f"{case}.xml").read_text())
        for row in rows
        if row.read(obj) is not None
    }
    unset = [
        row.qemu for row in (*DISK_ROWS, *CONTROLLER_ROWS, *SOURCE_ROWS) if row not in set_rows
    ]
    assert not unset


def test_rows_read_through_the_model():
    """A row with a model path reads the declared field; an XML-path row reads the
    element it names (and writes it back through a Field)."""
    disk = Disk(
        load(
            "<domain><devices><disk><driver queues='4'/><source><timeout seconds='7'/></source>"
            "</disk></devices></domain>"
        )
        .disks[0]
        .element
    )
    queues = next(r for r in disk_table.VIRTIO_AFTER_SCSI if r.qemu == "num-queues")
    assert queues.read(disk) == 4
    assert queues.parse({"num_queues": "8"}) == 8  # the other name QEMU takes
    timeout = next(r for r in disk_table.NETWORK_STORAGE if r.qemu == "timeout")
    assert disk.source is not None and timeout.read(disk.source) == 7
    timeout.write(disk.source, 9)
    assert disk.element.find("source/timeout").get("seconds") == "9"
    controller = Controller(
        load("<domain><devices><controller type='scsi'/></devices></domain>").controllers[0].element
    )
    disk_table.IOTHREAD.write(controller, disk_table.IOTHREAD.parse({"iothread": "iothread3"}))
    assert controller.element.find("driver").get("iothread") == "3"
