"""What libvirt asks the host while it builds the command line, asked the same way.

libvirt looks at the host for a few storage decisions: a block device that is a CD-ROM
drive gets QEMU's host_cdrom driver (virFileIsCDROM).  virtxlate asks the machine it runs
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


class FixedHost:
    """A host whose CD-ROM drives are the given paths (like libvirt's test mocks)."""

    def __init__(self, cdroms: tuple[str, ...] = ()):
        self.cdroms = set(cdroms)

    def is_cdrom(self, path: str) -> bool:
        return path in self.cdroms
