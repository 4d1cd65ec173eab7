"""Issue 18, round 4: a model object's first reads are made in fewer Python steps (its
index of children by tag built in C, a declared field's read kept without looking for
it first).  Each shortcut must read what libvirt reads: the first child of a tag, past
comments and processing instructions, an element's whole text, and every read must
follow a write.  (Speed is measured by bench/run.py.)"""

from __future__ import annotations

import pytest

from virtxlate.model import fields
from virtxlate.model.devices import Disk
from virtxlate.model.domain import domain_from_document
from virtxlate.model.fields import INT, Field
from virtxlate.xmlinput import parse_text

_DISK = (
    "<domain type='qemu'><devices>"
    "<disk type='file' device='disk'>"
    "<!-- the first target is the one libvirt reads -->"
    "<?pi target?>"
    "<target dev='vda' bus='virtio'/>"
    "<serial>AB<!-- c -->CD</serial>"
    "<target dev='vdz' bus='sata'/>"
    "<wwn>0x5000c50015ea71ac</wwn>"
    "<readonly/>"
    "</disk>"
    "</devices></domain>"
)


def _disk() -> Disk:
    return domain_from_document(parse_text(_DISK)).disks[0]


def test_the_first_child_of_a_tag_is_read_past_comments_and_pis():
    """The index keeps the first <target>, not the last; a comment or PI (whose lxml
    tag is a function) is no child a field finds."""
    disk = _disk()
    assert (disk.dev, disk.bus, disk.target.bus) == ("vda", "virtio", "virtio")
    assert disk.readonly is True and disk.shareable is False
    assert disk.serial == "ABCD"  # the whole text, the comment left out
    assert disk.wwn == "0x5000c50015ea71ac"
    index = disk.__dict__["@tags"]
    assert index["target"].get("dev") == "vda"
    assert index["serial"] is disk.element.find("serial")


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        ("<serial/>", ""),  # present and empty: an empty string, not absent
        ("<serial></serial>", ""),
        ("<serial>x</serial>", "x"),
        ("<serial><!-- only a comment --></serial>", ""),
        ("<serial>a<!-- c -->b<!-- d --></serial>", "ab"),
        ("", None),
    ],
)
def test_an_element_text_reads_as_libvirt_reads_it(xml, expected):
    disk = domain_from_document(
        parse_text(
            f"<domain type='qemu'><devices><disk type='file'>{xml}</disk></devices></domain>"
        )
    ).disks[0]
    assert disk.serial == expected


def test_a_field_made_on_its_own_keeps_its_read_until_a_write():
    """A mapping row's field (not declared on a class) keeps its read under its own key;
    a write anywhere through the model drops it, and the next read sees the tree."""
    disk = _disk()
    queues = Field("driver/@queues", INT)
    assert queues.__get__(disk) is None
    disk.element.append(disk.element.makeelement("driver", {"queues": "4"}))
    assert queues.__get__(disk) is None  # kept: the lxml edit is not seen before note_write
    fields.note_write()
    assert queues.__get__(disk) == 4
    assert queues.__get__(disk) == 4
    disk.driver.queues = 8
    assert queues.__get__(disk) == 8 and disk.driver.queues == 8


def test_a_declared_read_is_made_once_and_dropped_by_a_write():
    disk = _disk()
    assert disk.type == "file" and "type" in disk.__dict__
    disk.element.set("type", "block")
    assert disk.type == "file"  # kept until note_write
    fields.note_write()
    assert "type" not in disk.__dict__ and disk.type == "block"
    disk.type = "network"
    assert disk.type == "network" and disk.element.get("type") == "network"


def test_an_invalid_value_raises_at_every_read():
    disk = domain_from_document(
        parse_text(
            "<domain type='qemu'><devices><disk type='file'><driver queues='many'/>"
            "</disk></devices></domain>"
        )
    ).disks[0]
    for _ in range(2):
        with pytest.raises(fields.InvalidValue, match="queues"):
            _ = disk.driver.queues
    assert "queues" not in disk.driver.__dict__


def test_lists_give_the_views_of_devices():
    """domain.disks and domain.devices give the same Disk while nothing is written, a new
    one after a write (its element may have moved or gone)."""
    domain = domain_from_document(parse_text(_DISK))
    disk = domain.disks[0]
    assert domain.devices[0] is disk and domain.disks[0] is disk
    fields.note_write()
    assert domain.disks[0] is not disk and domain.disks[0].element is disk.element
    assert domain.devices[0] is domain.disks[0]


def test_a_flag_is_read_once_and_follows_writes():
    """A Flag's read is kept like a field's (a check asks a disk whether it is shareable
    three times); a write, through the model or an lxml edit and note_write(), is read
    back."""
    disk = _disk()
    assert disk.readonly is True and disk.__dict__["readonly"] is True
    assert disk.shareable is False and disk.__dict__["shareable"] is False
    disk.shareable = True
    assert disk.shareable is True and disk.element.find("shareable") is not None
    disk.readonly = False
    assert disk.readonly is False and disk.element.find("readonly") is None
    disk.element.remove(disk.element.find("shareable"))
    assert disk.shareable is True  # kept until note_write
    fields.note_write()
    assert disk.shareable is False
    domain = domain_from_document(parse_text(_DISK))
    domain.hugepages = True  # a flag two steps down: its parent is made
    assert domain.hugepages is True
    assert domain.element.find("memoryBacking/hugepages") is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        ("007", 7),
        (" 5", 5),
        # libvirt 9.0 (<stats period='…'/>): "Invalid value … Expected integer value"
        (" 5 ", None),
        ("5 ", None),
        ("5\n", None),
        ("１", None),
        ("٣", None),
        ("0x1f", 31),
        ("1_0", None),
        ("", None),
        ("²", None),
        ("1" * 19, int("1" * 19)),
        ("1" * 5000, None),  # past Python's limit of digits: refused, not a traceback
    ],
)
def test_a_number_reads_as_before_its_shortcut(text, expected):
    """Plain decimal digits take a shortcut; every other text the full parse, with its
    one message."""
    if expected is None:
        with pytest.raises(ValueError, match="expected an integer"):
            fields._parse_int(text)
    else:
        assert fields._parse_int(text) == expected
