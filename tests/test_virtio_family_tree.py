"""The seed's refactoring for the rest of its virtio family: `tree --qemu 1.2` against
`--qemu 1.5` of a guest with a NIC, the balloon, an RNG, a virtio-serial controller with a
channel and a console, and a 9p share.

QEMU 1.5 split every virtio PCI device into a transport proxy and its device on the
proxy's `virtio-bus` (../shared/qemu-caps/QOM-FACTS.md sections 1 and 2: virtio-net-device,
virtio-balloon-device, virtio-rng-device and virtio-9p-device exist from 1.5); QEMU 1.2 has
the PCI devices alone and no virtio-rng-pci at all (it came in 1.3).  The virtio-serial
bus, named after the controller's id, belongs to virtio-serial-pci in 1.2 and to its
virtio-serial-device from 1.5; the ports plug into it in both.  The trees are checked
against the capability tables of both releases, made from what QEMU 1.2.2 and 1.5.3
answered libvirt.
"""

from __future__ import annotations

from conftest import run_cli

from virtxlate import caps
from virtxlate.api import analyze, check, load
from virtxlate.graph.render import graph_json

_GUEST = """<domain type='qemu'><name>family</name><memory unit='MiB'>256</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>
<interface type='user'><mac address='52:54:00:00:70:01'/><model type='virtio'/></interface>
<memballoon model='virtio'/>{rng}
<controller type='virtio-serial' index='0'/>
<channel type='pty'><target type='virtio' name='org.x'/></channel>
<console type='pty'><target type='virtio'/></console>
<filesystem type='mount' accessmode='mapped'><source dir='/srv'/><target dir='srv'/>
</filesystem></devices></domain>"""
_RNG = "<rng model='virtio'><backend model='random'/></rng>"
# proxy → (its id, the device 1.5 puts on its virtio-bus)
FAMILY = {
    "virtio-net-pci": ("net0", "virtio-net-device"),
    "virtio-balloon-pci": ("balloon0", "virtio-balloon-device"),
    "virtio-9p-pci": ("fs0", "virtio-9p-device"),
    "virtio-rng-pci": ("rng0", "virtio-rng-device"),
    "virtio-serial-pci": ("virtio-serial0", "virtio-serial-device"),
}
# the ports on the controller's bus, as qtree lists them (the newest first)
_PORTS = [("virtconsole", "console0"), ("virtserialport", "channel0")]


def _on_pci(release: str, rng: str) -> dict[str, dict]:
    result = analyze(load(_GUEST.format(rng=rng)), release)
    assert result.graph is not None, [f.message for f in result.findings]
    host = graph_json(result.graph)["root"]["devices"]
    pci = next(d for d in host if d["type"] == "i440FX-pcihost")["buses"][0]
    return {d["type"]: d for d in pci["devices"]}


def _ports_on(bus: dict, table: caps.CapsTable) -> None:
    """BUS is the controller's virtio-serial bus with the channel and the console on it,
    the type the table says the ports plug into."""
    assert (bus["name"], bus["type"]) == ("virtio-serial0.0", "virtio-serial-bus")
    assert [(d["type"], d["id"]) for d in bus["devices"]] == _PORTS
    for port, _ in _PORTS:
        assert table.device(port).plugs_into == "virtio-serial-bus"


def test_before_the_refactoring_the_pci_devices_stand_alone():
    table = caps.load("1.2")
    found = _on_pci("1.2", rng="")
    for proxy in ("virtio-net-pci", "virtio-balloon-pci", "virtio-9p-pci", "virtio-serial-pci"):
        device_id, inner = FAMILY[proxy]
        assert found[proxy]["id"] == device_id
        assert table.device(proxy).embeds is None and not table.has_device(inner)
        assert table.device(proxy).parent == "pci-device"
        if proxy != "virtio-serial-pci":
            assert found[proxy]["buses"] == []
    # the controller itself owns the bus its ports plug into
    (bus,) = found["virtio-serial-pci"]["buses"]
    _ports_on(bus, table)
    (spec,) = table.device("virtio-serial-pci").buses
    assert (spec.bus_type, spec.name_for("virtio-serial0")) == ("virtio-serial-bus", bus["name"])


def test_qemu_1_2_has_no_rng_and_says_since_when():
    result = analyze(load(_GUEST.format(rng=_RNG)), "1.2")
    refused = [f for f in result.findings if f.is_error]
    assert [(f.code, f.since) for f in refused] == [("VX0303", "1.3")]
    assert "'virtio-rng-pci'" in refused[0].message


def test_from_1_5_each_device_hangs_on_its_proxys_virtio_bus():
    table = caps.load("1.5")
    found = _on_pci("1.5", rng=_RNG)
    for proxy, (device_id, inner) in FAMILY.items():
        assert found[proxy]["id"] == device_id
        (bus,) = found[proxy]["buses"]
        assert (bus["name"], bus["type"]) == ("virtio-bus", "virtio-pci-bus")
        assert [(d["type"], d["id"]) for d in bus["devices"]] == [(inner, None)]
        assert table.device(proxy).embeds == inner
        assert table.device(inner).plugs_into == "virtio-bus"
    # the virtio-serial bus moved to the virtio-serial-device, its ports with it
    (virtio_bus,) = found["virtio-serial-pci"]["buses"]
    (device,) = virtio_bus["devices"]
    (bus,) = device["buses"]
    _ports_on(bus, table)
    (spec,) = table.device("virtio-serial-device").buses
    assert spec.name_for(None, "virtio-serial0") == bus["name"]


# the reproducer: what every virt-install guest has besides its disks
_REPRODUCER = """<domain type='qemu'><name>g</name><memory>262144</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>
<interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/></interface>
<memballoon model='virtio'/>
<controller type='virtio-serial'/>
<channel type='pty'><target type='virtio' name='org.x'/></channel>
<filesystem type='mount'><source dir='/tmp'/><target dir='tag'/></filesystem>
</devices></domain>"""


def test_qemu_1_2_takes_the_reproducer_check_tree_and_argv(tmp_path):
    """QEMU 1.2.2 listed virtserialport (libvirt's replies): check, tree and argv all
    accept the guest, with no VX0307 'not known' warning."""
    path = tmp_path / "g.xml"
    path.write_text(_REPRODUCER)
    for command in ("check", "tree", "argv"):
        done = run_cli(command, str(path), "--qemu", "1.2")
        assert done.returncode == 0, (command, done.stderr)
        assert "VX03" not in done.stdout + done.stderr, command
        if command == "tree":
            assert 'dev: virtserialport, id "channel0"' in done.stdout
    common, per_release = check(load(_REPRODUCER), ["1.2"])
    assert common + per_release[0][1] == []


def test_the_virtserialport_is_on_the_bus_at_1_5():
    """1.5's table (its replies list virtserialport, without a bus) plugs it into the
    virtio-serial bus: the port is in the tree, not left out."""
    graph = graph_json(analyze(load(_REPRODUCER), "1.5").graph)
    host = graph["root"]["devices"][0]["buses"][0]["devices"]
    proxy = next(d for d in host if d["type"] == "virtio-serial-pci")
    (serial_device,) = proxy["buses"][0]["devices"]
    (bus,) = serial_device["buses"]
    assert [(d["type"], d["id"]) for d in bus["devices"]] == [("virtserialport", "channel0")]
