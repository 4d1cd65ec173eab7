"""from-argv reads an option's values through the mapping rows: a value that does not
parse is bad input named by its option and property (exit 3); any other failure is a
bug and shows as one (a traceback the fuzz sees), never as "cannot read" input."""

from __future__ import annotations

import pytest
from conftest import run_cli

from virtxlate.errors import InputError
from virtxlate.native import domain_from_argv, todomain
from virtxlate.native.words import CommandLine

SCSI_LINE = (
    "/usr/bin/qemu-system-x86_64 -machine pc -device virtio-scsi-pci,id=scsi0 "
    "-drive file=/a.img,if=none,id=d0 "
    "-device scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun={lun},drive=d0,id=scsi0-0-0-0{extra}\n"
)


def _from_argv(tmp_path, text: str):
    path = tmp_path / "c.args"
    path.write_text(text)
    return run_cli("from-argv", str(path))


def test_a_bad_number_names_the_option_and_the_property(tmp_path):
    result = _from_argv(tmp_path, SCSI_LINE.format(lun="x", extra=""))
    assert result.returncode == 3, result.stderr
    assert result.stderr.count("\n") == 1
    assert "-device scsi-hd: cannot read '-device scsi-hd," in result.stderr
    assert "bad value 'x' for lun (expected a number)" in result.stderr


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_switch_that_is_no_switch_is_refused(tmp_path, value):
    """QEMU's bool parser takes on/off/yes/no/true/false; 'maybe' was read as off."""
    result = _from_argv(tmp_path, SCSI_LINE.format(lun="0", extra=f",removable={value}"))
    assert result.returncode == 3, result.stdout
    assert f"bad value '{value}' for removable (expected on or off)" in result.stderr


@pytest.mark.parametrize(
    ("cache", "queue_size", "option", "value"),
    [
        ('"x"', "4", "-blockdev f: cannot read '-blockdev {", "bad value 'x' for cache"),
        (
            "{}",
            "[]",
            "-device virtio-blk-pci: cannot read '-device {",
            "bad value '[]' for queue-size",
        ),
    ],
)
def test_a_json_value_of_the_wrong_kind_names_its_option(
    tmp_path, cache, queue_size, option, value
):
    """The format node's cache must be an object, the device's queue-size a number."""
    line = (
        "/usr/bin/qemu-system-x86_64 -blockdev "
        '\'{"driver":"file","filename":"/a.img","node-name":"s"}\' -blockdev '
        f'\'{{"node-name":"f","driver":"raw","file":"s","cache":{cache}}}\' -device '
        '\'{"driver":"virtio-blk-pci","drive":"f","id":"virtio-disk0",'
        f'"queue-size":{queue_size}}}\'\n'
    )
    result = _from_argv(tmp_path, line)
    assert result.returncode == 3, result.stdout
    assert result.stderr.count("\n") == 1
    assert option in result.stderr and value in result.stderr, result.stderr


def test_a_character_xml_cannot_hold_is_bad_input(tmp_path):
    result = _from_argv(tmp_path, "/usr/bin/qemu-system-x86_64 -name 'a\bb'\n")
    assert result.returncode == 3, result.stdout
    assert "-name: cannot read" in result.stderr and "'\\x08'" in result.stderr


def test_a_bug_while_building_is_no_input_error(monkeypatch):
    """The broad except turned every KeyError into exit 3 "cannot read": the fuzz could
    not tell a bug from bad input."""

    def broken(self, disk):
        raise KeyError("a bug")

    monkeypatch.setattr(todomain._Builder, "_disk_xml", broken)
    command = CommandLine("/usr/bin/qemu-system-x86_64", ["-hda", "/a.img"], "<test>")
    with pytest.raises(KeyError):
        domain_from_argv(command)


def test_bad_value_is_an_input_error_in_the_api():
    words = SCSI_LINE.format(lun="0x", extra="").split()[1:]
    with pytest.raises(InputError, match="bad value '0x' for lun"):
        domain_from_argv(CommandLine("/usr/bin/qemu-system-x86_64", words, "<test>"))


def test_a_json_escaped_control_character_is_bad_input(tmp_path):
    line = '/usr/bin/qemu-system-x86_64 -device \'{"driver":"virtio-blk-pci","id":"a\\u0008"}\'\n'
    result = _from_argv(tmp_path, line)
    assert result.returncode == 3, result.stdout
    assert "has no place in XML" in result.stderr
