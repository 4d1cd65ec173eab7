"""What QEMU refuses of the command line libvirt writes: a -device driver name libvirt
gives that the QEMU release has no type of (libvirt's name differs from QEMU's)."""

from __future__ import annotations

from collections.abc import Iterator

from ..caps import CapsTable
from ..findings import Finding, finding_at
from ..model import Domain
from ..names.scsi import SCSI_MODEL_DEVICES, libvirt_driver_name


def libvirt_name_findings(domain: Domain, caps: CapsTable) -> list[Finding]:
    return list(_scsi_controllers(domain, caps))


def _scsi_controllers(domain: Domain, caps: CapsTable) -> Iterator[Finding]:
    """VX0306 — libvirt 9.0 writes `dc-390` for model 'dc390'; QEMU has only `dc390` and
    refuses to start ("'dc-390' is not a valid device model name")."""
    for controller in domain.controllers:
        if controller.type != "scsi":
            continue
        qemu_type = SCSI_MODEL_DEVICES.get(controller.model or "")
        if qemu_type is None:
            continue
        written = libvirt_driver_name(qemu_type)
        if written == qemu_type or caps.has_device(written):
            continue
        yield finding_at(
            "VX0306",
            "error",
            f"libvirt 9.0 writes -device '{written}' for SCSI controller model "
            f"'{controller.model}', a device QEMU {caps.version} does not have (its type is "
            f"'{qemu_type}'): QEMU refuses to start this domain",
            controller,
            domain.source,
            xpath_suffix="/@model",
            hint="no libvirt 9.0 domain can use this model; choose another SCSI controller",
        )
