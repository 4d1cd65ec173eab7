"""The README stays true: its outputs are what the commands print, its script runs."""

from __future__ import annotations

import re
import shlex

import pytest
from conftest import REPO, run_cli

README = (REPO / "README.md").read_text()

# Each output block in the README follows a sentence that names its command in backticks;
# the exit status is the one the README's "Commands and exit codes" gives for that outcome
# (0: done, 1: error findings).
SHOWN = [
    ("virtxlate tree samples/seed-virtio-scsi.xml --qemu 1.2", "before the refactoring", 0),
    ("virtxlate tree samples/seed-virtio-scsi.xml --qemu 1.5", "after it (`--qemu 1.5`)", 0),
    ("virtxlate argv samples/seed-virtio-scsi.xml --qemu 1.5 --format lines", "--format lines", 0),
    ("virtxlate check samples/needs-newer-qemu.xml --qemu 1.2", "cannot run", 1),
    ("virtxlate check samples/q35-storage.xml --qemu 1.2 --qemu 2.4 --qemu 7.2", "may repeat", 1),
    ("virtxlate from-argv samples/seed-command-line.args", "is kept in `<qemu:commandline>`", 0),
    # issue 15 point 4: this exited 2 with an empty block while -M was not read
    ("virtxlate tree --argv samples/seed-command-line.args --qemu 1.2", "as QEMU 1.2 builds it", 0),
]


def _id(entry) -> str:  # type: ignore[no-untyped-def]
    return (entry.values if hasattr(entry, "values") else entry)[0]


@pytest.mark.parametrize("command,anchor,status", SHOWN, ids=[_id(e) for e in SHOWN])
def test_readme_output_is_current(command, anchor, status):
    """What the README shows is what the command prints, with the exit status of that
    outcome; an empty block never stands for an output (a command that fails prints
    nothing on stdout, and an empty block would then equal it)."""
    start = README.index(anchor)
    block = re.search(r"```\n(.*?)```", README[start:], re.S).group(1)
    assert block.strip(), f"the README's block for `{command}` is empty"
    result = run_cli(*shlex.split(command)[1:])
    assert result.returncode == status, result.stderr
    assert result.stdout.strip(), result.stderr
    assert result.stdout.rstrip() == block.rstrip()


def test_readme_script_runs(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "1.2 virtio-scsi-pci ['scsi0.0']" in out
    assert "1.5 virtio-scsi-pci ['virtio-bus']" in out


def test_readme_commands_are_in_ci():
    ci = (REPO / ".ci" / "run").read_text()
    assert "python3 -m pytest -q tests" in README
    assert "python3 -m pytest -q tests" in ci


def test_rules_table_lists_every_code_the_package_gives():
    """The README's rule table names every finding code in the package, and no other."""
    import re

    package = {
        code
        for path in (REPO / "virtxlate").rglob("*.py")
        for code in re.findall(r'"(VX\d{4})"', path.read_text())
    }
    table = README.split("## Rules", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| (VX\d{4}) \|", table, re.MULTILINE))
    assert listed == package
