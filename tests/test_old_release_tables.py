"""The 1.2, 1.3 and 1.4 tables say what QEMU 1.2.2, 1.3.1 and 1.4.2 answered libvirt.

libvirt's captured replies of those binaries (tests/qemucapabilitiesdata/caps_1.x.y.x86_64
.replies) list every type each had: transcribed in tools/caps-sources/qemu-1.x-x86_64.xml,
they make each table complete, so a device type it lacks is one QEMU lacked (an error
naming the first release with it), never "not known" (VX0307), and one it has is no error.
"""

from __future__ import annotations

import pytest

from virtxlate import caps
from virtxlate.api import analyze, load
from virtxlate.caps import index

_DOMAIN = (
    "<domain type='qemu'><name>g</name><memory unit='MiB'>256</memory>"
    "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>{}</devices></domain>"
)


@pytest.mark.parametrize(
    ("version", "release"), [("1.2", "1.2.2"), ("1.3", "1.3.1"), ("1.4", "1.4.2")]
)
def test_each_old_table_is_its_binarys_answer(version, release):
    entry = next(t for t in index.summaries("x86_64") if t["version"] == version)
    assert (entry["release"], entry["origin"]) == (release, "captured replies")
    assert caps.load(version).uncertain_devices == frozenset()


@pytest.mark.parametrize(
    ("devices", "release", "needs", "since"),
    [
        # QEMU 1.2.2 listed no usb-redir, 1.3.1 did
        (
            "<redirdev bus='usb' type='spicevmc'/><graphics type='spice'/>",
            "1.2",
            "usb-redir",
            "1.3",
        ),
        # ich9-intel-hda first in 1.4.2's list
        ("<sound model='ich9'/>", "1.3", "ich9-intel-hda", "1.4"),
        # vfio-pci came in 1.3 (libvirt 9.0 assigns PCI host devices with it only)
        (
            "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
            "<address domain='0' bus='1' slot='0' function='0'/></source></hostdev>",
            "1.2",
            "vfio-pci",
            "1.3",
        ),
    ],
)
def test_a_type_the_release_lacks_is_an_error_since_the_first_with_it(
    devices, release, needs, since
):
    found = [f for f in analyze(load(_DOMAIN.format(devices)), release).findings]
    assert [f.code for f in found if f.code == "VX0307"] == []
    errors = [(f.code, f.since) for f in found if f.is_error]
    assert errors == [("VX0303", since)], [f.message for f in found]
    assert f"'{needs}'" in next(f.message for f in found if f.is_error)


@pytest.mark.parametrize("release", ["1.2", "1.3", "1.4"])
def test_everyday_devices_of_qemu_1_x_need_no_warning(release):
    """Serial and parallel ports, USB input, sound, watchdog and NICs QEMU 1.2 had: no
    finding (the storage-only 1.2 table gave VX0307 or VX0303 for each)."""
    devices = (
        "<serial type='pty'/><parallel type='null'/><input type='tablet' bus='usb'/>"
        "<sound model='ich6'/><sound model='ac97'/><watchdog model='i6300esb'/>"
        "<interface type='user'><mac address='52:54:00:00:00:02'/><model type='e1000'/>"
        "</interface><interface type='user'><mac address='52:54:00:00:00:03'/>"
        "<model type='rtl8139'/></interface>"
    )
    result = analyze(load(_DOMAIN.format(devices)), release)
    assert [f.code for f in result.findings if f.severity != "info"] == []
    assert result.graph is not None
