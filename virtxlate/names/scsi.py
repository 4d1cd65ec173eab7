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


# Where the -device driver libvirt 9.0 writes is not the QEMU type's name: model dc390 is
# written "dc-390" (qemuBuildSCSIControllerDevProps), a name no QEMU release has, so QEMU
# refuses to start ("'dc-390' is not a valid device model name", checked with QEMU 7.2).
# Found by setting the strings of libvirt 9.0's QEMU driver beside QEMU 7.2's device and
# object types (dashes and underscores aside): this is the only such difference.
LIBVIRT_DRIVER_NAMES = {"dc390": "dc-390"}


# QEMU device → libvirt model, for reading a command line back: the table above turned
# round, plus the other names a command line may give the same controllers (QEMU's own
# lsi53c895a for its alias lsi, the ccw and mmio virtio-scsi, libvirt's dc-390).
SCSI_DEVICE_MODELS = {device: model for model, device in SCSI_MODEL_DEVICES.items()} | {
    "virtio-scsi-ccw": "virtio-scsi",
    "virtio-scsi-device": "virtio-scsi",
    "lsi53c895a": "lsilogic",
}
SCSI_DEVICE_MODELS |= {
    written: SCSI_DEVICE_MODELS[qemu_type]
    for qemu_type, written in LIBVIRT_DRIVER_NAMES.items()
    if qemu_type in SCSI_DEVICE_MODELS
}

# <disk device=…> on a SCSI bus → the QEMU device (qemuBuildDiskDeviceProps)
SCSI_DISK_DEVICES = {"disk": "scsi-hd", "cdrom": "scsi-cd", "lun": "scsi-block"}


def scsi_model_of(device: str) -> str | None:
    """The libvirt SCSI controller model of QEMU DEVICE (transitional ones too)."""
    model = SCSI_DEVICE_MODELS.get(device)
    if model is None:
        for suffix in ("-non-transitional", "-transitional"):  # longest first
            if device.endswith(suffix):
                return SCSI_DEVICE_MODELS.get(device[: -len(suffix)])
    return model


def libvirt_driver_name(qemu_type: str) -> str:
    """The -device driver libvirt writes for QEMU device type QEMU_TYPE."""
    return LIBVIRT_DRIVER_NAMES.get(qemu_type, qemu_type)


def default_scsi_model(caps: CapsTable) -> str:
    # qemuDomainGetSCSIControllerModel: virtio-scsi on s390 (checked with libvirt 9.0:
    # virtio-scsi-ccw for a model-less controller, though its flags list lsi), else
    # lsilogic when QEMU has it, else virtio-scsi
    if caps.arch in ("s390", "s390x"):
        return "virtio-scsi"
    return "lsilogic" if caps.has_flag("lsi") else "virtio-scsi"


# Models whose bus has no LUNs for libvirt: a disk is placed by its unit alone
# (`bus=scsiC.B,scsi-id=UNIT`); lsilogic's alias also leaves the target out.
NARROW_SCSI_MODELS = ("lsilogic", "am53c974", "dc390", "ncr53c90")

# The virtio-scsi models: their <driver> options are written (qemuBuildControllerSCSIDevProps)
VIRTIO_SCSI_MODELS = ("virtio-scsi", "virtio-transitional", "virtio-non-transitional")
