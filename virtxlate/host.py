"""What libvirt asks the host while it builds the command line, asked the same way.

libvirt looks at the host for a few storage decisions: a block device that is a CD-ROM
drive gets QEMU's host_cdrom driver (virFileIsCDROM), a SCSI host device is passed
through by its /dev/sgN node (virSCSIDeviceGetSgName), and vhost-scsi needs
/dev/vhost-scsi.  A pre-flight check usually runs on another machine than the VM's host,
so virtxlate asks no host unless told to: UnknownHost (the default) answers with named
placeholders and the translation says, in an info finding (VX0701), what it could not
know; LocalHost (``--host local``, or ``--connect`` to this machine's libvirt) asks the
machine virtxlate runs on; tests give a FixedHost, as libvirt's test suite mocks its host.
"""

from __future__ import annotations

import fcntl
import os
import re
from typing import Protocol

_CDROM_DRIVE_STATUS = 0x5326  # linux/cdrom.h
HOSTS = ("none", "local")  # --host: no host facts (the default), or this machine's
# the hint of a VX0701 finding: how to have the VM's host asked
ASK_THE_HOST = "check on the VM's host with --host local, or through its libvirt with --connect"

# Written where libvirt writes the /dev/sgN node of a SCSI host device when no host is
# asked: the sg number is the host's; the adapter and address say which device it is.
SG_PLACEHOLDER = "/dev/sgN@{adapter}:{bus}:{target}:{unit}"
_SG_PLACEHOLDER_RE = re.compile(r"/dev/sgN@(scsi_host\d+):(\d+):(\d+):(\d+)")


class Host(Protocol):
    """What libvirt asks the VM's host; ``known`` is False when nothing is looked up."""

    known: bool

    def is_cdrom(self, path: str) -> bool: ...

    def scsi_generic(self, adapter: str, bus: int, target: int, unit: int) -> str | None: ...

    def has_device_node(self, path: str) -> bool: ...

    def scsi_address(self, sg_node: str) -> tuple[str, int, int, int] | None: ...


def host_known(host: object) -> bool:
    """Whether HOST answers from a real (or mocked) host, not with placeholders."""
    return bool(getattr(host, "known", True))


class UnknownHost:
    """No host looked up: what libvirt would find on the VM's host is not known here.

    The answers let the translation go on as libvirt would on a host that has what the
    domain needs; the translation adds a VX0701 info finding for each thing assumed.
    """

    known = False

    def is_cdrom(self, path: str) -> bool:
        return False  # host_device, as libvirt writes for a block device not a drive

    def has_device_node(self, path: str) -> bool:
        return True

    def scsi_generic(self, adapter: str, bus: int, target: int, unit: int) -> str | None:
        return SG_PLACEHOLDER.format(adapter=adapter, bus=bus, target=target, unit=unit)

    def scsi_address(self, sg_node: str) -> tuple[str, int, int, int] | None:
        """The address a placeholder names; a real /dev/sgN node is not looked up."""
        match = _SG_PLACEHOLDER_RE.fullmatch(sg_node)
        if match is None:
            return None
        return match.group(1), int(match.group(2)), int(match.group(3)), int(match.group(4))


class LocalHost:
    """This machine."""

    known = True

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

    known = True

    def __init__(
        self,
        cdroms: tuple[str, ...] = (),
        scsi_generic: str | None = None,
        device_nodes: tuple[str, ...] = (),
    ):
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
