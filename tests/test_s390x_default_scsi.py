"""A SCSI controller without a model on s390x is virtio-scsi (virtio-scsi-ccw), as
libvirt 9.0 makes it (qemuDomainGetSCSIControllerModel), not lsilogic, which
qemu-system-s390x lacks: check said VX0303 where libvirt and QEMU go on.  The sample
samples/s390x-ccw-storage.xml with its controller's model left out; the integration
test asks libvirt again."""

from __future__ import annotations

import pytest
from conftest import REPO, run_cli, virsh_run

SCSI = '{"driver":"virtio-scsi-ccw","id":"scsi0","num_queues":2,"devno":"fe.0.0001"}'


def _write(tmp_path):
    text = (REPO / "samples" / "s390x-ccw-storage.xml").read_text()
    assert " model='virtio-scsi'" in text
    path = tmp_path / "d.xml"
    path.write_text(text.replace(" model='virtio-scsi'", "", 1))
    return path


def test_a_model_less_scsi_controller_on_s390x_is_virtio_scsi(tmp_path):
    path = _write(tmp_path)
    result = run_cli("check", str(path), "--qemu", "7.2")
    assert (result.returncode, result.stdout) == (0, f"{path}: no findings\n")
    lines = run_cli("argv", str(path), "--qemu", "7.2", "--format", "lines").stdout
    assert f"-device '{SCSI}'" in lines.splitlines()


@pytest.mark.integration
def test_libvirt_makes_it_virtio_scsi(tmp_path, virsh):
    answer = virsh_run(virsh, "domxml-to-native", "qemu-argv", str(_write(tmp_path)))
    assert answer.returncode == 0, answer.stderr
    assert f"-device '{SCSI}'" in answer.stdout
