"""What libvirt asks the host while it builds the command line, asked the same way.

libvirt looks at the host for a few storage decisions: a block device that is a CD-ROM
drive gets QEMU's host_cdrom driver (virFileIsCDROM), and a SCSI host device is passed
through by its /dev/sgN node (virSCSIDeviceGetSgName).  virtxlate asks the machine it runs
on, like libvirt on the VM's host; tests give it a host of their own, as libvirt's own
test suite does with its mocks.
"""

from __future__ import annotations

import fcntl
import os
from typing import Protocol

_CDROM_DRIVE_STATUS = 0x5326   # linux/cdrom.h


class Host(Protocol):
    def is_cdrom(self, path: str) -> bool: ...

    def scsi_generic(self, adapter: str, bus: int, target: int, unit: int) -> str | None: ...

    def has_device_node(self, path: str) -> bool: ...

    def scsi_address(self, sg_node: str) -> tuple[str, int, int, int] | None: ...


class LocalHost:
    """This machine."""

    def is_cdrom(self, path: str) -> bool:
        # virFileIsCDROM: the path opens and answers the CD-ROM status ioctl
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return False
        try:
            fcntl.ioctl(fd, _CDROM_DRIVE_STATUS, 0)
            return True
        except OSError:
            return False
        finally:
            os.close(fd)

    def has_device_node(self, path: str) -> bool:
        return os.path.exists(path)

    def scsi_generic(self, adapter: str, bus: int, target: int, unit: int) -> str | None:
        # virSCSIDeviceGetSgName: the sg node under the device's sysfs directory
        host = adapter.removeprefix("scsi_host")
        directory = f"/sys/bus/scsi/devices/{host}:{bus}:{target}:{unit}/scsi_generic"
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return None
        return f"/dev/{names[0]}" if names else None

    def scsi_address(self, sg_node: str) -> tuple[str, int, int, int] | None:
        """The adapter and address of a /dev/sgN node: the inverse of scsi_generic."""
        name = os.path.basename(sg_node)
        try:
            device = os.path.realpath(f"/sys/class/scsi_generic/{name}/device")
            host, bus, target, unit = (int(n) for n in os.path.basename(device).split(":"))
        except (OSError, ValueError):
            return None
        return f"scsi_host{host}", bus, target, unit


class FixedHost:
    """A host whose CD-ROM drives are the given paths and whose every SCSI device has
    the given sg node (like libvirt's test mocks: /dev/sg0)."""

    def __init__(self, cdroms: tuple[str, ...] = (), scsi_generic: str | None = None,
                 device_nodes: tuple[str, ...] = ()):
        self.cdroms = set(cdroms)
        self.sg = scsi_generic
        self.device_nodes = set(device_nodes)

    def has_device_node(self, path: str) -> bool:
        return path in self.device_nodes

    def is_cdrom(self, path: str) -> bool:
        return path in self.cdroms

    def scsi_generic(self, adapter: str, bus: int, target: int, unit: int) -> str | None:
        return self.sg

    def scsi_address(self, sg_node: str) -> tuple[str, int, int, int] | None:
        return ("scsi_host0", 0, 0, 0) if sg_node == self.sg else None
