"""libvirt's names for QEMU's device types: the SCSI controller models and the virtio
(non-)transitional models.  Placement asks them what kind of device a controller is; props
write them."""
