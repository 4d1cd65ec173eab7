"""PCI (vfio-pci), USB (usb-host) and mediated host devices as libvirt 9.0 writes them,
against its own line (tests/device_variants.py); what only the VM's host knows is a
placeholder and an info finding (VX0701), or libvirt's refusal when a host is asked."""

from __future__ import annotations

import pytest
from device_variants import Variant, both, libvirt_words, picked, regenerate
from qemu_start import qemu_refusal

from virtxlate.api import analyze, load
from virtxlate.host import FixedHost

DRIVERS = frozenset({"vfio-pci", "vfio-pci-nohotplug", "usb-host"})
VFIO = "<driver name='vfio'/>"


def _pci(bus: str, extra: str = "", attrs: str = "") -> str:
    return (
        f"<hostdev mode='subsystem' type='pci' {attrs}>{VFIO}<source>"
        f"<address domain='0x0000' bus='{bus}' slot='0x02' function='0x0'/></source>"
        f"{extra}</hostdev>"
    )


def _usb(bus: int, device: int, extra: str = "", source: str = "") -> str:
    return (
        f"<hostdev mode='subsystem' type='usb'><source {source}>"
        f"<address bus='{bus}' device='{device}'/></source>{extra}</hostdev>"
    )


MDEV = (
    "<hostdev mode='subsystem' type='mdev' model='vfio-pci' {attrs}><source>"
    "<address uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source>{extra}</hostdev>"
)
VARIANTS = [
    *both(
        "pci-managed-boot-rombar",
        _pci("0x06", "<rom bar='off'/><boot order='1'/>", "managed='yes'"),
    ),
    *both("pci-unmanaged", _pci("0x07", attrs="managed='no'")),
    *both("pci-rom-file-bar-on", _pci("0x06", "<rom bar='on' file='/x.rom'/>")),
    *both("pci-rom-disabled-acpi", _pci("0x06", "<rom enabled='no'/><acpi index='3'/>")),
    *both("pci-user-alias", _pci("0x06", "<alias name='ua-gpu'/>")),
    *both(
        "pci-written-multifunction",
        "<hostdev mode='subsystem' type='pci'>" + VFIO + "<source><address domain='0x0001' "
        "bus='0x0a' slot='0x1f' function='0x7'/></source><address type='pci' bus='0' "
        "slot='5' function='0' multifunction='on'/></hostdev>",
    ),
    *both(
        "pci-teaming",
        _pci("0x06", "<teaming type='transient' persistent='ua-net'/>"),
    ),
    *both(
        "pci-two-and-a-disk",
        _pci("0x06")
        + _pci("0x07")
        + (
            "<disk type='file' device='disk'><source file='/a.img'/>"
            "<target dev='vda' bus='virtio'/>"
            "</disk>"
        ),
    ),
    *both("usb-bus-device", _usb(3, 7)),
    *both("usb-boot-port", _usb(1, 2, "<boot order='2'/><address type='usb' bus='0' port='2'/>")),
    *both(
        "usb-guest-reset",
        _usb(1, 2, source="guestReset='off'")
        + _usb(1, 3, source="guestReset='uninitialized'")
        + _usb(1, 4, source="guestReset='on'"),
    ),
    *both(
        "usb-after-disk-ports",
        (
            "<disk type='file' device='disk'><source file='/a.img'/><target dev='sda' bus='usb'/>"
            "</disk>"
        )
        + _usb(1, 2)
        + _usb(1, 3),
    ),
    *both("mdev", MDEV.format(attrs="", extra="")),
    *both("mdev-display-off", MDEV.format(attrs="display='off'", extra="")),
    *both(
        "mdev-ramfb",
        MDEV.format(attrs="display='on' ramfb='on'", extra="") + "<graphics type='vnc'/>",
    ),
    *both("mixed-order", _usb(1, 2) + MDEV.format(attrs="", extra="") + _pci("0x06")),
    # refused
    *both("mdev-boot", MDEV.format(attrs="", extra="<boot order='1'/>")),
    *both("mdev-display-no-graphics", MDEV.format(attrs="display='on'", extra="")),
]
REFUSED = {"mdev-boot": "VX0100", "mdev-display-no-graphics": "VX0100"}

regenerate(VARIANTS)


def _analysis(variant: Variant, host=None):
    return analyze(load(variant.xml), "7.2", host=host)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_host_devices_are_libvirts(variant):
    theirs = libvirt_words(variant)
    result = _analysis(variant)
    errors = sorted({f.code for f in result.findings if f.is_error})
    if theirs is None:
        assert errors == [REFUSED[variant.name.rsplit("-", 1)[0]]], variant.err.read_text()
        assert result.argv is None
        return
    assert errors == [], [f.message for f in result.findings if f.is_error]
    expected = picked(theirs, DRIVERS)
    assert expected, "libvirt's line has no host device"
    assert picked(result.argv, DRIVERS) == expected


def test_the_refusals_are_libvirts():
    refused = {v.name.rsplit("-", 1)[0] for v in VARIANTS if v.err.exists()}
    assert refused == set(REFUSED)


# -- host facts -----------------------------------------------------------------------------

DEFAULT_DRIVER = Variant(
    "pci-default-driver-q35",
    "q35",
    "<hostdev mode='subsystem' type='pci'><source><address domain='0x0000' bus='0x06' "
    "slot='0x02' function='0x0'/></source></hostdev>",
)
BY_VENDOR = Variant(
    "usb-vendor-product-pc",
    "pc",
    "<hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/>"
    "<product id='0xbeef'/></source><boot order='1'/></hostdev>",
)
regenerate([DEFAULT_DRIVER, BY_VENDOR])


def test_vfio_is_the_hosts_fact():
    """Without <driver name='vfio'/> libvirt asks the host for VFIO: this machine's
    libvirt has none ("invalid PCI passthrough type 'default'"); virtxlate says so when
    asked about such a host, and otherwise writes vfio-pci with an info finding."""
    assert "invalid PCI passthrough type 'default'" in DEFAULT_DRIVER.err.read_text()
    without = _analysis(DEFAULT_DRIVER, host=FixedHost())
    assert [f.code for f in without.findings if f.is_error] == ["VX0211"]
    assert without.argv is None
    unknown = _analysis(DEFAULT_DRIVER)
    assert unknown.ok
    assert (
        "-device",
        '{"driver":"vfio-pci","host":"0000:06:02.0","id":"hostdev0","bus":"pci.2","addr":"0x0"}',
    ) in picked(unknown.argv, DRIVERS)
    assert [f.code for f in unknown.findings if f.severity == "info"] == ["VX0701"]
    with_vfio = _analysis(DEFAULT_DRIVER, host=FixedHost(device_nodes=("/dev/vfio/vfio",)))
    assert with_vfio.ok and not [f for f in with_vfio.findings if f.code == "VX0701"]


def test_a_usb_vendor_and_product_is_a_placeholder():
    """libvirt finds the device's bus and device on the host when it starts the domain
    (its dry run refuses: "USB host device is missing bus/device information")."""
    assert "missing bus/device information" in BY_VENDOR.err.read_text()
    result = _analysis(BY_VENDOR)
    assert result.ok, result.findings
    assert picked(result.argv, DRIVERS) == [
        (
            "-device",
            '{"driver":"usb-host","hostdevice":"/dev/bus/usb/<bus of 0x1234:0xbeef>/'
            '<device of 0x1234:0xbeef>","id":"hostdev0","bootindex":1,"bus":"usb.0","port":"1"}',
        )
    ]
    info = [f for f in result.findings if f.code == "VX0701"]
    assert len(info) == 1 and "0x1234:0xbeef" in info[0].message


def test_old_releases_name_the_host_bus_and_address():
    """Before QEMU had usb-host.hostdevice libvirt wrote hostbus= and hostaddr=."""
    variant = next(v for v in VARIANTS if v.name == "usb-bus-device-pc")
    argv = analyze(load(variant.xml), "5.0").argv
    assert argv is not None
    assert "usb-host,hostbus=3,hostaddr=7,id=hostdev0,bus=usb.0,port=1" in argv


@pytest.mark.parametrize("name", ("usb-guest-reset-q35", "usb-after-disk-ports-pc"))
def test_qemu_starts_on_virtxlates_line(name, qemu_binary):
    """usb-host starts without the host's device (qemu_start drops its path); vfio-pci
    needs the host's device and is not started here."""
    variant = next(v for v in VARIANTS if v.name == name)
    argv = _analysis(variant).argv
    assert argv is not None
    assert qemu_refusal([qemu_binary, *argv[1:]]) is None


def test_a_usb_address_bus_that_is_no_number_is_refused():
    # libvirt 9.0: "Invalid value for attribute 'bus' in element 'address': '1x'"; the
    # device must not land on controller 0 as if bus='0' had been written
    guest = load(
        "<domain type='kvm'><name>g</name><memory>262144</memory><os><type arch='x86_64' "
        "machine='pc'>hvm</type></os><devices><controller type='usb' index='0' "
        "model='qemu-xhci'/>"
        + _usb(1, 2, "<address type='usb' bus='1x' port='1'/>")
        + "</devices></domain>"
    )
    result = analyze(guest, "7.2", host=FixedHost())
    assert result.argv is None
    assert [(f.code, f.xpath) for f in result.findings if f.is_error] == [
        ("VX0100", "/domain/devices/hostdev/address/@bus")
    ]
