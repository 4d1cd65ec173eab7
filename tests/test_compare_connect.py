"""`virtxlate compare FILE --connect qemu:///system` on every sample: the exit status a
user sees (0: the same line as libvirt's, less what only a run or the dry run varies) for
the shapes of domain real tools write, against this machine's libvirt 9.0."""

from __future__ import annotations

import pytest
from conftest import SAMPLES, run_cli


@pytest.mark.integration
@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.xml")), ids=lambda p: p.stem)
def test_compare_agrees_with_libvirt(virsh, sample):  # noqa: F811
    result = run_cli("compare", str(sample), "--connect", "qemu:///system")
    assert result.returncode == 0, result.stdout + result.stderr
