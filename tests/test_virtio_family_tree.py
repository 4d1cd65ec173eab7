"""The seed's refactoring for the rest of its virtio family: `tree --qemu 1.2` against
`--qemu 1.5` of a guest with a NIC, the balloon, an RNG and a 9p share.

QEMU 1.5 split every virtio PCI device into a transport proxy and its device on the
proxy's `virtio-bus` (../shared/qemu-caps/QOM-FACTS.md sections 1 and 2: virtio-net-device,
virtio-balloon-device, virtio-rng-device and virtio-9p-device exist from 1.5); QEMU 1.2 has
the PCI devices alone and no virtio-rng-pci at all (it came in 1.3).  The trees are checked
against the capability tables of both releases.
"""

from __future__ import annotations

from virtxlate import caps
from virtxlate.api import analyze, load
from virtxlate.graph.render import graph_json

_GUEST = """<domain type='qemu'><name>family</name><memory unit='MiB'>256</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>
<interface type='user'><mac address='52:54:00:00:70:01'/><model type='virtio'/></interface>
<memballoon model='virtio'/>{rng}
<filesystem type='mount' accessmode='mapped'><source dir='/srv'/><target dir='srv'/>
</filesystem></devices></domain>"""
_RNG = "<rng model='virtio'><backend model='random'/></rng>"
# proxy → (its id, the device 1.5 puts on its virtio-bus)
FAMILY = {
    "virtio-net-pci": ("net0", "virtio-net-device"),
    "virtio-balloon-pci": ("balloon0", "virtio-balloon-device"),
    "virtio-9p-pci": ("fs0", "virtio-9p-device"),
    "virtio-rng-pci": ("rng0", "virtio-rng-device"),
}


def _on_pci(release: str, rng: str) -> dict[str, dict]:
    result = analyze(load(_GUEST.format(rng=rng)), release)
    assert result.graph is not None, [f.message for f in result.findings]
    host = graph_json(result.graph)["root"]["devices"]
    pci = next(d for d in host if d["type"] == "i440FX-pcihost")["buses"][0]
    return {d["type"]: d for d in pci["devices"]}


def test_before_the_refactoring_the_pci_devices_stand_alone():
    table = caps.load("1.2")
    found = _on_pci("1.2", rng="")
    for proxy in ("virtio-net-pci", "virtio-balloon-pci", "virtio-9p-pci"):
        device_id, inner = FAMILY[proxy]
        assert found[proxy]["id"] == device_id
        assert found[proxy]["buses"] == []
        assert table.device(proxy).embeds is None and not table.has_device(inner)


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
