"""Where libvirt 9.0 puts storage when the domain declares PCI controllers or has more USB
devices than ports.  The expected -device options were captured from libvirt 9.0's
`virsh domxml-to-native qemu-argv` (Debian 12, QEMU 7.2) on these very domains;
tests/test_libvirt_defined.py asks the running libvirt the same for many more."""

from __future__ import annotations

import json

import pytest

from virtxlate.api import analyze, load
from virtxlate.argv.storage import device_driver
from virtxlate.host import FixedHost

_HEAD = (
    "<domain type='qemu'><name>p</name><memory unit='MiB'>256</memory>"
    "<os><type arch='x86_64' machine='{machine}'>hvm</type></os><devices>"
    "<emulator>/usr/bin/qemu-system-x86_64</emulator>"
)
_DISK = (
    "<disk type='file' device='disk'{model}><driver name='qemu' type='raw'/>"
    "<source file='/img/{dev}.img'/><target dev='{dev}' bus='{bus}'/></disk>"
)


def _disk(dev: str, bus: str = "virtio", model: str = "") -> str:
    return _DISK.format(dev=dev, bus=bus, model=f" model='{model}'" if model else "")


CASES = {
    # root ports 1 and 2 written at slot 3; 4 declared without an address; 3 left out
    "declared-root-ports": (
        _HEAD.format(machine="q35") + "<controller type='pci' index='0' model='pcie-root'/>"
        "<controller type='pci' index='1' model='pcie-root-port'><address type='pci' "
        "domain='0x0000' bus='0x00' slot='0x03' function='0x0' multifunction='on'/>"
        "</controller><controller type='pci' index='2' model='pcie-root-port'><address "
        "type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x1'/></controller>"
        "<controller type='pci' index='4' model='pcie-root-port'/>"
        + _disk("vda")
        + _disk("vdb")
        + _disk("vdc")
        + _disk("vdd", model="virtio-transitional")
        + _disk("vde")
        + "</devices></domain>",
        [
            '{"driver":"pcie-root-port","port":24,"chassis":1,"id":"pci.1","bus":"pcie.0",'
            '"multifunction":true,"addr":"0x3"}',
            '{"driver":"pcie-root-port","port":25,"chassis":2,"id":"pci.2","bus":"pcie.0",'
            '"addr":"0x3.0x1"}',
            '{"driver":"pcie-root-port","port":8,"chassis":4,"id":"pci.4","bus":"pcie.0",'
            '"multifunction":true,"addr":"0x1"}',
            '{"driver":"pcie-root-port","port":9,"chassis":3,"id":"pci.3","bus":"pcie.0",'
            '"addr":"0x1.0x1"}',
            '{"driver":"pcie-root-port","port":10,"chassis":5,"id":"pci.5","bus":"pcie.0",'
            '"addr":"0x1.0x2"}',
            '{"driver":"pcie-pci-bridge","id":"pci.6","bus":"pci.1","addr":"0x0"}',
            '{"driver":"pcie-root-port","port":11,"chassis":7,"id":"pci.7","bus":"pcie.0",'
            '"addr":"0x1.0x3"}',
            '{"driver":"pcie-root-port","port":12,"chassis":8,"id":"pci.8","bus":"pcie.0",'
            '"addr":"0x1.0x4"}',
            '{"driver":"virtio-blk-pci","bus":"pci.3","addr":"0x0","drive":"libvirt-5-format",'
            '"id":"virtio-disk0","bootindex":1}',
            '{"driver":"virtio-blk-pci","bus":"pci.4","addr":"0x0","drive":"libvirt-4-format",'
            '"id":"virtio-disk1"}',
            '{"driver":"virtio-blk-pci","bus":"pci.5","addr":"0x0","drive":"libvirt-3-format",'
            '"id":"virtio-disk2"}',
            '{"driver":"virtio-blk-pci-transitional","bus":"pci.6","addr":"0x1",'
            '"drive":"libvirt-2-format","id":"virtio-disk3"}',
            '{"driver":"virtio-blk-pci","bus":"pci.7","addr":"0x0","drive":"libvirt-1-format",'
            '"id":"virtio-disk4"}',
        ],
    ),
    # three USB disks on the two ports of piix3-uhci: a hub at port 1
    "usb-hub": (
        _HEAD.format(machine="pc")
        + _disk("sda", "usb")
        + _disk("sdb", "usb")
        + _disk("sdc", "usb")
        + "</devices></domain>",
        [
            '{"driver":"piix3-usb-uhci","id":"usb","bus":"pci.0","addr":"0x1.0x2"}',
            '{"driver":"usb-hub","id":"hub0","bus":"usb.0","port":"1"}',
            '{"driver":"usb-storage","bus":"usb.0","port":"2","drive":"libvirt-3-format",'
            '"id":"usb-disk0","bootindex":1,"removable":false}',
            '{"driver":"usb-storage","bus":"usb.0","port":"1.1","drive":"libvirt-2-format",'
            '"id":"usb-disk1","removable":false}',
            '{"driver":"usb-storage","bus":"usb.0","port":"1.2","drive":"libvirt-1-format",'
            '"id":"usb-disk2","removable":false}',
        ],
    ),
    # a tablet takes the port after the disks (libvirt's order: host devices, disks, inputs)
    "usb-tablet": (
        _HEAD.format(machine="q35")
        + "<input type='tablet' bus='usb'/>"
        + _disk("sda", "usb")
        + _disk("sdb", "usb")
        + "</devices></domain>",
        [
            '{"driver":"pcie-root-port","port":8,"chassis":1,"id":"pci.1","bus":"pcie.0",'
            '"multifunction":true,"addr":"0x1"}',
            '{"driver":"pcie-root-port","port":9,"chassis":2,"id":"pci.2","bus":"pcie.0",'
            '"addr":"0x1.0x1"}',
            '{"driver":"pcie-root-port","port":10,"chassis":3,"id":"pci.3","bus":"pcie.0",'
            '"addr":"0x1.0x2"}',
            '{"driver":"qemu-xhci","id":"usb","bus":"pci.1","addr":"0x0"}',
            '{"driver":"usb-storage","bus":"usb.0","port":"1","drive":"libvirt-2-format",'
            '"id":"usb-disk0","bootindex":1,"removable":false}',
            '{"driver":"usb-storage","bus":"usb.0","port":"2","drive":"libvirt-1-format",'
            '"id":"usb-disk1","removable":false}',
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_devices_go_where_libvirt_puts_them(name):
    xml, expected = CASES[name]
    result = analyze(load(xml), "7.2", host=FixedHost())
    assert result.ok, result.findings
    argv = result.argv
    devices = [
        json.loads(value) for flag, value in zip(argv, argv[1:], strict=False) if flag == "-device"
    ]
    assert devices == [json.loads(text) for text in expected]
    assert all(device_driver(json.dumps(d)) for d in devices)


def test_a_declared_bridge_without_an_address():
    # libvirt 9.0 refuses a pcie-to-pci-bridge with no empty root port to take ("Cannot
    # automatically add a new PCI bus for a device with connect flags 2000")
    xml = (
        _HEAD.format(machine="q35")
        + "<controller type='pci' index='1' model='pcie-to-pci-bridge'/>"
        + _disk("vda")
        + "</devices></domain>"
    )
    result = analyze(load(xml), "7.2", host=FixedHost())
    assert [f.code for f in result.findings if f.is_error] == ["VX0205"]
    # a dmi-to-pci-bridge without an address virtxlate does not place: said, left out
    xml = (
        _HEAD.format(machine="q35")
        + "<controller type='pci' index='1' model='dmi-to-pci-bridge'/>"
        + _disk("vda")
        + "</devices></domain>"
    )
    result = analyze(load(xml), "7.2", host=FixedHost())
    assert "VX0902" in {f.code for f in result.findings}


def test_a_written_usb_port_is_kept_and_a_bad_one_refused():
    xml = (
        _HEAD.format(machine="pc")
        + _disk("sda", "usb").replace(
            "</disk>", "<address type='usb' bus='0' port='{port}'/></disk>"
        )
        + "</devices></domain>"
    )
    result = analyze(load(xml.format(port="2")), "7.2", host=FixedHost())
    assert '"port":"2"' in " ".join(result.argv or [])
    refused = analyze(load(xml.format(port="x")), "7.2", host=FixedHost())
    assert [f.code for f in refused.findings if f.is_error] == ["VX0100"]


def _pc_with_virtio_disks(count: int) -> str:
    disks = "".join(_disk(f"vd{chr(97 + i // 26)}{chr(97 + i % 26)}") for i in range(count))
    return _HEAD.format(machine="pc") + disks + "</devices></domain>"


def test_a_full_root_bus_gets_the_pci_bridge_libvirt_adds():
    # libvirt 9.0, 29 virtio disks and its balloon on pc: 30 devices for the 30 free
    # root slots, one of which its dry run keeps for a bridge, so it adds pci-bridge
    # pci.1 at slot 2; the disks take slots 3-31 and the balloon the bridge's slot 1
    result = analyze(load(_pc_with_virtio_disks(29)), "7.2", host=FixedHost())
    assert result.ok, result.findings
    argv = result.argv
    devices = [
        json.loads(value) for flag, value in zip(argv, argv[1:], strict=False) if flag == "-device"
    ]
    assert devices[0] == {
        "driver": "pci-bridge",
        "chassis_nr": 1,
        "id": "pci.1",
        "bus": "pci.0",
        "addr": "0x2",
    }
    slots = sorted(int(d["addr"], 16) for d in devices[1:])
    assert slots == list(range(3, 32)) and {d["bus"] for d in devices[1:]} == {"pci.0"}
    # one disk fewer: the balloon fits, no bridge (also libvirt 9.0's answer)
    fewer = analyze(load(_pc_with_virtio_disks(28)), "7.2", host=FixedHost())
    assert "pci-bridge" not in " ".join(fewer.argv or [])


_Q35_ROOT_PORT = (
    _HEAD.format(machine="q35") + "<controller type='pci' index='0' model="
    "'pcie-root'/><controller type='pci' index='1' model='pcie-root-port'>"
    "{name}{address}</controller><controller type='scsi' index='0' "
    "model='virtio-scsi'><address type='pci' domain='0' bus='1' slot='0' "
    "function='0'/></controller></devices></domain>"
)
_ROOT_SLOT_2 = "<address type='pci' domain='0' bus='0' slot='2' function='0'/>"


@pytest.mark.parametrize(
    "name,address",
    [
        ("", _ROOT_SLOT_2),
        ("", ""),
        ("<model name='ioh3420'/>", ""),
        ("<model name='ioh3420'/>", _ROOT_SLOT_2),
    ],
)
def test_a_root_port_before_qemu_2_9_is_ioh3420(name, address):
    """qemuDomainPCIControllerSetDefaultModelName: a pcie-root-port without <model name>
    is ioh3420 where QEMU has no pcie-root-port device; one without an address still
    carries the bus the devices written behind it name."""
    result = analyze(load(_Q35_ROOT_PORT.format(name=name, address=address)), "2.5")
    assert result.ok and result.graph is not None, result.findings
    drivers = [
        device_driver(word)
        for flag, word in zip(result.argv, result.argv[1:], strict=False)
        if flag == "-device"
    ]
    assert drivers == ["ioh3420", "virtio-scsi-pci"]
    assert any(word.startswith("virtio-scsi-pci,") and "bus=pci.1" in word for word in result.argv)
