"""The README stays true: its outputs are what the commands print, its script runs."""

from __future__ import annotations

import re
import shlex

import pytest
from conftest import REPO, run_cli

README = (REPO / "README.md").read_text()

# Each output block in the README follows a sentence that names its command in backticks.
SHOWN = [
    ("virtxlate tree samples/seed-virtio-scsi.xml --qemu 1.2", "before the refactoring"),
    ("virtxlate tree samples/seed-virtio-scsi.xml --qemu 1.5", "after it (`--qemu 1.5`)"),
    ("virtxlate argv samples/seed-virtio-scsi.xml --qemu 1.5 --format lines", "--format lines"),
    ("virtxlate check samples/needs-newer-qemu.xml --qemu 1.2", "cannot run"),
    ("virtxlate check samples/q35-storage.xml --qemu 1.2 --qemu 2.4 --qemu 7.2",
     "may repeat"),
    ("virtxlate from-argv samples/seed-command-line.args", "is kept in `<qemu:commandline>`"),
    ("virtxlate tree --argv samples/seed-command-line.args --qemu 1.2", "as QEMU 1.2 builds it"),
]


@pytest.mark.parametrize("command,anchor", SHOWN, ids=[c for c, _ in SHOWN])
def test_readme_output_is_current(command, anchor):
    start = README.index(anchor)
    block = re.search(r"```\n(.*?)```", README[start:], re.S).group(1)
    result = run_cli(*shlex.split(command)[1:])
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

    package = {code for path in (REPO / "virtxlate").rglob("*.py")
               for code in re.findall(r'"(VX\d{4})"', path.read_text())}
    table = README.split("## Rules", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| (VX\d{4}) \|", table, re.MULTILINE))
    assert listed == package
