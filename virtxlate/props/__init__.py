"""Each device kind's QEMU options as libvirt builds them from a placed definition (as
qemuBuildDiskDeviceProps and its siblings): the XML ↔ QEMU property mappings, the
back-end (-drive / -blockdev) properties, and the Option they are written into.
"""
