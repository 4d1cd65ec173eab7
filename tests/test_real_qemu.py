"""The translation against a real QEMU (Debian's 7.2): the command line runs by itself,
and the post-refactoring structure our 1.5 table describes is the one QEMU builds.

QEMU 7.2 still has the pc-i440fx-1.5 machine type, whose compatibility properties give
virtio-scsi the 1.5 defaults, so the 1.5 command line runs there unchanged.
"""

from __future__ import annotations

import subprocess

import pytest
from conftest import SAMPLES
from qtree import QBus, find_device, parse_qtree

from virtxlate.api import analyze, load
from virtxlate.graph.render import qtree_text

pytestmark = pytest.mark.integration


def _real_qtree(qemu: str, argv: list[str]) -> str:
    command = [qemu, *argv[1:], "-monitor", "stdio"]
    result = subprocess.run(
        command, input="info qtree\nquit\n", capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout.replace("\r", "")
    start = text.index("bus: main-system-bus")
    return text[start : text.rindex("(qemu)")]


def _seed_argv(tmp_path) -> tuple[list[str], object]:
    image = tmp_path / "seed.img"
    image.write_bytes(b"\0" * 1024 * 1024)
    xml = (
        (SAMPLES / "seed-virtio-scsi.xml")
        .read_text()
        .replace("/var/lib/libvirt/images/seed.img", str(image))
    )
    result = analyze(load(xml), "1.5")
    assert result.argv is not None, result.findings
    return result.argv, result.graph


def _chain(bus: QBus, device_type: str, device_id: str) -> list[tuple[str, str, str, str]]:
    """(bus name, bus type, device type, device id) from the root down to one device."""

    def walk(current, path):
        for device in current.devices:
            here = path + [(current.name, current.type, device.type, device.id)]
            if device.type == device_type and device.id == device_id:
                return here
            for child in device.buses:
                found = walk(child, here)
                if found:
                    return found
        return None

    return walk(bus, []) or []


def test_seed_structure_matches_real_qemu(qemu_binary, tmp_path):
    argv, graph = _seed_argv(tmp_path)
    real = parse_qtree(_real_qtree(qemu_binary, argv))
    ours = parse_qtree(qtree_text(graph))
    real_chain = _chain(real, "scsi-hd", "scsi0-0-0-0")
    assert real_chain[1:] == _chain(ours, "scsi-hd", "scsi0-0-0-0")[1:]
    assert [step[2] for step in real_chain[1:]] == [
        "virtio-scsi-pci",
        "virtio-scsi-device",
        "scsi-hd",
    ]
    assert real_chain[0][:2] == ("main-system-bus", "System")


def test_seed_defaults_match_real_qemu(qemu_binary, tmp_path):
    argv, graph = _seed_argv(tmp_path)
    real = parse_qtree(_real_qtree(qemu_binary, argv))
    ours = parse_qtree(qtree_text(graph))
    real_inner = find_device(real, "virtio-scsi-device")
    ours_inner = find_device(ours, "virtio-scsi-device")
    for name, value in ours_inner.props.items():
        # 7.2 prints "1 (0x1)" where 1.x printed "1"
        assert real_inner.props[name].split(" ")[0] == value, name
    real_hd = find_device(real, "scsi-hd", "scsi0-0-0-0")
    assert real_hd.props["drive"] == '"drive-scsi0-0-0-0"'
    for name in ("channel", "scsi-id", "lun"):
        assert (
            real_hd.props[name].split(" ")[0]
            == find_device(ours, "scsi-hd", "scsi0-0-0-0").props[name]
        )
    real_proxy = find_device(real, "virtio-scsi-pci", "scsi0")
    assert real_proxy.props["addr"] == "03.0"


MIXED = """<domain type='qemu'><name>mixed</name><uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <controller type='scsi' index='0' model='virtio-scsi'/>
    <controller type='scsi' index='1' model='lsilogic'/>
    <disk type='file' device='disk'><source file='IMG'/><target dev='sda' bus='scsi'/></disk>
    <disk type='file' device='disk'><source file='IMG'/><target dev='sdh' bus='scsi'/></disk>
    <disk type='file' device='cdrom'><source file='IMG'/><target dev='hdc' bus='ide'/></disk>
    <disk type='file' device='disk'><source file='IMG'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='disk'><source file='IMG'/><target dev='sdz' bus='usb'/></disk>
  </devices></domain>"""


def _compare(ours: QBus, real: QBus, values: bool = False) -> int:
    """Our bus against the real bus of the same place: type, device order, and below;
    with VALUES, every property we show has the value real QEMU shows."""
    assert (real.name, real.type) == (ours.name, ours.type)
    shown = [(d.type, d.id) for d in ours.devices]
    real_devices = [d for d in real.devices if (d.type, d.id) in shown]
    assert [(d.type, d.id) for d in real_devices] == shown, ours.name
    checked = 1
    for mine, theirs in zip(ours.devices, real_devices, strict=True):
        if values:
            for name, value in mine.props.items():
                assert theirs.props.get(name) == value, (mine.type, mine.id, name)
        real_buses = {bus.name: bus for bus in theirs.buses}
        for bus in mine.buses:
            assert bus.name in real_buses, (mine.type, bus.name)
            checked += _compare(bus, real_buses[bus.name], values)
    return checked


@pytest.mark.parametrize("version", ["1.5", "7.2"])
def test_mixed_domain_matches_real_qemu(qemu_binary, tmp_path, version):
    """Bus names, nesting, built-in addresses and device order on every bus we show are
    what real QEMU 7.2 builds for the same command line (with the release's machine type:
    pc-i440fx-1.5 for the -drive era line of 1.5, pc-i440fx-7.2 for -blockdev/JSON)."""
    xml = MIXED
    for number in range(MIXED.count("IMG")):
        image = tmp_path / f"disk{number}.img"
        image.write_bytes(b"\0" * 1024 * 1024)
        xml = xml.replace("IMG", str(image), 1)
    result = analyze(load(xml), version)
    assert result.ok, result.findings
    real = parse_qtree(_real_qtree(qemu_binary, result.argv))
    ours = parse_qtree(qtree_text(result.graph))
    assert _compare(ours, real, values=version == "7.2") >= 9
    first = 3 if version == "1.5" else 2  # the -blockdev era frees slot 2 without video
    for device_type, addr in (
        ("piix3-ide", "01.1"),
        ("piix3-usb-uhci", "01.2"),
        ("lsi53c895a", f"0{first + 1}.0"),
        ("virtio-blk-pci", f"0{first + 2}.0"),
    ):
        assert find_device(real, device_type).props["addr"] == addr
        assert find_device(ours, device_type).props["addr"] == addr


def test_7_2_seed_matches_real_qemu_value_for_value(qemu_binary, tmp_path):
    """The -blockdev/JSON command line for 7.2 runs, and every property virtxlate shows for
    the seed's devices is the value real QEMU 7.2 shows, in its format."""
    image = tmp_path / "seed.img"
    image.write_bytes(b"\0" * 1024 * 1024)
    xml = (
        (SAMPLES / "seed-virtio-scsi.xml")
        .read_text()
        .replace("/var/lib/libvirt/images/seed.img", str(image))
    )
    result = analyze(load(xml), "7.2")
    assert result.ok, result.findings
    assert any(word.startswith('{"driver":"scsi-hd"') for word in result.argv)
    real = parse_qtree(_real_qtree(qemu_binary, result.argv))
    ours = parse_qtree(qtree_text(result.graph))
    assert _chain(real, "scsi-hd", "scsi0-0-0-0")[1:] == _chain(ours, "scsi-hd", "scsi0-0-0-0")[1:]
    compared = 0
    for device_type, device_id in (
        ("virtio-scsi-pci", "scsi0"),
        ("virtio-scsi-device", None),
        ("scsi-hd", "scsi0-0-0-0"),
    ):
        mine = find_device(ours, device_type, device_id)
        theirs = find_device(real, device_type, device_id)
        for name, value in mine.props.items():
            assert theirs.props.get(name) == value, (device_type, name)
            compared += 1
    assert compared >= 60
