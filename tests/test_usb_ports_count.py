"""A USB controller's ports: more than 15 on an xHCI controller is refused as libvirt
refuses it (VX0230), and a huge count is answered, not a MemoryError (the placement
once made a list of that many ports).  Messages as libvirt 9.0 gives them; the
integration test asks it again."""

from __future__ import annotations

import pytest
from conftest import run_cli, virsh_run

DOMAIN = """<domain type='qemu'><name>u</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type></os>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
<controller type='usb' index='0' model='{model}' ports='{ports}'/>
<input type='tablet' bus='usb'/><input type='keyboard' bus='usb'/>
</devices></domain>
"""
LIMIT = "'{model}' controller only supports up to '15' ports"
CASES = [
    ("qemu-xhci", "15", None),
    ("qemu-xhci", "16", LIMIT),
    ("nec-xhci", "100000", LIMIT),
    ("qemu-xhci", "2147483647", LIMIT),
]


@pytest.mark.parametrize(("model", "ports", "refusal"), CASES)
def test_xhci_ports(tmp_path, model, ports, refusal):
    path = tmp_path / "d.xml"
    path.write_text(DOMAIN.format(model=model, ports=ports))
    result = run_cli("check", str(path), "--qemu", "7.2")
    if refusal is None:
        assert (result.returncode, result.stdout) == (0, f"{path}: no findings\n")
    else:
        assert result.returncode == 1
        assert f"error: VX0230: {refusal.format(model=model)} (libvirt), not {ports}" in (
            result.stdout
        )


def test_a_huge_port_count_is_answered_not_a_memory_error(tmp_path):
    # ich9-ehci1 has no ports property: the line's refusal, after placement
    path = tmp_path / "d.xml"
    path.write_text(DOMAIN.format(model="ich9-ehci1", ports="99999999999"))
    result = run_cli("check", str(path), "--qemu", "7.2")
    assert result.returncode == 1 and result.stderr == ""
    assert "has no 'ports'" in result.stdout


@pytest.mark.integration
@pytest.mark.parametrize(("model", "ports", "refusal"), CASES)
def test_libvirt_answers_so(tmp_path, virsh, model, ports, refusal):
    path = tmp_path / "d.xml"
    path.write_text(DOMAIN.format(model=model, ports=ports))
    answer = virsh_run(virsh, "domxml-to-native", "qemu-argv", str(path))
    if refusal is None:
        assert answer.returncode == 0, answer.stderr
    else:
        assert answer.returncode != 0 and refusal.format(model=model) in answer.stderr
