"""The whole-domain tests' view of what only a libvirt-run process or its host has.

The list itself is the package's (virtxlate/argv/runtime.py: RUNTIME_ONLY, one entry per
thing taken out or made a placeholder, each with its reason); `compare` applies the
entries marked for it, the tests every entry through `normalise`.  Nothing is listed here;
`both_lines` sets libvirt's line for a domain beside virtxlate's, both normalised.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from conftest import virsh_run

from virtxlate.api import analyze, load
from virtxlate.argv.runtime import RUNTIME_ONLY, normalise
from virtxlate.host import FixedHost

__all__ = ["RUNTIME_ONLY", "both_lines", "normalise"]


def both_lines(virsh: str, xml: str, tmp_path: Path) -> tuple[list[str], list[str]]:
    """(virtxlate's line, libvirt 9.0's line) for XML at QEMU 7.2, each normalised; the
    test fails when libvirt refuses the domain or virtxlate finds an error (a host with no
    CD-ROM drives or SCSI devices, like this machine, answers virtxlate's questions)."""
    path = tmp_path / "domain.xml"
    path.write_text(xml)
    answer = virsh_run(virsh, "domxml-to-native", "qemu-argv", str(path))
    assert answer.returncode == 0, answer.stderr
    domain = load(xml)
    result = analyze(domain, "7.2", host=FixedHost())
    assert result.ok, [f.message for f in result.findings if f.is_error]
    ours = normalise(list(result.argv or []), domain)
    return ours, normalise(shlex.split(answer.stdout), domain)
