"""<interface> variants the generated guests do not draw (boot order, queues, offloads,
<rom>, <mtu>, explicit MAC): virtxlate's NIC options equal libvirt 9.0's once
tests/runtime_only.py put both in the dry run's form (a tap, no bootindex)."""

from __future__ import annotations

import pytest
from runtime_only import normalise
from test_whole_domain import libvirt_line, options

from virtxlate.api import analyze, load

pytestmark = pytest.mark.integration

_DOMAIN = (
    "<domain type='kvm'><name>g</name><memory>262144</memory>"
    "<os><type arch='x86_64' machine='{machine}'>hvm</type></os>"
    "<devices>{devices}</devices></domain>"
)
_DISK = (
    "<disk type='file' device='disk'><source file='/x.img'/>"
    "<target dev='vda' bus='virtio'/><boot order='2'/></disk>"
)
_INTERFACES = [
    "<interface type='user'><model type='e1000e'/><boot order='1'/><rom bar='off'/></interface>",
    f"{_DISK}<interface type='user'><boot order='1'/></interface>"
    "<interface type='network'><source network='default'/><model type='virtio'/>"
    "<boot order='3'/></interface>",
    "<interface type='user'><model type='virtio'/><driver queues='4' rx_queue_size='512'/>"
    "</interface>",
    "<interface type='ethernet'><target dev='tap7' managed='no'/><model type='virtio'/>"
    "<mtu size='9000'/></interface>",
    "<interface type='bridge'><mac address='52:54:00:11:22:33'/><source bridge='br0'/>"
    "<model type='virtio'/><driver iommu='on' ats='on' packed='on'/></interface>",
    "<interface type='mcast'><source address='230.0.0.1' port='5558'/>"
    "<model type='rtl8139'/></interface>",
    "<interface type='udp'><source address='192.168.10.1' port='5555'>"
    "<local address='192.168.10.1' port='5556'/></source><model type='virtio'/></interface>",
    "<interface type='server'><source address='127.0.0.1' port='5558'/></interface>",
    "<interface type='client'><source address='127.0.0.1' port='5558'/>"
    "<model type='e1000'/></interface>",
]


@pytest.mark.parametrize("machine", ["pc", "q35"])
@pytest.mark.parametrize("devices", _INTERFACES)
def test_interface_options_are_libvirts(virsh, machine, devices):
    xml = _DOMAIN.format(machine=machine, devices=devices)
    domain = load(xml)
    result = analyze(domain, "7.2")
    theirs, refusal = libvirt_line(xml)
    assert theirs is not None, refusal
    assert result.argv, [f.message for f in result.findings]
    ours = [o for o in options(normalise(list(result.argv), domain)) if o[0] == "interface"]
    libvirts = [o for o in options(normalise(list(theirs), domain)) if o[0] == "interface"]
    assert ours and ours == libvirts


# The socket back-ends the dry run replaces by a tap, as libvirt's own test suite has
# them for QEMU 7.x (tests/qemuxml2argvdata/net-{mcast,udp,server}.x86_64-latest.args)
_SOCKETS = [
    (
        "<interface type='mcast'><source address='192.0.0.1' port='5558'/></interface>",
        '{"type":"socket","mcast":"192.0.0.1:5558","id":"hostnet0"}',
    ),
    (
        "<interface type='udp'><source address='192.168.10.1' port='5555'>"
        "<local address='192.168.10.1' port='5556'/></source></interface>",
        '{"type":"socket","udp":"192.168.10.1:5555","localaddr":"192.168.10.1:5556",'
        '"id":"hostnet0"}',
    ),
    (
        "<interface type='server'><source address='192.168.0.1' port='5558'/></interface>",
        '{"type":"socket","listen":"192.168.0.1:5558","id":"hostnet0"}',
    ),
]


@pytest.mark.parametrize(("interface", "netdev"), _SOCKETS)
def test_socket_netdev_is_libvirts(interface, netdev):
    result = analyze(load(_DOMAIN.format(machine="pc", devices=interface)), "7.2")
    assert result.ok
    index = result.argv.index("-netdev")
    assert result.argv[index + 1] == netdev
