"""A count of 0 is "not set" to libvirt: no property on the line, no error (queues,
cmd_per_lun, max_sectors and iothread of a virtio-scsi controller; queues and
queue_size of a disk; blockio sizes).  check refused them with VX0101 and argv wrote
num_queues 0.  A disk's iothread='0' stays refused, as libvirt refuses it ("Zero is not
permitted").  Checked with libvirt 9.0; the integration test compares the lines."""

from __future__ import annotations

import pytest
from conftest import run_cli, virsh_run

from virtxlate.api import analyze, load

DOMAIN = """<domain type='qemu'><name>z</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os><iothreads>1</iothreads>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
<controller type='scsi' index='0' model='virtio-scsi'><driver {controller}/></controller>
<disk type='file' device='disk'><driver name='qemu' type='raw' {disk}/>
<source file='/var/lib/libvirt/images/a.img'/><target dev='vda' bus='virtio'/>{blockio}</disk>
</devices></domain>
"""
# libvirt 9.0's -device values for this domain, whichever count is 0
SCSI = '{"driver":"virtio-scsi-pci","id":"scsi0","bus":"pci.0","addr":"0x2"}'
BLK = (
    '{"driver":"virtio-blk-pci","bus":"pci.0","addr":"0x3","drive":"libvirt-1-format",'
    '"id":"virtio-disk0","bootindex":1}'
)
ZEROS = [
    {"controller": "queues='0'"},
    {"controller": "cmd_per_lun='0'"},
    {"controller": "max_sectors='0'"},
    {"controller": "iothread='0'"},
    {"disk": "queues='0'"},
    {"disk": "queue_size='0'"},
    {"blockio": "<blockio logical_block_size='0'/>"},
    {"blockio": "<blockio physical_block_size='0'/>"},
]


def _xml(case: dict[str, str]) -> str:
    return DOMAIN.format(**{"controller": "", "disk": "", "blockio": "", **case})


def _devices(argv: list[str]) -> list[str]:
    """The controller's and the disk's -device values."""
    return [
        argv[i + 1]
        for i, word in enumerate(argv[:-1])
        if word == "-device"
        and argv[i + 1].startswith(('{"driver":"virtio-scsi', '{"driver":"virtio-blk'))
    ]


@pytest.mark.parametrize("case", ZEROS, ids=[next(iter(c.values())) for c in ZEROS])
def test_a_zero_count_is_no_property(tmp_path, case):
    path = tmp_path / "d.xml"
    path.write_text(_xml(case))
    result = run_cli("check", str(path), "--qemu", "7.2")
    assert (result.returncode, result.stdout) == (0, f"{path}: no findings\n")
    analysis = analyze(load(_xml(case)), "7.2")
    assert analysis.argv is not None
    assert _devices(analysis.argv) == [SCSI, BLK]


def test_a_disk_iothread_of_zero_stays_refused(tmp_path):
    path = tmp_path / "d.xml"
    path.write_text(_xml({"disk": "iothread='0'"}))
    result = run_cli("check", str(path), "--qemu", "7.2")
    assert result.returncode == 1
    assert "iothread='0': value must be positive" in result.stdout


@pytest.mark.integration
@pytest.mark.parametrize("case", ZEROS, ids=[next(iter(c.values())) for c in ZEROS])
def test_libvirt_writes_no_property_for_a_zero_count(tmp_path, virsh, case):
    path = tmp_path / "d.xml"
    path.write_text(_xml(case))
    answer = virsh_run(virsh, "domxml-to-native", "qemu-argv", str(path))
    assert answer.returncode == 0, answer.stderr
    assert f"-device '{SCSI}'" in answer.stdout and f"-device '{BLK}'" in answer.stdout
