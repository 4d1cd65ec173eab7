"""The root-bus slot of a primary video card that is no PCI device (model none or
ramfb): libvirt 9.0 keeps slot 2 (pc) / 1 (q35) only for a PCI card (or the one it adds
for <graphics>), so the next device takes it; the whole line equals libvirt's."""

from __future__ import annotations

import pytest
from test_whole_domain import compared, lines

pytestmark = pytest.mark.integration

_DOMAIN = (
    "<domain type='qemu'><name>g</name><memory>262144</memory>"
    "<os><type arch='x86_64' machine='{machine}'>hvm</type></os><devices>"
    "<disk type='file' device='disk'><source file='/x.img'/>"
    "<target dev='vda' bus='virtio'/></disk>{video}</devices></domain>"
)
_VIDEOS = [
    "<video><model type='none'/></video>",
    "<video><model type='ramfb'/></video>",
    "<graphics type='vnc'/><video><model type='none'/></video>",
    "<graphics type='vnc'/><video><model type='ramfb'/></video>",
    "<graphics type='vnc'/>",
    "<video><model type='vga'/></video>",
    "",
]


@pytest.mark.parametrize("machine", ["pc", "q35"])
@pytest.mark.parametrize("video", _VIDEOS)
def test_line_with_this_video_is_libvirts(virsh, machine, video):
    ours, theirs = lines(_DOMAIN.format(machine=machine, video=video))
    assert compared(ours) == compared(theirs)
