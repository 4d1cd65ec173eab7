"""Values libvirt takes as not written when empty: a video card's type, heads and sizes,
an interface's mtu size, a memory size's unit.  libvirt 9.0 leaves them to their defaults
and QEMU starts; check refused them (VX0100, VX0101).  (An empty machine:
tests/test_empty_machine.py.)  The integration tests ask libvirt for each case."""

from __future__ import annotations

import pytest
from conftest import run_cli, virsh_run

DOMAIN = """<domain type='qemu'><name>e</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
{device}
</devices></domain>
"""
# the device, and the -device value libvirt 9.0 writes for it
CASES = [
    (
        "<video><model type='vga' vram=''/></video>",
        '{"driver":"VGA","id":"video0","vgamem_mb":16,"bus":"pci.0","addr":"0x2"}',
    ),
    (
        "<video><model type='vga' heads=''/></video>",
        '{"driver":"VGA","id":"video0","vgamem_mb":16,"bus":"pci.0","addr":"0x2"}',
    ),
    (
        "<video><model type='' heads='1'/></video>",
        '{"driver":"cirrus-vga","id":"video0","bus":"pci.0","addr":"0x2"}',
    ),
    (
        "<video><model type='qxl' ram='' vgamem=''/></video>",
        '{"driver":"qxl-vga","id":"video0","max_outputs":1,"ram_size":67108864,'
        '"vram_size":67108864,"vram64_size_mb":0,"vgamem_mb":16,"bus":"pci.0","addr":"0x2"}',
    ),
    (
        "<interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/>"
        "<mtu size=''/></interface>",
        '{"driver":"virtio-net-pci","netdev":"hostnet0","id":"net0",'
        '"mac":"52:54:00:00:00:01","bus":"pci.0","addr":"0x2"}',
    ),
]


def _write(tmp_path, device: str):
    path = tmp_path / "d.xml"
    path.write_text(DOMAIN.format(device=device))
    return path


@pytest.mark.parametrize(("device", "written"), CASES)
def test_an_empty_value_is_left_to_its_default(tmp_path, device, written):
    path = _write(tmp_path, device)
    result = run_cli("check", str(path), "--qemu", "7.2")
    assert (result.returncode, result.stdout) == (0, f"{path}: no findings\n")
    lines = run_cli("argv", str(path), "--qemu", "7.2", "--format", "lines").stdout
    assert f"-device '{written}'" in lines.splitlines()


@pytest.mark.integration
@pytest.mark.parametrize(("device", "written"), CASES)
def test_libvirt_leaves_them_to_their_defaults(tmp_path, virsh, device, written):
    answer = virsh_run(virsh, "domxml-to-native", "qemu-argv", str(_write(tmp_path, device)))
    assert answer.returncode == 0, answer.stderr
    assert f"-device '{written}'" in answer.stdout


MEMORY = """<domain type='qemu'><name>m</name><memory unit=''>268435</memory>
<currentMemory unit=''>268435</currentMemory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>
"""


def test_an_empty_memory_unit_is_kib(tmp_path):
    """unit='' is libvirt's default unit, KiB: 268435 KiB is -m 263 (MiB, rounded up)."""
    path = tmp_path / "d.xml"
    path.write_text(MEMORY)
    result = run_cli("check", str(path), "--qemu", "7.2")
    assert (result.returncode, result.stdout) == (0, f"{path}: no findings\n")
    assert "-m 263" in run_cli("argv", str(path), "--qemu", "7.2", "--format", "lines").stdout


@pytest.mark.integration
def test_libvirt_reads_an_empty_memory_unit_as_kib(tmp_path, virsh):
    path = tmp_path / "d.xml"
    path.write_text(MEMORY)
    answer = virsh_run(virsh, "domxml-to-native", "qemu-argv", str(path))
    assert answer.returncode == 0, answer.stderr
    assert " -m 263 " in answer.stdout.replace("\n", " ")
