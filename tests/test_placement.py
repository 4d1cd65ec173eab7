"""Where libvirt 9.0 puts storage: what is not a case of tests/cases (a domain in, libvirt's
command line out; declared root ports, USB hubs and ports, the pci-bridge of a full root bus
are there, tests/test_cases.py compares them): a gap virtxlate says, and the root port of
QEMU releases libvirt 9.0's own QEMU cannot stand in for.
tests/test_libvirt_defined.py asks the running libvirt the same for many more."""

from __future__ import annotations

import pytest
from cases_support import CASES as CASE_FOLDER

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


# tests/test_libvirt_defined.py asks the running libvirt about these domains (name → (XML,
# unused)); they were this file's cases and are now cases of tests/cases
CASES = {
    name: ((CASE_FOLDER / f"{name}.xml").read_text(), None)
    for name in ("declared-root-ports-q35", "usb-hub-pc", "usb-tablet-q35")
}


def test_a_dmi_to_pci_bridge_without_an_address_is_left_out():
    # a dmi-to-pci-bridge without an address virtxlate does not place: said, left out
    # (its pcie-to-pci-bridge sibling libvirt refuses: tests/cases/
    # pcie-to-pci-bridge-no-root-port-q35)
    xml = (
        _HEAD.format(machine="q35")
        + "<controller type='pci' index='1' model='dmi-to-pci-bridge'/>"
        + _disk("vda")
        + "</devices></domain>"
    )
    result = analyze(load(xml), "7.2", host=FixedHost())
    assert "VX0902" in {f.code for f in result.findings}


_Q35_ROOT_PORT = (
    _HEAD.format(machine="q35") + "<controller type='pci' index='0' model="
    "'pcie-root'/><controller type='pci' index='1' model='pcie-root-port'>"
    "{name}{address}</controller><controller type='scsi' index='0' "
    "model='virtio-scsi'><address type='pci' domain='0' bus='1' slot='0' "
    "function='0'/></controller><memballoon model='none'/></devices></domain>"
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
    # (nec-usb-xhci: libvirt's default USB controller for q35 before qemu-xhci, 2.9)
    assert drivers == ["ioh3420", "nec-usb-xhci", "virtio-scsi-pci"]
    assert any(word.startswith("virtio-scsi-pci,") and "bus=pci.1" in word for word in result.argv)
