"""Release gates that follow libvirt's flags in the tables (VX0303, VX0307 where a
derived table does not know): IOThreads, a comma in <name>."""

from __future__ import annotations

import json

import pytest

from virtxlate.cli import main

_DOMAIN = (
    "<domain type='qemu'><name>{name}</name><memory>1048576</memory>{extra}"
    "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>{devices}"
    "<disk type='file' device='disk'><driver name='qemu' type='raw'{iothread}/>"
    "<source file='/v/a.img'/><target dev='vda' bus='virtio'/></disk>"
    "</devices></domain>"
)


def _check(
    tmp_path,
    capsys,
    qemu: str,
    name: str = "web",
    extra: str = "",
    devices: str = "",
    iothread: str = "",
) -> tuple[int, list[dict]]:
    path = tmp_path / "domain.xml"
    path.write_text(_DOMAIN.format(name=name, extra=extra, devices=devices, iothread=iothread))
    capsys.readouterr()
    code = main(["check", str(path), "--qemu", qemu, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


_IOTHREAD = {"extra": "<iothreads>1</iothreads>", "iothread": " iothread='1'"}


@pytest.mark.parametrize("qemu", ["1.2", "1.5", "1.7"])
def test_iothreads_before_libvirts_iothread_flag_are_refused(tmp_path, capsys, qemu):
    """qemuProcessStartValidateIOThreads: "IOThreads not supported for this QEMU" (the
    argv would leave out -object iothread and still write iothread=)."""
    code, findings = _check(tmp_path, capsys, qemu, **_IOTHREAD)
    assert code == 1
    assert [(f["code"], f["xpath"], f["since"]) for f in findings] == [
        ("VX0303", "/domain/iothreads", "2.1")
    ]


def test_iothreads_of_a_derived_release_whose_neighbours_disagree_warn(tmp_path, capsys):
    """2.0 has no captured replies; 1.7 lacks the flag, 2.1 has it: not known."""
    code, findings = _check(tmp_path, capsys, "2.0", **_IOTHREAD)
    assert code == 0
    assert [(f["code"], f["severity"]) for f in findings] == [("VX0307", "warning")]


@pytest.mark.parametrize(
    ("qemu", "expected"), [("2.1", [("VX0303", "2.4")]), ("2.4", []), ("7.2", [])]
)
def test_virtio_scsi_iothread_needs_its_property(tmp_path, capsys, qemu, expected):
    """libvirt: "IOThreads for virtio-scsi not supported for this QEMU" (flag
    virtio-scsi-pci.iothread, QEMU 2.4)."""
    code, findings = _check(
        tmp_path,
        capsys,
        qemu,
        extra="<iothreads>1</iothreads>",
        devices="<controller type='scsi' index='0' model='virtio-scsi'>"
        "<driver iothread='1'/></controller>",
    )
    assert [(f["code"], f["since"]) for f in findings] == expected
    assert code == (1 if expected else 0)


@pytest.mark.parametrize("name", ["a,b", "web,process=x", "a,,b"])
def test_comma_in_name_before_name_guest_is_refused(tmp_path, capsys, name):
    """QEMU 1.x's vl.c: what follows the first comma of -name must be 'process='
    ("Unknown subargument … to -name"); libvirt has no guest= key to put it under."""
    code, findings = _check(tmp_path, capsys, "1.5", name=name)
    assert code == 1
    assert [(f["code"], f["xpath"], f["since"]) for f in findings] == [
        ("VX0303", "/domain/name", "2.1")
    ]


@pytest.mark.parametrize("qemu", ["2.1", "7.2"])
def test_comma_in_name_with_guest_key_is_fine(tmp_path, capsys, qemu):
    assert _check(tmp_path, capsys, qemu, name="a,b") == (0, [])
