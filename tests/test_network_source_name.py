"""A network disk's source name (VX0231): libvirt 9.0 requires it of every protocol but
NBD ("missing name for disk source"), and its daemon crashes on an empty iSCSI name
(never sent to libvirt here).  The integration test asks libvirt for the missing names."""

from __future__ import annotations

import pytest
from conftest import run_cli, virsh_run

DOMAIN = """<domain type='qemu'><name>n</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
<disk type='network' device='disk'><driver name='qemu' type='raw'/>
<source protocol='{protocol}'{name}><host name='example.org' port='3260'/></source>
<target dev='vda' bus='virtio'/></disk>
</devices></domain>
"""
MISSING = ["iscsi", "rbd", "gluster", "http", "https", "ftp", "tftp", "ssh", "nfs"]


def _write(tmp_path, protocol: str, name: str = ""):
    path = tmp_path / "d.xml"
    path.write_text(DOMAIN.format(protocol=protocol, name=name))
    return path


@pytest.mark.parametrize("protocol", MISSING)
def test_a_source_without_a_name_is_refused(tmp_path, protocol):
    result = run_cli("check", str(_write(tmp_path, protocol)), "--qemu", "7.2")
    assert result.returncode == 1
    assert (
        f"error: VX0231: a '{protocol}' disk source needs a name "
        '(libvirt: "missing name for disk source")'
    ) in result.stdout
    assert "at /domain/devices/disk/source\n" in result.stdout


def test_nbd_needs_no_name(tmp_path):
    path = _write(tmp_path, "nbd")
    result = run_cli("check", str(path), "--qemu", "7.2")
    assert (result.returncode, result.stdout) == (0, f"{path}: no findings\n")


def test_an_empty_iscsi_name_is_refused(tmp_path):
    result = run_cli("check", str(_write(tmp_path, "iscsi", " name=''")), "--qemu", "7.2")
    assert result.returncode == 1
    assert "error: VX0231: an empty iSCSI name: libvirt 9.0's daemon crashes" in result.stdout
    assert "at /domain/devices/disk/source/@name" in result.stdout


@pytest.mark.integration
@pytest.mark.parametrize("protocol", [*MISSING, "nbd"])
def test_libvirt_needs_a_name_but_for_nbd(tmp_path, virsh, protocol):
    answer = virsh_run(virsh, "domxml-to-native", "qemu-argv", str(_write(tmp_path, protocol)))
    if protocol == "nbd":
        assert answer.returncode == 0, answer.stderr
    else:
        assert answer.returncode != 0 and "missing name for disk source" in answer.stderr
