"""What QEMU refuses of libvirt 9.0's line per machine type and release (VX0302), and
what libvirt takes as no PCI address (no VX0221), checked against the real QEMU here."""

from __future__ import annotations

import json
import subprocess

import pytest

from virtxlate.cli import main
from virtxlate.rules.machine import machine_has

_LUN = (
    "<disk type='block' device='lun'><driver name='qemu' type='raw'/>"
    "<source dev='/dev/sdb'/><target dev='vda' bus='virtio'/></disk>"
)
_USB_CDROM = (
    "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>"
    "<target dev='sda' bus='usb'/><readonly/></disk>"
)


def _check(
    tmp_path, capsys, qemu: str, devices: str, machine: str = "pc"
) -> tuple[int, list[tuple[str, str]]]:
    path = tmp_path / "domain.xml"
    path.write_text(
        "<domain type='qemu'><name>m</name><memory>1048576</memory>"
        f"<os><type arch='x86_64' machine='{machine}'>hvm</type></os>"
        f"<devices>{devices}</devices></domain>"
    )
    capsys.readouterr()
    code = main(["check", str(path), "--qemu", qemu, "--format", "json"])
    return code, [(f["code"], f["severity"]) for f in json.loads(capsys.readouterr().out)]


@pytest.mark.parametrize(
    ("machine", "refused"),
    [
        ("pc-i440fx-2.6", False),
        ("pc-q35-2.6", False),
        ("pc-i440fx-2.7", True),
        ("pc-q35-2.7", True),
        ("pc", True),
        ("q35", True),
    ],
)
def test_virtio_lun_per_machine_type(tmp_path, capsys, machine, refused):
    """virtio-blk-pci scsi=on: QEMU 7.2 refuses it where virtio 1.0 is on (machine types
    from 2.7, hw_compat_2_6)."""
    code, findings = _check(tmp_path, capsys, "7.2", _LUN, machine)
    assert (code, findings) == ((1, [("VX0302", "error")]) if refused else (0, []))


def test_virtio_lun_where_virtio_blk_lost_scsi(tmp_path, capsys):
    """QEMU 9.1's virtio-blk-pci has no 'scsi' property (its captured replies)."""
    assert _check(tmp_path, capsys, "9.1", _LUN, "pc-i440fx-2.6") == (1, [("VX0302", "error")])


@pytest.mark.parametrize(("qemu", "refused"), [("2.12", False), ("4.2", True), ("7.2", True)])
def test_empty_usb_cdrom_needs_a_drive(tmp_path, capsys, qemu, refused):
    """With -blockdev libvirt writes usb-storage without drive= for an empty one; QEMU:
    'drive property not set'.  The -drive era had an empty drive."""
    code, findings = _check(tmp_path, capsys, qemu, _USB_CDROM)
    assert (code, findings) == ((1, [("VX0302", "error")]) if refused else (0, []))


def test_usb_cdrom_with_medium_is_fine(tmp_path, capsys):
    devices = _USB_CDROM.replace("<target", "<source file='/img/a.iso'/><target")
    assert _check(tmp_path, capsys, "7.2", devices) == (0, [])


@pytest.mark.parametrize("function", ["0x0", "0x3"])
def test_all_zero_pci_address_is_no_address(tmp_path, capsys, function):
    """virPCIDeviceAddressIsEmpty: domain, bus and slot 0 mean 'unassigned' (the function
    is not looked at); libvirt places the device itself."""
    devices = (
        "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
        "<source file='/img/a.img'/><target dev='vda' bus='virtio'/>"
        "<address type='pci' domain='0x0000' bus='0x00' slot='0x00' "
        f"function='{function}'/></disk>"
    )
    assert _check(tmp_path, capsys, "7.2", devices) == (0, [])


def test_a_built_in_slot_is_still_refused(tmp_path, capsys):
    devices = (
        "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
        "<source file='/img/a.img'/><target dev='vda' bus='virtio'/>"
        "<address type='pci' domain='0x0000' bus='0x00' slot='0x01' "
        "function='0x0'/></disk>"
    )
    code, findings = _check(tmp_path, capsys, "7.2", devices)
    assert ("VX0221", "error") in findings and code == 1


@pytest.mark.integration
@pytest.mark.parametrize("machine", ["pc-i440fx-2.6", "pc-i440fx-2.7", "pc-q35-2.6", "pc-q35-2.7"])
def test_machine_compat_fact_holds_on_this_qemu(qemu_binary, machine):
    """machine-compat.tsv's virtio-1.0 row against the real QEMU: scsi=on starts exactly
    where the row says virtio 1.0 is off."""
    result = subprocess.run(
        [
            qemu_binary,
            "-S",
            "-display",
            "none",
            "-nodefaults",
            "-machine",
            f"{machine},accel=tcg",
            "-blockdev",
            '{"driver":"null-co","node-name":"n0"}',
            "-device",
            '{"driver":"virtio-blk-pci","scsi":true,"drive":"n0"}',
            "-qmp",
            "stdio",
        ],
        input='{"execute":"qmp_capabilities"}{"execute":"quit"}',
        capture_output=True,
        text=True,
        timeout=30,
    )
    refused = "Please set scsi=off for virtio-blk devices" in result.stderr
    assert refused == bool(machine_has("virtio-1.0", "x86_64", machine)), result.stderr
    assert refused == (result.returncode != 0)
