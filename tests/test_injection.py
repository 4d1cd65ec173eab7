"""Hostile values (issue 14): no user string becomes an option, a key or a driver.

Each test names the defect it pins; each asserts exit codes and exact values.
"""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

from virtxlate.api import analyze, load
from virtxlate.argv.escape import split_keyval


def _domain(name: str = "web", devices: str = "", extra: str = "") -> str:
    from xml.sax.saxutils import escape

    return (f"<domain type='qemu'><name>{escape(name)}</name>{extra}<memory>1048576</memory>"
            "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
            "<disk type='file' device='disk'><source file='/v/a.img'/>"
            f"<target dev='vda' bus='virtio'/></disk>{devices}</devices></domain>")


def _name_value(argv: list[str]) -> str:
    return argv[argv.index("-name") + 1]


@pytest.mark.parametrize("qemu", ["4.2", "7.2", "2.1"])
@pytest.mark.parametrize("name", ["web,id=1", "process=evil", "a,,b", "x=y,debug-threads=off"])
def test_name_is_the_guest_key(qemu, name):
    """Issue 14.1: libvirt writes -name guest=NAME,debug-threads=on (qemuBuildNameCommandLine);
    the name never stands first, where 'process=…' would be a key."""
    value = _name_value(analyze(load(_domain(name)), qemu).argv)
    parts = split_keyval(value)
    assert parts == [f"guest={name}", "debug-threads=on"]


def test_name_as_libvirt_writes_it():
    argv = analyze(load(_domain("QEMUGuest1")), "7.2").argv
    assert _name_value(argv) == "guest=QEMUGuest1,debug-threads=on"


def test_name_before_2_1_is_the_whole_value():
    """QEMU 1.x has no keys in -name (libvirt's name-guest flag is missing there)."""
    assert _name_value(analyze(load(_domain("seed")), "1.5").argv) == "seed"


@pytest.mark.parametrize(("form", "name"), [("guest=web,,id=1,debug-threads=on", "web,id=1"),
                                            ("guest=seed", "seed"), ("seed", "seed")])
def test_from_argv_reads_both_name_forms(tmp_path, form, name):
    """libvirt's guest= form and the bare one of hand-written lines (QEMU 7.2 itself
    refuses a bare 'web,,id=1': 'Invalid parameter 'id'')."""
    path = tmp_path / "a.args"
    path.write_text(f"qemu-system-x86_64 -name '{form}' -m 512\n")
    result = run_cli("from-argv", str(path))
    assert result.returncode == 0, result.stderr
    assert f"<name>{name}</name>" in result.stdout


@pytest.mark.parametrize("name", ["driver=virtio-blk-pci", "no-such-device", "pci-bridge,x=1"])
def test_pci_model_name_outside_the_enumeration_is_refused(tmp_path, name):
    """Issue 14.2: <model name> becomes the -device driver: libvirt's enumeration only."""
    path = tmp_path / "d.xml"
    path.write_text(_domain(devices="<controller type='pci' index='1' model='pci-bridge'>"
                            f"<model name='{name}'/></controller>"))
    for command in ("argv", "check"):
        result = run_cli(command, str(path), "--qemu", "4.2")
        assert result.returncode == 1, (command, result.stdout)
        assert name in result.stdout + result.stderr
        assert "-device " not in result.stdout


def test_pci_model_name_must_fit_the_model(tmp_path):
    path = tmp_path / "d.xml"
    path.write_text(_domain(devices="<controller type='pci' index='1' model='pci-bridge'>"
                            "<model name='ioh3420'/></controller>"))
    result = run_cli("argv", str(path), "--qemu", "4.2")
    assert result.returncode == 1
    assert "not valid for a PCI controller with model 'pci-bridge'" in result.stderr


def test_pci_model_name_libvirt_accepts_is_written(tmp_path):
    path = tmp_path / "d.xml"
    path.write_text(_domain(devices="<controller type='pci' index='1' model='pci-bridge'>"
                            "<model name='pci-bridge'/></controller>"))
    result = run_cli("argv", str(path), "--qemu", "4.2", "--format", "json")
    assert result.returncode == 0, result.stdout
    assert any(word.startswith("pci-bridge,chassis_nr=1") for word in json.loads(result.stdout))
