"""The domain-wide options (props/domain.py) as libvirt 9.0 writes them: -display none only
without <graphics> (qemuBuildGraphicsCommandLine), one iothread object per <iothreads>
(qemuBuildIOThreadCommandLine), -name under guest= where QEMU has it."""

from __future__ import annotations

from types import SimpleNamespace

from conftest import SAMPLES

import virtxlate
from virtxlate import caps
from virtxlate.props.domain import display_options, iothread_options, name_option

IOTHREADS = SAMPLES / "virtio-scsi-iothreads.xml"


def _flags(options):  # type: ignore[no-untyped-def]
    return [(o.flag, o.implied, list(o.props)) for o in options]


def _plan(domain, release="7.2"):  # type: ignore[no-untyped-def]
    """What the domain-wide builders read of a plan."""
    return SimpleNamespace(domain=domain, caps=caps.load(release, "x86_64"))


def test_no_graphics_means_no_display():
    domain = virtxlate.load(IOTHREADS)
    assert _flags(display_options(_plan(domain))) == [("-display", "none", [])]


def test_a_graphics_device_leaves_the_display_to_it():
    text = IOTHREADS.read_text().replace("<devices>", "<devices><graphics type='vnc'/>", 1)
    domain = virtxlate.load(text)
    assert display_options(_plan(domain)) == []


def test_one_iothread_object_per_iothread():
    domain = virtxlate.load(IOTHREADS)
    assert _flags(iothread_options(_plan(domain))) == [
        ("-object", "iothread", [("id", "iothread1")]),
        ("-object", "iothread", [("id", "iothread2")]),
    ]


def test_the_name_is_the_whole_value_where_qemu_has_no_guest_key():
    assert _flags([name_option("g", caps.load("1.2", "x86_64"))]) == [("-name", "g", [])]
    assert _flags([name_option("g", caps.load("7.2", "x86_64"))]) == [
        ("-name", None, [("guest", "g"), ("debug-threads", True)])
    ]
