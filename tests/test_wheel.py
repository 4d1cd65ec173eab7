"""An installed wheel runs as a checkout does: it carries its data files.

`pip install .` (not `-e`) used to install a package without the XSDs of schemas/, and
every `check` ended in a traceback ("failed to load .../schemas/domain-storage.xsd").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile

from conftest import REPO


def test_a_wheel_checks_a_domain_outside_the_checkout(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__")
    for name in ("virtxlate", "schemas"):
        shutil.copytree(REPO / name, source / name, symlinks=True, ignore=ignore)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("virtxlate-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {p.name for p in (REPO / "schemas").glob("*.xsd")}
    assert shipped and {f"virtxlate/schemas/{n}" for n in shipped} <= set(names)
    installed = tmp_path / "installed"
    zipfile.ZipFile(wheel).extractall(installed)
    sample = REPO / "samples" / "seed-virtio-scsi.xml"
    environment = {**os.environ, "PYTHONPATH": str(installed)}
    run = subprocess.run(
        [sys.executable, "-m", "virtxlate", "check", str(sample), "--qemu", "7.2"],
        cwd=tmp_path,  # not the checkout: nothing of it on the path
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout == f"{sample}: no findings\n"
    imported = subprocess.run(
        [sys.executable, "-c", "import virtxlate; print(virtxlate.__file__)"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert imported.stdout.startswith(str(installed))
