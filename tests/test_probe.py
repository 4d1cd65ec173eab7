"""`caps probe` against the machine's real QEMU, and the QMP helper's promise to end QEMU.

The shipped tables were built on recordings of `caps probe` of Debian's qemu-system-*
7.2 (tools/caps-replies/); probing the same binary again must give, through the same
interpreter, the same table: device types, properties, buses, machine types, built-ins.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from conftest import REPO, _missing, early_run, run_cli

from virtxlate.caps.answers import read_replies
from virtxlate.caps.interpret import interpret
from virtxlate.caps.store import to_node
from virtxlate.caps.tables import parse_table, table_from_node
from virtxlate.qemu import QemuError, QemuProcess

pytestmark = pytest.mark.integration

RECORDINGS = REPO / "tools" / "caps-replies"


def _built_in(devices):  # type: ignore[no-untyped-def]
    """The device types without the OpenGL ones, which QEMU lists only once it has loaded
    their display module (it may or may not have, from one run to the next)."""
    return {name: d for name, d in devices.items() if not re.search(r"-gl(-|$)", name)}


def _recorded(arch: str):  # type: ignore[no-untyped-def]
    path = next(RECORDINGS.glob(f"probe_*_{arch}.replies.xz"))
    return table_from_node(to_node(interpret(read_replies(path))), Path(path.name))


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


def _probe(name: str) -> Path:
    """The table file of the `caps probe` run NAME (conftest.EARLY_RUNS: started as a
    process when the run's tests are known, beside them: a probe waits on QEMU most of
    its ~4.5 s) once it has ended well (asserted)."""
    run = early_run(f"probe-{name}")
    if run is None:
        _missing(f"the QEMU binary of probe-{name}", "VIRTXLATE_REQUIRE_INTEGRATION")
    result, out = run  # type: ignore[misc]
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def probed(qemu_binary):
    return parse_table(_probe("x86_64"))  # validates against schemas/caps.xsd


def test_probed_table_agrees_with_the_recording(probed):
    recorded = _recorded("x86_64")
    if probed.release != recorded.release:
        pytest.skip(f"this QEMU is {probed.release}; the recording is of {recorded.release}")
    assert _built_in(probed.devices) == _built_in(recorded.devices)
    assert probed.machines == recorded.machines
    assert probed.families == recorded.families
    assert probed.bus_types == recorded.bus_types


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
def test_other_arch_probe_agrees_with_the_shipped_table(arch):
    probed = parse_table(_probe(arch))
    recorded = _recorded(arch)
    if probed.release != recorded.release:
        pytest.skip(f"this QEMU is {probed.release}; the recording is of {recorded.release}")
    assert _built_in(probed.devices) == _built_in(recorded.devices)
    assert probed.machines == recorded.machines


def test_probe_of_one_machine(qemu_binary):
    table = parse_table(_probe("q35"))
    assert table.families["q35"].root_bus == "pcie.0"
    unknown = run_cli("caps", "probe", qemu_binary, "--machine", "no-such-machine")
    assert unknown.returncode == 2
    assert "no machine type 'no-such-machine'" in unknown.stderr
