"""`virtxlate check --qemu 7.2` refuses what real libvirt 9.0 refuses, and accepts what it
accepts, for every domain of tests/data/check-variants.xml (`virsh domxml-to-native`).
Where libvirt lets a domain through that QEMU 7.2 then refuses at start, the variant
says so (qemu-refuses=) and virtxlate must refuse it as starting would."""

from __future__ import annotations

import json
import subprocess

import pytest
from check_variants import variants
from conftest import skip_when_no_emulator
from test_libvirt import URI, virsh  # noqa: F401  (the fixture)

from virtxlate.cli import main

ALL = variants()


def _verdict(returncode: int) -> str:
    """libvirt's or virtxlate's exit status as a verdict; virtxlate's check answers a
    readable domain with 0 or 1 only (2 and 3 are usage and input errors, not verdicts)."""
    return "ok" if returncode == 0 else "error"


def _check(path, capsys) -> tuple[int, list[dict]]:  # type: ignore[no-untyped-def]
    """`virtxlate check PATH --qemu 7.2 --format json`, in this process (fast)."""
    capsys.readouterr()
    code = main(["check", str(path), "--qemu", "7.2", "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_variants_cover_every_rule_and_both_verdicts():
    codes = {v.code for v in ALL if v.code}
    assert len(ALL) >= 60
    assert {"ok", "error"} == {v.expect for v in ALL}
    for code in ("VX0201", "VX0202", "VX0206", "VX0207", "VX0208", "VX0209", "VX0210",
                 "VX0212", "VX0213", "VX0214", "VX0215", "VX0216", "VX0217", "VX0218",
                 "VX0219", "VX0220", "VX0221", "VX0301", "VX0304"):
        assert code in codes, code


@pytest.mark.parametrize("variant", ALL, ids=lambda v: v.name)
def test_check_gives_the_expected_finding(tmp_path, capsys, variant):
    """Offline: virtxlate's verdict and the rule that gives it."""
    path = tmp_path / f"{variant.name}.xml"
    path.write_text(variant.xml)
    returncode, findings = _check(path, capsys)
    errors = [f["code"] for f in findings if f["severity"] == "error"]
    refused = variant.expect == "error" or variant.qemu_refuses is not None
    assert bool(errors) == refused, findings
    if variant.code:
        assert variant.code in [f["code"] for f in findings], findings
    assert returncode == (1 if refused else 0)


@pytest.mark.integration
@pytest.mark.parametrize("variant", ALL, ids=lambda v: v.name)
def test_libvirt_agrees(virsh, tmp_path, capsys, variant):  # noqa: F811
    path = tmp_path / f"{variant.name}.xml"
    path.write_text(variant.xml)
    libvirt = subprocess.run([virsh, "-c", URI, "domxml-to-native", "qemu-argv", str(path)],
                             capture_output=True, text=True, timeout=120)
    skip_when_no_emulator(libvirt.stderr)
    assert _verdict(libvirt.returncode) == variant.expect, libvirt.stderr
    returncode, findings = _check(path, capsys)
    assert returncode in (0, 1), findings
    if variant.qemu_refuses is None:
        assert _verdict(returncode) == _verdict(libvirt.returncode), (libvirt.stderr, findings)
    else:
        assert _verdict(returncode) == "error", variant.qemu_refuses
