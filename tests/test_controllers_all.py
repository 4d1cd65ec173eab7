"""Controllers of every kind as libvirt 9.0 writes them: the USB controllers (the one it
adds, every model, ich9 companions, xHCI ports), virtio-serial (declared, transitional,
added for a virtio channel) and CCID, against libvirt's own line (tests/device_variants.py),
and real QEMU 7.2 starting on virtxlate's line."""

from __future__ import annotations

import pytest
from device_variants import Variant, both, libvirt_words, picked, regenerate
from qemu_start import qemu_refusal

from virtxlate.api import analyze, load
from virtxlate.props.controllers import USB_DEVICES

DRIVERS = frozenset(
    {
        *USB_DEVICES.values(),
        "virtio-serial-pci",
        "virtio-serial-pci-transitional",
        "virtio-serial-pci-non-transitional",
        "usb-ccid",
        "usb-hub",
    }
)
ICH9 = (
    "<controller type='usb' index='{i}' model='ich9-ehci1'/>"
    "<controller type='usb' index='{i}' model='ich9-uhci1'><master startport='0'/></controller>"
    "<controller type='usb' index='{i}' model='ich9-uhci2'><master startport='2'/></controller>"
    "<controller type='usb' index='{i}' model='ich9-uhci3'><master startport='4'/></controller>"
)
USB_DISK = (
    "<disk type='file' device='disk'><source file='/a.img'/><target dev='sda' bus='usb'/></disk>"
)
VARIANTS = [
    *both("usb-implicit", ""),
    *both("usb-none", "<controller type='usb' model='none'/>"),
    *both("usb-ich9-set", ICH9.format(i=0)),
    *both("usb-qemu-xhci-ports", "<controller type='usb' model='qemu-xhci' ports='15'/>"),
    *both("usb-nec-xhci-ports", "<controller type='usb' model='nec-xhci' ports='8'/>"),
    *both("usb-piix3-explicit", "<controller type='usb' index='0' model='piix3-uhci'/>"),
    *both(
        "usb-models-by-index",
        "<controller type='usb' index='0' model='qemu-xhci'/>"
        "<controller type='usb' index='1' model='ehci'/>"
        "<controller type='usb' index='2' model='pci-ohci'/>"
        "<controller type='usb' index='3' model='piix4-uhci'/>"
        "<controller type='usb' index='4' model='piix3-uhci'/>"
        "<controller type='usb' index='5' model='nec-xhci'/>",
    ),
    *both(
        "usb-user-alias",
        "<controller type='usb' model='qemu-xhci'><alias name='ua-x'/></controller>",
    ),
    *both("usb-without-index-0", "<controller type='usb' index='1' model='qemu-xhci'/>"),
    Variant(
        "usb-ich9-written-slot-pc",
        "pc",
        "<controller type='usb' index='0' model='ich9-ehci1'>"
        "<address type='pci' bus='0' slot='8' function='7'/></controller>"
        "<controller type='usb' index='0' model='ich9-uhci1'><master startport='0'/>"
        "<address type='pci' bus='0' slot='8' function='0' multifunction='on'/></controller>",
    ),
    *both(
        "virtio-serial",
        "<controller type='virtio-serial' index='0' ports='16' vectors='4'/>"
        "<controller type='virtio-serial' index='1'/>",
    ),
    *both(
        "virtio-serial-transitional",
        "<controller type='virtio-serial' model='virtio-transitional'/>"
        "<controller type='virtio-serial' index='1' model='virtio-non-transitional'/>",
    ),
    *both(
        "virtio-serial-added-for-channel",
        "<channel type='pty'><target type='virtio' name='a'/>"
        "<address type='virtio-serial' controller='2'/></channel>",
    ),
    *both("ccid", "<controller type='ccid'/><controller type='ccid' index='1'/>"),
    *both("ccid-after-usb-disk", USB_DISK + "<controller type='ccid'/><hub type='usb'/>"),
    *both(
        "ccid-on-ich9",
        ICH9.format(i=0) + "<controller type='ccid'><address type='usb' bus='0' port='3'/>"
        "</controller>",
    ),
    *both("usb-hub-alone", "<hub type='usb'/>"),
    # refused
    *both("usb-piix3-ports", "<controller type='usb' model='piix3-uhci' ports='4'/>"),
    *both("usb-none-with-ccid", "<controller type='usb' model='none'/><controller type='ccid'/>"),
]
REFUSED = {"usb-piix3-ports": "VX0100", "usb-none-with-ccid": "VX0211"}
# started in QEMU 7.2 with virtxlate's line
STARTED = (
    "usb-implicit-q35",
    "usb-ich9-set-pc",
    "usb-models-by-index-q35",
    "virtio-serial-transitional-q35",
    "ccid-after-usb-disk-pc",
)

regenerate(VARIANTS)


def _analysis(variant: Variant):
    return analyze(load(variant.xml), "7.2")


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_controllers_are_libvirts(variant):
    theirs = libvirt_words(variant)
    result = _analysis(variant)
    errors = sorted({f.code for f in result.findings if f.is_error})
    if theirs is None:
        assert errors == [REFUSED[variant.name.rsplit("-", 1)[0]]], variant.err.read_text()
        assert result.argv is None
        return
    assert errors == [], [f.message for f in result.findings if f.is_error]
    assert result.argv is not None
    expected = picked(theirs, DRIVERS)
    if not variant.name.startswith("usb-none"):
        assert expected, "libvirt's line has none of these controllers"
    assert picked(result.argv, DRIVERS) == expected


def test_the_refusals_are_libvirts():
    refused = {v.name.rsplit("-", 1)[0] for v in VARIANTS if v.err.exists()}
    assert refused == set(REFUSED)


@pytest.mark.parametrize("name", STARTED)
def test_qemu_starts_on_virtxlates_line(name, qemu_binary):
    variant = next(v for v in VARIANTS if v.name == name)
    argv = _analysis(variant).argv
    assert argv is not None
    assert qemu_refusal([qemu_binary, *argv[1:]]) is None


def test_a_usb_model_qemu_dropped_names_its_last_release():
    """libvirt 9.0: "USB controller model 'vt82c686b-uhci' not supported in this QEMU
    binary" (tests/data/libvirt-9.0-devices/usb-vt82c686b-q35.err); QEMU 6.0 dropped the
    device."""
    variant = Variant(
        "usb-vt82c686b-q35", "q35", "<controller type='usb' index='1' model='vt82c686b-uhci'/>"
    )
    regenerate([variant])
    assert "not supported in this QEMU binary" in variant.err.read_text()
    found = [f for f in _analysis(variant).findings if f.is_error]
    assert [(f.code, f.since) for f in found] == [("VX0303", None)]
    assert found[0].hint == "QEMU 5.2 is the last release with it"
    older = analyze(load(variant.xml), "5.2")
    assert not [f for f in older.findings if f.is_error]
    assert any("vt82c686b-usb-uhci,id=usb1" in word for word in older.argv)
