"""`caps probe` against the machine's real QEMU, and the QMP helper's promise to end QEMU.

The shipped 7.2 table was made by `virtxlate caps probe` from Debian's qemu-system-x86
7.2 with libvirt's 7.2 flags; probing the same binary again must agree with it on every
device type, property and machine type the table lists.
"""

from __future__ import annotations

import os
import time

import pytest
from conftest import REPO, run_cli

from virtxlate.caps.tables import parse_table
from virtxlate.qemu import QemuError, QemuProcess

pytestmark = pytest.mark.integration

SHIPPED = REPO / "virtxlate" / "caps" / "data" / "qemu-7.2-x86_64.xml"


def _gone(pid: int) -> bool:
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # a zombie is gone for our purpose once its parent (us) has reaped it
        with open(f"/proc/{pid}/stat") as handle:
            if handle.read().split()[2] == "Z":
                return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def probed(tmp_path_factory, qemu_binary):
    out = tmp_path_factory.mktemp("probe") / "probed.xml"
    result = run_cli("caps", "probe", qemu_binary, "--output", str(out))
    assert result.returncode == 0, result.stderr
    return parse_table(out)  # validates against schemas/caps.xsd


def test_probed_table_agrees_with_the_shipped_one(probed):
    shipped = parse_table(SHIPPED)
    if probed.release != shipped.release:
        pytest.skip(f"this QEMU is {probed.release}; the shipped table is {shipped.release}")
    assert set(shipped.devices) <= set(probed.devices)
    for name, device in shipped.devices.items():
        other = probed.devices[name]
        assert (other.parent, other.abstract, other.creatable, other.plugs_into,
                other.embeds, other.buses) == \
            (device.parent, device.abstract, device.creatable, device.plugs_into,
             device.embeds, device.buses), name
        probed_props = {p.name: p for p in other.props}
        for prop in device.props:
            assert probed_props.get(prop.name) == prop, (name, prop.name)
    assert {m.name: m for m in probed.machines} == {m.name: m for m in shipped.machines}
    assert probed.families == shipped.families


def test_probe_sees_the_virtio_structure(probed):
    proxy = probed.device("virtio-scsi-pci")
    assert proxy.embeds == "virtio-scsi-device"
    assert [(b.bus_type, b.name_rule) for b in proxy.buses] == [("virtio-pci-bus", "virtio-bus")]
    inner = probed.device("virtio-scsi-device")
    assert [(b.bus_type, b.name_rule) for b in inner.buses] == [("SCSI", "{proxy-id}.0")]
    assert probed.device("virtio-scsi-common").abstract
    assert probed.device("lsi").name == "lsi53c895a"


def test_qemu_process_ends_what_it_started(qemu_binary):
    with QemuProcess(qemu_binary) as qemu:
        pid = qemu.pid
        assert qemu.execute("query-status")["status"] == "prelaunch"
    assert pid is not None and _gone(pid)


def test_qemu_process_ends_on_error(qemu_binary):
    with pytest.raises(QemuError, match="no-such-command"):
        with QemuProcess(qemu_binary) as qemu:
            pid = qemu.pid
            qemu.execute("no-such-command")
    assert _gone(pid)


def test_qemu_that_cannot_start_is_an_error(qemu_binary, tmp_path):
    with pytest.raises(QemuError, match="exited at start"):
        with QemuProcess(qemu_binary, ["-machine", "no-such-machine"]):
            pass
    with pytest.raises(QemuError, match="not found"):
        QemuProcess(str(tmp_path / "nothing")).start()
    result = run_cli("caps", "probe", str(tmp_path / "nothing"))
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("arch", ["s390x", "aarch64"])
def test_other_arch_probe_agrees_with_the_shipped_table(arch, tmp_path):
    import shutil

    binary = shutil.which(f"qemu-system-{arch}")
    if binary is None:
        from conftest import _missing

        _missing(f"qemu-system-{arch}", "VIRTXLATE_REQUIRE_INTEGRATION")
    out = tmp_path / "probed.xml"
    result = run_cli("caps", "probe", binary, "--output", str(out))
    assert result.returncode == 0, result.stderr
    probed = parse_table(out)
    shipped = parse_table(REPO / "virtxlate" / "caps" / "data" / f"qemu-7.2-{arch}.xml")
    if probed.release != shipped.release:
        pytest.skip(f"this QEMU is {probed.release}; the shipped table is {shipped.release}")
    assert probed.devices == shipped.devices
    assert probed.machines == shipped.machines


def test_probe_of_one_machine(qemu_binary, tmp_path):
    out = tmp_path / "q35.xml"
    result = run_cli("caps", "probe", qemu_binary, "--machine", "q35", "--output", str(out))
    assert result.returncode == 0, result.stderr
    table = parse_table(out)
    assert table.families["q35"].root_bus == "pcie.0"
    unknown = run_cli("caps", "probe", qemu_binary, "--machine", "no-such-machine")
    assert unknown.returncode == 2
    assert "no machine type 'no-such-machine'" in unknown.stderr
