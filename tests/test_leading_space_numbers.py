"""Numbers the schema checks (addresses, a controller's index) read as libvirt's strtoul
reads them: white space before the number is skipped, white space after it is refused.
check refused unit=' 1' (VX0101) where libvirt 9.0 writes unit 1 and QEMU starts.  The
integration test asks libvirt for each case."""

from __future__ import annotations

import pytest
from conftest import run_cli, virsh_run

DOMAIN = """<domain type='qemu'><name>s</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
<controller type='scsi' index='{index}' model='virtio-scsi'>
<address type='pci' domain='0x0000' bus='0x00' slot='{slot}' function='0x0'/></controller>
<disk type='file' device='disk'><driver name='qemu' type='raw'/>
<source file='/var/lib/libvirt/images/a.img'/><target dev='sda' bus='scsi'/>
<address type='drive' controller='0' bus='0' target='0' unit='{unit}'/></disk>
</devices></domain>
"""
BASE = {"index": "0", "slot": "0x05", "unit": "1"}
CASES = [
    ({"unit": " 1"}, True),
    ({"slot": " 0x05"}, True),
    ({"index": " 0"}, True),
    ({"unit": "1 "}, False),
    ({"slot": "0x05 "}, False),
    ({"index": "0 "}, False),
]


def _write(tmp_path, change: dict[str, str]):
    path = tmp_path / "d.xml"
    path.write_text(DOMAIN.format(**{**BASE, **change}))
    return path


@pytest.mark.parametrize(("change", "accepted"), CASES, ids=[repr(c[0]) for c in CASES])
def test_white_space_before_a_number_is_skipped_after_it_refused(tmp_path, change, accepted):
    path = _write(tmp_path, change)
    result = run_cli("check", str(path), "--qemu", "7.2")
    if accepted:
        assert (result.returncode, result.stdout) == (0, f"{path}: no findings\n")
        argv = run_cli("argv", str(path), "--qemu", "7.2", "--format", "lines").stdout
        assert '"lun":1' in argv and '"addr":"0x5"' in argv
    else:
        assert result.returncode == 1
        assert "error: VX0101" in result.stdout


@pytest.mark.integration
@pytest.mark.parametrize(("change", "accepted"), CASES, ids=[repr(c[0]) for c in CASES])
def test_libvirt_reads_them_so(tmp_path, virsh, change, accepted):
    answer = virsh_run(virsh, "domxml-to-native", "qemu-argv", str(_write(tmp_path, change)))
    assert (answer.returncode == 0) == accepted, answer.stderr
