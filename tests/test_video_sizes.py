"""The sizes of a video card's <model> that libvirt refuses (VX0248): ram, vram64 and
vgamem are qxl's alone (virDomainVideoDefValidate), qxl's limits and a vga/vmvga vram of
at least 1 MiB (qemuValidateDomainDeviceDefVideo).  Each case's message is what libvirt
9.0 answered; the integration test asks it again, and for the accepted ones that it
accepts them."""

from __future__ import annotations

import pytest
from conftest import run_cli, virsh_run

DOMAIN = """<domain type='qemu'><name>v</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
<video><model type='{kind}' {sizes} heads='1'/></video>
</devices></domain>
"""

REFUSED = [
    ("vga", "vgamem='16384'", "vgamem attribute only supported for video type qxl"),
    ("virtio", "vgamem='1024'", "vgamem attribute only supported for video type qxl"),
    ("vga", "ram='65536'", "ram attribute only supported for video type qxl"),
    ("vga", "vram64='65536'", "vram64 attribute only supported for video type qxl"),
    ("vga", "vram='512'", "value for 'vram' must be at least 1 MiB (1024 KiB)"),
    ("vmvga", "vram='512'", "value for 'vram' must be at least 1 MiB (1024 KiB)"),
    ("qxl", "vgamem='512'", "value for 'vgamem' must be at least 1 MiB (1024 KiB)"),
    ("qxl", "vgamem='3072'", "value for 'vgamem' must be power of two"),
    ("qxl", "vram='4194304'", "value for 'vram' must be less than '4194303'"),
    ("qxl", "ram='4194304'", "value for 'ram' must be less than '4194303'"),
]
ACCEPTED = [
    ("vga", "vram='1025'"),
    ("vga", "vgamem='0'"),
    ("qxl", "vgamem='0'"),
    ("qxl", "vgamem='16384' ram='65536' vram64='65536'"),
    ("virtio", "vram='512'"),
    ("cirrus", "vram='512'"),
]


def _write(tmp_path, kind: str, sizes: str):
    path = tmp_path / "d.xml"
    path.write_text(DOMAIN.format(kind=kind, sizes=sizes))
    return path


@pytest.mark.parametrize(("kind", "sizes", "message"), REFUSED)
def test_check_refuses_the_sizes_libvirt_refuses(tmp_path, kind, sizes, message):
    path = _write(tmp_path, kind, sizes)
    result = run_cli("check", str(path), "--qemu", "7.2")
    assert result.returncode == 1
    assert f"error: VX0248: {message} (libvirt)" in result.stdout
    attribute = sizes.split("=")[0]
    assert f"at /domain/devices/video/model/@{attribute}" in result.stdout


@pytest.mark.parametrize(("kind", "sizes"), ACCEPTED)
def test_check_accepts_the_sizes_libvirt_accepts(tmp_path, kind, sizes):
    path = _write(tmp_path, kind, sizes)
    result = run_cli("check", str(path), "--qemu", "7.2")
    assert (result.returncode, result.stdout) == (0, f"{path}: no findings\n")


@pytest.mark.integration
@pytest.mark.parametrize(
    ("kind", "sizes", "message"), REFUSED + [(k, s, None) for k, s in ACCEPTED]
)
def test_libvirt_answers_so(tmp_path, virsh, kind, sizes, message):
    answer = virsh_run(virsh, "domxml-to-native", "qemu-argv", str(_write(tmp_path, kind, sizes)))
    if message is None:
        assert answer.returncode == 0, answer.stderr
    else:
        assert answer.returncode != 0 and message in answer.stderr
