"""<serial><target port='-1'>: -1 is libvirt's own "not set", and the port is assigned
as if none were written (isa-serial index 0 here); check refused it with VX0221.
Checked with libvirt 9.0; the integration test asks it again."""

from __future__ import annotations

import pytest
from conftest import run_cli, virsh_run

DOMAIN = """<domain type='qemu'><name>s</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
<serial type='pty'><target type='isa-serial' port='-1'/></serial>
</devices></domain>
"""
SERIAL = '{"driver":"isa-serial","chardev":"charserial0","id":"serial0","index":0}'


def test_port_minus_one_is_assigned(tmp_path):
    path = tmp_path / "d.xml"
    path.write_text(DOMAIN)
    result = run_cli("check", str(path), "--qemu", "7.2")
    assert (result.returncode, result.stdout) == (0, f"{path}: no findings\n")
    lines = run_cli("argv", str(path), "--qemu", "7.2", "--format", "lines").stdout
    assert f"-device '{SERIAL}'" in lines.splitlines()


@pytest.mark.integration
def test_libvirt_assigns_port_minus_one(tmp_path, virsh):
    path = tmp_path / "d.xml"
    path.write_text(DOMAIN)
    answer = virsh_run(virsh, "domxml-to-native", "qemu-argv", str(path))
    assert answer.returncode == 0, answer.stderr
    assert f"-device '{SERIAL}'" in answer.stdout
