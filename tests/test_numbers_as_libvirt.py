"""A number in the XML reads as libvirt reads it (virStrToLong_* with no end pointer):
white space before it is skipped; white space after it, and digits outside ASCII that
Python's int() would take, are refused.  Each case is what libvirt 9.0 answered for
<interface><driver queues='…'/>; the integration test asks it again."""

from __future__ import annotations

import pytest
from conftest import run_cli, virsh_run

DOMAIN = """<domain type='qemu'><name>n</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
<interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/>
<driver queues='{value}'/></interface>
</devices></domain>
"""

# value → whether libvirt 9.0 accepts it ("Invalid value for attribute 'queues' in
# element 'driver': '2 '. Expected non-negative integer value" where it does not)
CASES = [("2", True), (" 2", True), ("2 ", False), (" 2 ", False), ("２", False), ("٢", False)]


@pytest.mark.parametrize(("value", "accepted"), CASES, ids=[repr(c[0]) for c in CASES])
def test_check_reads_a_number_as_libvirt_does(tmp_path, value, accepted):
    path = tmp_path / "d.xml"
    path.write_text(DOMAIN.format(value=value), encoding="utf-8")
    result = run_cli("check", str(path), "--qemu", "7.2")
    if accepted:
        assert (result.returncode, result.stdout) == (0, f"{path}: no findings\n")
    else:
        assert result.returncode == 1
        assert f"error: VX0100: @queues of <driver> is '{value}': expected an integer" in (
            result.stdout
        )


@pytest.mark.integration
@pytest.mark.parametrize(("value", "accepted"), CASES, ids=[repr(c[0]) for c in CASES])
def test_libvirt_reads_those_numbers_so(tmp_path, virsh, value, accepted):
    path = tmp_path / "d.xml"
    path.write_text(DOMAIN.format(value=value), encoding="utf-8")
    answer = virsh_run(virsh, "domxml-to-native", "qemu-argv", str(path))
    assert (answer.returncode == 0) == accepted, answer.stderr
    if not accepted:
        assert "Invalid value for attribute 'queues' in element 'driver'" in answer.stderr
