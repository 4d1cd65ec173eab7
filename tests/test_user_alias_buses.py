"""Buses named after their controller's user alias, as libvirt 9.0 names them.

A controller with <alias name='ua-…'/> keeps it as its QEMU id, so the bus it provides is
'ua-….0' in every bus= behind it (oVirt and KubeVirt give every device such an alias).
virtxlate wrote 'usb.0' and 'virtio-serial0.0' for the USB inputs, sound cards, redirected
devices and virtio-serial ports behind one; here the whole line of such a guest is
compared with libvirt's own (tests/runtime_only.py removes what only a run has).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_only import both_lines

GUEST = """<domain type='qemu'><name>ua</name>
<uuid>0b0c6c2a-6c3e-4b6a-9d7b-6f0f6b3f1a13</uuid><memory>262144</memory>
<os><type arch='x86_64' machine='{machine}'>hvm</type></os><devices>
<controller type='usb' index='0' model='{usb}'><alias name='ua-usb'/></controller>
<controller type='usb' index='1' model='{usb}'><alias name='ua-usb2'/></controller>
<controller type='virtio-serial' index='0'><alias name='ua-vs'/></controller>
<controller type='virtio-serial' index='1'><alias name='ua-vs1'/></controller>
<input type='tablet' bus='usb'/>
<input type='keyboard' bus='usb'><address type='usb' bus='1' port='2'/></input>
<input type='mouse' bus='usb'><address type='usb' bus='1'/></input>
<sound model='usb'/>
<channel type='unix'><source mode='bind' path='/run/ga.sock'/>
<target type='virtio' name='org.qemu.guest_agent.0'/></channel>
<channel type='pty'><target type='virtio' name='second'/>
<address type='virtio-serial' controller='1' bus='0' port='3'/></channel>
<graphics type='spice' port='5901'/>
<channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>
<redirdev bus='usb' type='spicevmc'/>
<smartcard mode='passthrough' type='spicevmc'/>
<audio id='1' type='spice'/>
</devices></domain>"""


@pytest.mark.parametrize(("machine", "usb"), [("pc", "piix3-uhci"), ("q35", "qemu-xhci")])
def test_buses_behind_aliased_controllers_are_libvirts(
    virsh: str,  # noqa: F811
    tmp_path: Path,
    machine: str,
    usb: str,
) -> None:
    ours, theirs = both_lines(virsh, GUEST.format(machine=machine, usb=usb), tmp_path)
    assert any('"bus":"ua-usb.0"' in word for word in theirs)
    assert any('"bus":"ua-vs1.0"' in word for word in theirs)
    assert ours == theirs
