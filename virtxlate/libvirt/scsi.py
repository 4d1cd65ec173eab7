"""libvirt's SCSI controller models and the QEMU devices they become."""

from __future__ import annotations

from ..caps import CapsTable

# <controller type='scsi' model=…> → QEMU device (qemuBuildSCSIControllerDevProps).
SCSI_MODEL_DEVICES = {
    "virtio-scsi": "virtio-scsi-pci",
    "virtio-transitional": "virtio-scsi-pci-transitional",
    "virtio-non-transitional": "virtio-scsi-pci-non-transitional",
    "lsilogic": "lsi",
    "lsisas1068": "mptsas1068",
    "lsisas1078": "megasas",
    "vmpvscsi": "pvscsi",
    "ibmvscsi": "spapr-vscsi",
    "am53c974": "am53c974",
    "dc390": "dc390",
    "ncr53c90": "esp",
}


def default_scsi_model(caps: CapsTable) -> str:
    # qemuDomainGetSCSIControllerModel: lsilogic on x86 when QEMU has it, else virtio-scsi.
    return "lsilogic" if caps.has_flag("lsi") else "virtio-scsi"


# Models whose bus has no LUNs for libvirt: a disk is placed by its unit alone
# (`bus=scsiC.B,scsi-id=UNIT`); lsilogic's alias also leaves the target out.
NARROW_SCSI_MODELS = ("lsilogic", "am53c974", "dc390", "ncr53c90")
