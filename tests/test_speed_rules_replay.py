"""q35's second placement pass, replayed: the same Placement as running every step again.

When libvirt's dry run adds a pcie-pci-bridge, assign replays the places the first pass
took against new root ports instead of running every step a second time (a speed-up,
issue 18).  These tests run both on the same domains and ask for equal results, so a
step whose outcome the replay does not carry over fails here.
"""

from __future__ import annotations

import pytest

from virtxlate import caps
from virtxlate.api import load
from virtxlate.placement.assign import Placement, _Pass, assign

_HEAD = (
    "<domain type='kvm'><name>r</name><memory unit='MiB'>512</memory>"
    "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
    "<emulator>/usr/bin/qemu-system-x86_64</emulator>"
)
_LSI = "<controller type='scsi' index='0' model='lsilogic'/>"  # conventional: a bridge


def _disk(dev: str, bus: str) -> str:
    return (
        f"<disk type='file' device='disk'><source file='/img/{dev}.img'/>"
        f"<target dev='{dev}' bus='{bus}'/></disk>"
    )


DOMAINS = {
    "scsi and virtio disks": _LSI + _disk("sda", "scsi") + _disk("vda", "virtio"),
    "usb.0 declared": _LSI
    + "<controller type='usb' index='0' model='qemu-xhci'/>"
    + _disk("vda", "virtio")
    + _disk("sdb", "usb"),
    "ich9 usb2 set": _LSI
    + "<controller type='usb' index='0' model='ich9-ehci1'/>"
    + "<controller type='usb' index='0' model='ich9-uhci1'/>"
    + _disk("vda", "virtio"),
    "usb.0 a conventional controller": "<controller type='usb' index='0' model='pci-ohci'/>"
    + _disk("vda", "virtio"),
    "declared root ports": _LSI
    + "<controller type='pci' index='1' model='pcie-root-port'/>"
    + "<controller type='pci' index='2' model='pcie-root-port'/>"
    + _disk("vda", "virtio")
    + "<interface type='user'><model type='e1000'/></interface>",
    "many devices": _LSI
    + "<controller type='scsi' index='1' model='virtio-scsi'/>"
    + "<interface type='user'><model type='rtl8139'/></interface>"
    + "<interface type='user'><model type='virtio'/></interface>"
    + "<sound model='ich9'/><sound model='ac97'/>"
    + "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
    + "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>"
    + "<watchdog model='i6300esb'/><video><model type='qxl'/></video><graphics type='vnc'/>"
    + _disk("vda", "virtio")
    + _disk("vdb", "virtio")
    + _disk("sda", "scsi"),
    "a written address on an undeclared bus": _LSI
    + "<disk type='file' device='disk'><source file='/img/w.img'/>"
    + "<target dev='vdz' bus='virtio'/>"
    + "<address type='pci' domain='0' bus='4' slot='0' function='0'/></disk>"
    + _disk("vda", "virtio"),
}


def _fields(placement: Placement) -> dict[str, object]:
    fields = {name: getattr(placement, name) for name in Placement._FIELDS}
    fields["places"] = list(placement.places.items())  # the order counts too
    return fields


@pytest.mark.parametrize("release", ["7.2", "4.2"])
@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_the_replayed_pass_places_as_every_step_does(name: str, release: str) -> None:
    domain = load(_HEAD + DOMAINS[name] + "</devices></domain>")
    table = caps.load(release)
    machine = table.machine(domain.machine)
    assert machine is not None
    family = table.family_of(machine)
    first = _Pass(domain, table, machine, family, None, 0)
    first.run()
    assert first.again is not None, "the domain must need the pcie-pci-bridge"
    full = _Pass(domain, table, machine, family, *first.again)  # every step again
    full.run()
    assert full.again is None
    replayed = assign(domain, table)
    assert _fields(replayed) == _fields(full.result())
    options = [option.implied for option in replayed.pci_controllers]
    assert "pcie-pci-bridge" in options
