"""Exit codes of argv and compare where the translation half succeeds: argv prints
libvirt's line and reports QEMU's refusal of it (exit 1); compare says the emulator is
missing where libvirt runs (exit 2) instead of calling that libvirt refusing the domain."""

from __future__ import annotations

from conftest import DATA, run_cli

from virtxlate import cli, live
from virtxlate.errors import InputError

DC390 = DATA / "libvirt-9.0" / "scsi-dc390.xml"


def test_argv_reports_qemus_refusal_of_libvirts_line():
    result = run_cli("argv", str(DC390), "--qemu", "7.2")
    assert result.returncode == 1
    assert '"driver":"dc-390"' in result.stdout  # the line libvirt writes
    # VX0306 names why QEMU refuses it: libvirt's driver name, not QEMU's
    assert "error: VX0306" in result.stderr and "dc-390" in result.stderr


def test_compare_says_the_emulator_is_missing(monkeypatch, capsys):
    def no_emulator(uri: str, xml: str) -> list[str]:
        raise InputError(
            "libvirt refuses the domain: Cannot check QEMU binary "
            "/usr/bin/qemu-system-s390x: No such file or directory",
            source=uri,
        )

    monkeypatch.setattr(live, "native_argv", no_emulator)
    code = cli.main(
        [
            "compare",
            str(DATA / "libvirt-9.0" / "aio-format-lun-shareable-pc.xml"),
            "--connect",
            "qemu:///system",
            "--qemu",
            "7.2",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 2
    assert "emulator is missing" in err and "/usr/bin/qemu-system-s390x" in err
    assert "refuses" not in out + err


def test_a_start_builds_only_the_named_commands_parser():
    """Issue 18: the parser of the command named first is built alone; without a command
    (or an unknown one) every subcommand is, so --help and the error list them all."""
    from virtxlate.cli import COMMANDS, _parser

    def choices(parser):  # type: ignore[no-untyped-def]
        action = next(a for a in parser._actions if a.dest == "command")
        return sorted(action.choices)

    assert choices(_parser("check")) == ["check"]
    assert choices(_parser()) == sorted(COMMANDS)
