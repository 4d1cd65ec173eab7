"""`virtxlate check --qemu 7.2` refuses what real libvirt 9.0 refuses, and accepts what it
accepts, for every domain of tests/data/check-variants.xml (`virsh domxml-to-native`).
"Valid" is libvirt accepting it AND QEMU 7.2 starting on libvirt's command line: each
variant libvirt accepts is started (tests/qemu_start.py: paused, TCG, storage on null-co).
Where QEMU refuses what libvirt let through, the variant must say so (qemu-refuses=) and
virtxlate must refuse it as starting would."""

from __future__ import annotations

import json

import pytest
from check_variants import variants
from test_libvirt import libvirt_then_qemu

from virtxlate.cli import main

ALL = variants()

# What starting QEMU on libvirt's line shows and tests/data/check-variants.xml (and
# virtxlate) do not say yet: strict xfails naming the defect, for the lead to fix
# (the variant file and the virtxlate rule), each removed once it passes.
QEMU_SHOWS: dict[str, str] = {}


def _marked(known: dict[str, str]) -> list:  # type: ignore[type-arg]
    return [
        pytest.param(
            v,
            id=v.name,
            marks=[pytest.mark.xfail(strict=True, reason=known[v.name])] if v.name in known else [],
        )
        for v in ALL
    ]


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
    for code in (
        "VX0201",
        "VX0202",
        "VX0206",
        "VX0207",
        "VX0208",
        "VX0209",
        "VX0210",
        "VX0212",
        "VX0213",
        "VX0214",
        "VX0215",
        "VX0216",
        "VX0217",
        "VX0218",
        "VX0219",
        "VX0220",
        "VX0221",
        "VX0301",
        "VX0304",
    ):
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
@pytest.mark.parametrize("variant", _marked(QEMU_SHOWS))
def test_libvirt_agrees(virsh, tmp_path, capsys, variant):  # noqa: F811
    """libvirt's verdict and QEMU's (started on libvirt's line) are the variant's; a
    refusal by either is virtxlate's verdict too."""
    path = tmp_path / f"{variant.name}.xml"
    path.write_text(variant.xml)
    words, why = libvirt_then_qemu(virsh, path)
    libvirt_refuses = why.startswith("libvirt refuses")
    assert ("error" if libvirt_refuses else "ok") == variant.expect, why
    qemu_refuses = why.startswith("QEMU refuses")
    assert qemu_refuses == (variant.qemu_refuses is not None), why or variant.qemu_refuses
    returncode, findings = _check(path, capsys)
    assert returncode in (0, 1), findings
    assert _verdict(returncode) == ("ok" if words is not None else "error"), (why, findings)


def _scsi_domain(model: str, unit: int) -> str:
    """An x86_64 domain with one SCSI disk on a MODEL controller at drive unit UNIT."""
    return ALL[0].xml.replace(
        "</devices>",
        (
            f"<controller type='scsi' index='0' model='{model}'/>"
            "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
            "<source file='/img/s.img'/><target dev='sda' bus='scsi'/>"
            f"<address type='drive' controller='0' bus='0' target='0' unit='{unit}'/></disk>"
            "</devices>"
        ),
    )


# issue 15 point 3: libvirt's dry run lets these through, QEMU 7.2 refuses libvirt's line
QEMU_ONLY_REFUSES = [
    pytest.param("vmpvscsi", 1, id="pvscsi-lun-1"),
    pytest.param("lsisas1068", 2, id="mptsas-lun-2"),
    # issue 15 point 2: libvirt 9.0 writes -device dc-390, which QEMU 7.2 does not have
    pytest.param("dc390", 0, id="dc390"),
]


@pytest.mark.integration
@pytest.mark.parametrize("model,unit", QEMU_ONLY_REFUSES)
def test_qemus_refusal_of_libvirts_line_is_a_refusal(
    virsh,  # noqa: F811
    tmp_path,
    capsys,
    model,
    unit,
):
    path = tmp_path / f"{model}.xml"
    path.write_text(_scsi_domain(model, unit))
    words, why = libvirt_then_qemu(virsh, path)
    assert words is None and why.startswith("QEMU refuses"), why
    returncode, findings = _check(path, capsys)
    assert returncode == 1, (why, findings)


# libvirt refuses these, virtxlate must too (found by comparing the corpus with libvirt)
LIBVIRT_REFUSES = {
    "root-port-slot-1": pytest.param(
        "<controller type='pci' index='0' model='pcie-root'/>"
        "<controller type='pci' index='1' model='pcie-root-port'>"
        "<address type='pci' bus='0' slot='2' function='0'/></controller>"
        "<controller type='scsi' index='0' model='virtio-scsi'>"
        "<address type='pci' domain='0' bus='1' slot='1' function='0'/></controller>",
        # a pcie-root-port has one slot (0): 'Invalid PCI address 0000:01:01.0. slot
        # must be <= 0'
        id="root-port-slot-1",
    ),
}


@pytest.mark.integration
@pytest.mark.parametrize("devices", LIBVIRT_REFUSES.values())
def test_what_libvirt_refuses_virtxlate_refuses(
    virsh,  # noqa: F811
    tmp_path,
    capsys,
    devices,
):
    path = tmp_path / "domain.xml"
    path.write_text(
        ALL[0]
        .xml.replace('machine="pc"', 'machine="q35"')
        .replace("</devices>", devices + "</devices>")
    )
    words, why = libvirt_then_qemu(virsh, path)
    assert words is None and why.startswith("libvirt refuses"), why
    returncode, findings = _check(path, capsys)
    assert returncode == 1, (why, findings)
