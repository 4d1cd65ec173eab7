"""A controller index libvirt refuses is refused, and answered at once.  On pc a PCI
controller index above 255 made the placement add a pci-bridge for every bus number
below it (pci-bridge index='100000' ran for minutes; 1000 said "no findings"), where
libvirt 9.0 refuses the index after its addressing; on q35 libvirt's addressing runs out
of root-bus slots first (VX0205, as virtxlate already said).  An index beyond an int is
refused for every controller type, as libvirt's parser refuses it (a pcie-root-port
index='4294967296' ended in a MemoryError).  Messages as libvirt 9.0 gives them
(domxml-to-native); the integration test asks it again."""

from __future__ import annotations

import contextlib
import signal

import pytest
from conftest import run_cli, virsh_run

PC = """<domain type='qemu'><name>p</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
<controller type='pci' index='0' model='pci-root'/>
<controller type='{type}' index='{index}' model='{model}'/>
<disk type='file' device='disk'><driver name='qemu' type='raw'/>
<source file='/var/lib/libvirt/images/a.img'/><target dev='vda' bus='virtio'/></disk>
</devices></domain>
"""
Q35 = """<domain type='qemu'><name>q</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type></os>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
<controller type='pci' index='0' model='pcie-root'/>
<controller type='pci' index='{index}' model='pcie-root-port'/>
</devices></domain>
"""
TOO_HIGH = ("VX0100", "PCI controller index {index} too high, maximum is 255")
NOT_AN_INT = (
    "VX0100",
    "Invalid value for attribute 'index' in element 'controller': '{index}'. "
    "Expected integer value",
)
# (libvirt's message: "a PCI slot is needed to connect a PCI controller
# model='pcie-root-port', but none is available, and it cannot be automatically added")
NO_SLOT = ("VX0205", "a PCI slot is needed to connect a PCI controller")
CASES = [
    (PC, "pci", "255", "pci-bridge", None),
    (PC, "pci", "256", "pci-bridge", TOO_HIGH),
    (PC, "pci", "100000", "pci-bridge", TOO_HIGH),
    (PC, "pci", "2147483648", "pci-bridge", NOT_AN_INT),
    (PC, "scsi", "2147483648", "virtio-scsi", NOT_AN_INT),
    (PC, "scsi", "300", "virtio-scsi", None),
    (Q35, "pci", "240", "pcie-root-port", None),
    (Q35, "pci", "300", "pcie-root-port", NO_SLOT),
    (Q35, "pci", "4294967296", "pcie-root-port", NOT_AN_INT),
]
IDS = [f"{'pc' if text is PC else 'q35'}-{kind}-{index}" for text, kind, index, _, _ in CASES]


@contextlib.contextmanager
def _answered_within(seconds: int):  # type: ignore[no-untyped-def]
    """Fail (not hang) when the block runs longer than SECONDS: the defect was a loop
    over every bus number up to the index."""

    def late(signum, frame):  # type: ignore[no-untyped-def]
        raise AssertionError(f"check did not answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, late)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _write(tmp_path, text, kind, index, model):  # type: ignore[no-untyped-def]
    path = tmp_path / "d.xml"
    path.write_text(text.format(type=kind, index=index, model=model))
    return path


@pytest.mark.parametrize(("text", "kind", "index", "model", "refusal"), CASES, ids=IDS)
def test_controller_index(tmp_path, text, kind, index, model, refusal):
    """check refuses as libvirt does, at once."""
    path = _write(tmp_path, text, kind, index, model)
    with _answered_within(10):
        result = run_cli("check", str(path), "--qemu", "7.2")
    assert result.stderr == ""
    if refusal is None:
        assert result.returncode == 0, result.stdout
        assert "VX0100" not in result.stdout
    else:
        code, message = refusal
        assert result.returncode == 1, result.stdout
        assert f"error: {code}: " in result.stdout
        if code == "VX0100":
            assert message.format(index=index) in result.stdout
            assert "/@index" in result.stdout


# libvirt asked of pci-bridge index='100000' answers the same as of 256, after 2 minutes
# (its addressing, too, adds a bridge per bus number below the index): not asked again
LIBVIRT_CASES = [(case, name) for case, name in zip(CASES, IDS, strict=True) if case[2] != "100000"]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("text", "kind", "index", "model", "refusal"),
    [case for case, _ in LIBVIRT_CASES],
    ids=[name for _, name in LIBVIRT_CASES],
)
def test_libvirt_answers_so(tmp_path, virsh, text, kind, index, model, refusal):
    path = _write(tmp_path, text, kind, index, model)
    answer = virsh_run(virsh, "domxml-to-native", "qemu-argv", str(path))
    if refusal is None:
        assert answer.returncode == 0, answer.stderr
    else:
        assert answer.returncode != 0 and refusal[1].format(index=index) in answer.stderr


def test_argv_answers_at_once(tmp_path):
    """argv plans as check does: the refusal, not a loop over 100000 bus numbers."""
    path = _write(tmp_path, PC, "pci", "100000", "pci-bridge")
    with _answered_within(10):
        result = run_cli("argv", str(path), "--qemu", "7.2")
    assert result.returncode == 1
    assert "VX0100: PCI controller index 100000 too high, maximum is 255" in (
        result.stdout + result.stderr
    )
