"""Values libvirt takes as not written: an empty video type, heads or size, an empty mtu
size, an empty memory unit (KiB), an empty machine (the arch's default), a chardev's
target port -1 (assigned).  libvirt 9.0 leaves them to their defaults and QEMU starts;
check refused them (VX0100, VX0101, VX0301, VX0221).  Each case: the domain, and a
word libvirt 9.0 writes for it on its line (argv --format lines shows it whole); the
integration test asks libvirt again."""

from __future__ import annotations

import pytest
from conftest import run_cli, virsh_run

DOMAIN = """<domain type='qemu'><name>e</name><memory unit='{unit}'>262144</memory>
<vcpu>1</vcpu><os><type arch='x86_64' machine='{machine}'>hvm</type></os>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
{device}
</devices></domain>
"""
VGA = '-device \'{"driver":"VGA","id":"video0","vgamem_mb":16,"bus":"pci.0","addr":"0x2"}\''
CASES = [
    ({"device": "<video><model type='vga' vram=''/></video>"}, VGA),
    ({"device": "<video><model type='vga' heads=''/></video>"}, VGA),
    (
        {"device": "<video><model type='' heads='1'/></video>"},
        '-device \'{"driver":"cirrus-vga","id":"video0","bus":"pci.0","addr":"0x2"}\'',
    ),
    (
        {"device": "<video><model type='qxl' ram='' vgamem=''/></video>"},
        '-device \'{"driver":"qxl-vga","id":"video0","max_outputs":1,'
        '"ram_size":67108864,"vram_size":67108864,"vram64_size_mb":0,'
        '"vgamem_mb":16,"bus":"pci.0","addr":"0x2"}\'',
    ),
    (
        {
            "device": "<interface type='user'><mac address='52:54:00:00:00:01'/>"
            "<model type='virtio'/><mtu size=''/></interface>"
        },
        '-device \'{"driver":"virtio-net-pci","netdev":"hostnet0","id":"net0",'
        '"mac":"52:54:00:00:00:01","bus":"pci.0","addr":"0x2"}\'',
    ),
    ({"unit": ""}, "-m 256"),  # 262144 KiB
    ({"machine": ""}, "-machine pc-i440fx-7.2,usb=off,dump-guest-core=off,memory-backend=pc.ram"),
    (
        {"device": "<serial type='pty'><target type='isa-serial' port='-1'/></serial>"},
        '-device \'{"driver":"isa-serial","chardev":"charserial0","id":"serial0","index":0}\'',
    ),
]
IDS = [next(iter(change.values())) or f"{next(iter(change))}=''" for change, _ in CASES]


def _write(tmp_path, change: dict[str, str]):
    path = tmp_path / "d.xml"
    path.write_text(DOMAIN.format(**{"unit": "KiB", "machine": "pc", "device": "", **change}))
    return path


@pytest.mark.parametrize(("change", "written"), CASES, ids=IDS)
def test_a_value_libvirt_takes_as_not_written(tmp_path, change, written):
    path = _write(tmp_path, change)
    result = run_cli("check", str(path), "--qemu", "7.2")
    assert (result.returncode, result.stdout) == (0, f"{path}: no findings\n")
    lines = run_cli("argv", str(path), "--qemu", "7.2", "--format", "lines").stdout
    assert written in lines.splitlines()


@pytest.mark.integration
@pytest.mark.parametrize(("change", "written"), CASES, ids=IDS)
def test_libvirt_takes_them_as_not_written(tmp_path, virsh, change, written):
    answer = virsh_run(virsh, "domxml-to-native", "qemu-argv", str(_write(tmp_path, change)))
    assert answer.returncode == 0, answer.stderr
    assert f" {written} " in " ".join(answer.stdout.split()) + " "
