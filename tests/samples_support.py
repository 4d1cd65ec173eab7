"""Running the samples for real: their images made in a temp dir, their storage options."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from conftest import SAMPLES

IMAGE_RE = re.compile(r"/var/lib/libvirt/images/([\w.-]+)")

# Samples whose command line QEMU cannot run here, and why.
NOT_RUNNABLE = {
    "needs-newer-qemu.xml": "invalid on purpose (check's example)",
    "scsi-cdrom-and-lun.xml": "passes a host block device through (scsi-block)",
    "network-disks.xml": "needs its NBD, iSCSI, Gluster, RBD and HTTPS servers",
    "scsi-hostdev-iscsi.xml": "needs its iSCSI server",
}
# Samples where virtxlate does not yet give what libvirt gives, and why.
LIBVIRT_GAPS: dict[str, str] = {}


def runnable_samples() -> list[Path]:
    return [p for p in sorted(SAMPLES.glob("*.xml")) if p.name not in NOT_RUNNABLE]


def with_images(sample: Path, directory: Path) -> str:
    """The sample's XML with each image path moved into DIRECTORY, the images created
    (qcow2 where the disk says so, raw otherwise; 1 MiB; a floppy 1.44 MB)."""
    text = sample.read_text()
    for name in sorted(set(IMAGE_RE.findall(text))):
        path = directory / name
        fmt = "qcow2" if name.endswith(".qcow2") else "raw"
        size = "1474560" if "floppy" in name else "1M"
        if shutil.which("qemu-img"):
            subprocess.run(["qemu-img", "create", "-q", "-f", fmt, str(path), size], check=True)
        else:
            path.write_bytes(b"\0" * 1024 * 1024)
        text = text.replace(f"/var/lib/libvirt/images/{name}", str(path))
    return text
