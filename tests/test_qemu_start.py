"""tests/qemu_start.py: libvirt's line made runnable without changing what QEMU builds, and
QEMU's refusal of it seen as a refusal."""

from __future__ import annotations

import json

import pytest
from qemu_start import Budget, host_only, qemu_refusal, runnable

# the shape of a line libvirt 9.0 writes (virsh domxml-to-native qemu-argv), shortened
LIBVIRT_LINE = [
    "/usr/bin/qemu-system-x86_64",
    "-name",
    "guest=g,debug-threads=on",
    "-S",
    "-object",
    '{"qom-type":"secret","id":"masterKey0","format":"raw",'
    '"file":"/var/lib/libvirt/qemu/domain--1-g/master-key.aes"}',
    "-machine",
    "pc-i440fx-7.2,usb=off,dump-guest-core=off",
    "-accel",
    "kvm",
    "-cpu",
    "host",
    "-m",
    "256",
    "-display",
    "none",
    "-no-user-config",
    "-nodefaults",
    "-chardev",
    "socket,id=charmonitor,path=/var/lib/libvirt/qemu/domain--1-g/monitor.sock,server=on,wait=off",
    "-mon",
    "chardev=charmonitor,id=monitor,mode=control",
    "-device",
    '{"driver":"virtio-scsi-pci","id":"scsi0","bus":"pci.0","addr":"0x2"}',
    "-blockdev",
    '{"driver":"file","filename":"/img/a.qcow2","aio":"native",'
    '"node-name":"libvirt-2-storage","cache":{"direct":true,"no-flush":false},'
    '"auto-read-only":true,"discard":"unmap"}',
    "-blockdev",
    '{"node-name":"libvirt-2-format","read-only":false,"driver":"qcow2",'
    '"file":"libvirt-2-storage","backing":null}',
    "-device",
    '{"driver":"virtio-blk-pci","bus":"pci.0","addr":"0x3",'
    '"drive":"libvirt-2-format","id":"virtio-disk0"}',
    "-blockdev",
    '{"driver":"iscsi","portal":"h:3260","target":"iqn.x:y","lun":1,'
    '"transport":"tcp","node-name":"libvirt-1-backend","read-only":true}',
    "-device",
    '{"driver":"scsi-generic","drive":"libvirt-1-backend","id":"hostdev0",'
    '"bus":"scsi0.0","channel":0,"scsi-id":2,"lun":3}',
    "-drive",
    "file=/img/b,,c.img,format=qcow2,if=none,id=drive-sd0",
    "-netdev",
    '{"type":"tap","fd":"26","id":"hostnet0"}',
    "-sandbox",
    "on,obsolete=deny",
    "-msg",
    "timestamp=on",
]


def _options(words: list[str], flag: str) -> list[str]:
    return [value for f, value in zip(words, words[1:], strict=False) if f == flag]


def test_storage_back_ends_become_null_co():
    words = runnable(LIBVIRT_LINE)
    blockdevs = [json.loads(value) for value in _options(words, "-blockdev")]
    assert blockdevs == [
        {
            "node-name": "libvirt-2-storage",
            "cache": {"direct": True, "no-flush": False},
            "auto-read-only": True,
            "discard": "unmap",
            "driver": "null-co",
        },
        {
            "node-name": "libvirt-2-format",
            "read-only": False,
            "file": "libvirt-2-storage",
            "driver": "raw",
        },
        {"node-name": "libvirt-1-backend", "read-only": True, "driver": "null-co"},
    ]
    assert _options(words, "-drive") == ["if=none,id=drive-sd0,file.driver=null-co,format=raw"]


def test_what_only_libvirt_has_is_left_out_or_stands_in():
    words = runnable(LIBVIRT_LINE)
    for flag in ("-S", "-display", "-no-user-config", "-nodefaults", "-sandbox", "-msg"):
        assert flag not in words, flag
    assert _options(words, "-object") == []  # the master key
    assert _options(words, "-chardev") == ["null,id=charmonitor"]
    assert _options(words, "-netdev") == ['{"type":"user","id":"hostnet0"}']
    assert _options(words, "-accel") == ["tcg"] and _options(words, "-cpu") == ["max"]
    # SCSI passthrough stands in as a CD-ROM at the same place
    assert json.loads(_options(words, "-device")[2]) == {
        "driver": "scsi-cd",
        "drive": "libvirt-1-backend",
        "id": "hostdev0",
        "bus": "scsi0.0",
        "channel": 0,
        "scsi-id": 2,
        "lun": 3,
    }
    # what QEMU is asked to build is otherwise unchanged
    assert _options(words, "-device")[:2] == _options(LIBVIRT_LINE, "-device")[:2]
    assert _options(words, "-machine") == _options(LIBVIRT_LINE, "-machine")


def test_host_only_lines_are_named():
    assert host_only(LIBVIRT_LINE) is None
    vhost = LIBVIRT_LINE + ["-device", '{"driver":"vhost-scsi-pci","wwpn":"naa.5","id":"h"}']
    assert "vhost-scsi-pci" in (host_only(vhost) or "")


def test_budget_is_bounded():
    budget = Budget(2)
    assert [budget.take() for _ in range(4)] == [True, True, False, False]


@pytest.mark.integration
def test_qemu_starts_on_the_runnable_line(qemu_binary):
    assert qemu_refusal([qemu_binary, *LIBVIRT_LINE[1:]]) is None


@pytest.mark.integration
@pytest.mark.parametrize(
    "device,reason",
    [
        ('{"driver":"dc-390","id":"scsi1"}', "'dc-390' is not a valid device model name"),
        (
            '{"driver":"ide-hd","bus":"ide.0","unit":2,"drive":"libvirt-2-format","id":"i"}',
            "Can't create IDE unit 2",
        ),
    ],
)
def test_qemus_refusal_is_seen(qemu_binary, device, reason):
    refusal = qemu_refusal([qemu_binary, *LIBVIRT_LINE[1:], "-device", device])
    assert refusal is not None and reason in refusal, refusal
