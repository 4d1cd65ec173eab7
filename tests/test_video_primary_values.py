"""<video><model primary>: 'yes' makes a card primary, and libvirt takes any other value
as no without a word (virDomainVideoModelDefParseXML).  check refused primary='x' with
VX0100 where libvirt and QEMU go on.  With a qxl card first and a vga card second, only
primary='yes' on the vga card is a domain libvirt 9.0 accepts; every other value leaves
vga secondary, which libvirt refuses (VX0240).  The integration test asks libvirt."""

from __future__ import annotations

import pytest
from conftest import run_cli, virsh_run

DOMAIN = """<domain type='qemu'><name>p</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
<video><model type='qxl' heads='1'/></video>
<video><model type='vga' heads='1' primary='{value}'/></video>
</devices></domain>
"""
SECONDARY = "video type 'vga' is only valid as primary video device"
VALUES = [("yes", True), ("no", False), ("x", False), ("", False), ("YES", False)]


@pytest.mark.parametrize(("value", "primary"), VALUES)
def test_only_yes_makes_a_card_primary(tmp_path, value, primary):
    path = tmp_path / "d.xml"
    path.write_text(DOMAIN.format(value=value))
    result = run_cli("check", str(path), "--qemu", "7.2")
    if primary:
        assert (result.returncode, result.stdout) == (0, f"{path}: no findings\n")
    else:
        assert result.returncode == 1
        assert f"error: VX0240: {SECONDARY} (libvirt)" in result.stdout
        assert "VX0100" not in result.stdout


@pytest.mark.integration
@pytest.mark.parametrize(("value", "primary"), VALUES)
def test_libvirt_reads_primary_so(tmp_path, virsh, value, primary):
    path = tmp_path / "d.xml"
    path.write_text(DOMAIN.format(value=value))
    answer = virsh_run(virsh, "domxml-to-native", "qemu-argv", str(path))
    if primary:
        assert answer.returncode == 0, answer.stderr
    else:
        assert answer.returncode != 0 and SECONDARY in answer.stderr
