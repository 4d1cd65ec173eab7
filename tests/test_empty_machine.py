"""<type machine=''>: libvirt takes an empty machine as none named and gives the arch's
default (pc-i440fx on x86_64); check said VX0301 "machine type '' does not exist".
Checked with libvirt 9.0; the integration test asks it again."""

from __future__ import annotations

import pytest
from conftest import run_cli, virsh_run

DOMAIN = """<domain type='qemu'><name>m</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine=''>hvm</type></os>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>
"""
MACHINE = "-machine pc-i440fx-7.2,usb=off,dump-guest-core=off,memory-backend=pc.ram"


def test_an_empty_machine_is_the_default_one(tmp_path):
    path = tmp_path / "d.xml"
    path.write_text(DOMAIN)
    result = run_cli("check", str(path), "--qemu", "7.2")
    assert (result.returncode, result.stdout) == (0, f"{path}: no findings\n")
    argv = run_cli("argv", str(path), "--qemu", "7.2").stdout
    assert MACHINE in argv


@pytest.mark.integration
def test_libvirt_gives_the_default_machine(tmp_path, virsh):
    path = tmp_path / "d.xml"
    path.write_text(DOMAIN)
    answer = virsh_run(virsh, "domxml-to-native", "qemu-argv", str(path))
    assert answer.returncode == 0, answer.stderr
    assert MACHINE in answer.stdout
