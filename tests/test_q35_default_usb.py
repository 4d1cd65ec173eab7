"""The USB controller libvirt adds to a q35 domain that names none
(qemuDomainDefAddDefaultDevices): qemu-xhci where QEMU has it (the qemu-xhci capability,
QEMU 2.9 on), else nec-usb-xhci.  Before this, virtxlate wrote qemu-xhci for every
release, so a q35 guest with a USB tablet was refused at 1.3-2.8 ("Bus 'usb.0' not
found") where libvirt gives it a NEC xHCI."""

from __future__ import annotations

import pytest

from virtxlate.api import analyze, check, load

GUEST = load(
    "<domain type='qemu'><name>u</name><memory>262144</memory><os><type arch='x86_64' "
    "machine='q35'>hvm</type></os><devices><input type='tablet' bus='usb'/></devices>"
    "</domain>"
)


@pytest.mark.parametrize(
    ("release", "device"),
    [("1.5", "nec-usb-xhci"), ("2.4", "nec-usb-xhci"), ("2.8", "nec-usb-xhci"),
     ("2.9", "qemu-xhci"), ("7.2", "qemu-xhci")],
)  # fmt: skip
def test_q35_gets_libvirts_default_usb_controller(release: str, device: str) -> None:
    common, per_release = check(GUEST, [release])
    assert [f for f in common + per_release[0][1] if f.is_error] == []
    result = analyze(GUEST, release)
    assert result.ok and result.graph is not None
    controllers = [w for w in result.argv or [] if "xhci" in w]
    assert len(controllers) == 1 and device in controllers[0] and "id" in controllers[0]
