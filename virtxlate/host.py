"""What libvirt asks the host while it builds the command line, asked the same way.

libvirt looks at the host for a few storage decisions: a block device that is a CD-ROM
drive gets QEMU's host_cdrom driver (virFileIsCDROM), a SCSI host device is passed
through by its /dev/sgN node (virSCSIDeviceGetSgName), and vhost-scsi needs
/dev/vhost-scsi.  A pre-flight check usually runs on another machine than the VM's host,
so virtxlate asks no host unless told to: UnknownHost (the default) answers with named
placeholders and the translation says, in an info finding (VX0701), what it could not
know; LocalHost (``--host local``, or ``--connect`` to this machine's libvirt) asks the
machine virtxlate runs on; tests give a FixedHost, as libvirt's test suite mocks its host.
LibvirtHost (``--connect`` to a libvirt on this machine) is that machine asked through its
libvirt where libvirt's own answer is what counts: the host-model CPU of its domain
capabilities and whether its QEMU supports SEV or s390 protected virtualization.
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple, Protocol

_CDROM_DRIVE_STATUS = 0x5326  # linux/cdrom.h
HOSTS = ("none", "local")  # --host: no host facts (the default), or this machine's
# the hint of a VX0701 finding: how to have the VM's host asked
ASK_THE_HOST = "check on the VM's host with --host local, or through its libvirt with --connect"

# Written where libvirt writes the /dev/sgN node of a SCSI host device when no host is
# asked: the sg number is the host's; the adapter and address say which device it is.
SG_PLACEHOLDER = "/dev/sgN@{adapter}:{bus}:{target}:{unit}"
# (patterns compiled at first use, by re's cache: not at every start)
_SG_PLACEHOLDER_RE = r"/dev/sgN@(scsi_host\d+):(\d+):(\d+):(\d+)"


class Host(Protocol):
    """What libvirt asks the VM's host; ``known`` is False when nothing is looked up."""

    known: bool

    def is_cdrom(self, path: str) -> bool: ...

    def scsi_generic(self, adapter: str, bus: int, target: int, unit: int) -> str | None: ...

    def has_device_node(self, path: str) -> bool: ...

    def scsi_address(self, sg_node: str) -> tuple[str, int, int, int] | None: ...

    def launch_security(self, kind: str) -> bool: ...

    def host_model_cpu(self, request: CpuRequest) -> HostCpu | None: ...

    def free_port(self, first: int, taken: frozenset[int] = frozenset()) -> int | None: ...


class CpuRequest(NamedTuple):
    """Which of libvirt's domain capabilities a domain's CPU is expanded from
    (virConnectGetDomainCapabilities' emulator, arch, machine and virttype)."""

    emulator: str | None
    arch: str | None
    machine: str | None
    virttype: str | None


class HostCpu(NamedTuple):
    """The host-model CPU of libvirt's domain capabilities: the model and each feature
    with its policy (require, disable), in libvirt's feature names and order."""

    model: str
    features: tuple[tuple[str, str], ...]


# Where the host says whether it can run a guest of each <launchSecurity type>, read as
# libvirt reads it (virQEMUCapsKVMSupportsSecureGuestAMD, …S390): SEV when kvm_amd's sev
# parameter is on and /dev/sev exists; s390 PV when the ultravisor is there and the kernel
# was started with prot_virt on.
_SEV_PARAMETER = "/sys/module/kvm_amd/parameters/sev"
_SEV_DEVICE = "/dev/sev"
_PV_ULTRAVISOR = "/sys/firmware/uv"
_KERNEL_CMDLINE = "/proc/cmdline"
_PROT_VIRT_ON = r"(?:^|\s)prot_virt=[\"']?(?:on|1|y|yes)"
# virPortAllocator's range for graphics: libvirt's qemu.conf remote_display_port_max
_PORT_MAX = 65535


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
        match = re.fullmatch(_SG_PLACEHOLDER_RE, sg_node)
        if match is None:
            return None
        return match.group(1), int(match.group(2)), int(match.group(3)), int(match.group(4))

    def launch_security(self, kind: str) -> bool:
        return True  # as on a host that has it; the translation says so (VX0701)

    def host_model_cpu(self, request: CpuRequest) -> HostCpu | None:
        return None

    def free_port(self, first: int, taken: frozenset[int] = frozenset()) -> int | None:
        return None


class LocalHost:
    """This machine."""

    known = True

    def is_cdrom(self, path: str) -> bool:
        # virFileIsCDROM: the path opens and answers the CD-ROM status ioctl
        import fcntl  # (here: only a host asked imports it)

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

    def launch_security(self, kind: str) -> bool:
        if kind == "sev":
            return _read(_SEV_PARAMETER) in ("1", "Y", "y") and os.path.exists(_SEV_DEVICE)
        if kind == "s390-pv":
            return os.path.isdir(_PV_ULTRAVISOR) and bool(
                re.search(_PROT_VIRT_ON, _read(_KERNEL_CMDLINE, 4096), re.IGNORECASE)
            )
        return False

    def host_model_cpu(self, request: CpuRequest) -> HostCpu | None:
        return None  # libvirt's expansion of the host CPU: LibvirtHost asks it

    def free_port(self, first: int, taken: frozenset[int] = frozenset()) -> int | None:
        """The first port from FIRST that nothing listens on and TAKEN does not hold, as
        virPortAllocatorAcquire finds it (it binds the port on IPv4 and IPv6)."""
        for port in range(first, _PORT_MAX + 1):
            if port not in taken and _bindable(port):
                return port
        return None


class LibvirtHost(LocalHost):
    """This machine, asked through its libvirt at URI where libvirt's answer is what it
    writes: the host-model CPU and launch security of its domain capabilities."""

    def __init__(self, uri: str):
        self.uri = uri
        self._domcaps: dict[CpuRequest, str] = {}

    def _capabilities(self, request: CpuRequest) -> str:
        from .live import domain_capabilities

        if request not in self._domcaps:
            self._domcaps[request] = domain_capabilities(self.uri, *request)
        return self._domcaps[request]

    def launch_security(self, kind: str) -> bool:
        # <features><sev supported='yes'> / <s390-pv supported='yes'> of the default
        # binary's domain capabilities (virQEMUCapsFillDomainFeatureSEVCaps …)
        from lxml import etree

        text = self._capabilities(CpuRequest(None, None, None, None))
        node = etree.fromstring(text.encode()).find(f"features/{kind}")
        return node is not None and node.get("supported") == "yes"

    def host_model_cpu(self, request: CpuRequest) -> HostCpu | None:
        from lxml import etree

        root = etree.fromstring(self._capabilities(request).encode())
        mode = root.find("cpu/mode[@name='host-model']")
        if mode is None or mode.get("supported") != "yes" or not mode.findtext("model"):
            return None
        features = tuple(
            (str(f.get("name")), str(f.get("policy"))) for f in mode.iterfind("feature")
        )
        return HostCpu(str(mode.findtext("model")), features)


def _read(path: str, most: int = 64) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as file:
            return file.read(most).strip()
    except OSError:
        return ""


def _bindable(port: int) -> bool:
    """Whether PORT can be bound on IPv4 and (where the host has it) IPv6."""
    import socket  # (here: 2 ms of a cold start that asks no host)

    for family, address in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue  # no IPv6 on this host
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((address, port))
        except OSError:
            return False
        finally:
            sock.close()
    return True


class FixedHost:
    """A host whose CD-ROM drives are the given paths, whose every SCSI device has the
    given sg node (like libvirt's test mocks: /dev/sg0), with the given launch security
    types, host-model CPU and ports in use."""

    known = True

    def __init__(
        self,
        cdroms: tuple[str, ...] = (),
        scsi_generic: str | None = None,
        device_nodes: tuple[str, ...] = (),
        launch_security: tuple[str, ...] = (),
        host_cpu: HostCpu | None = None,
        ports_taken: tuple[int, ...] = (),
    ):
        self.cdroms = set(cdroms)
        self.sg = scsi_generic
        self.device_nodes = set(device_nodes)
        self.security = set(launch_security)
        self.host_cpu = host_cpu
        self.ports_taken = set(ports_taken)

    def launch_security(self, kind: str) -> bool:
        return kind in self.security

    def host_model_cpu(self, request: CpuRequest) -> HostCpu | None:
        return self.host_cpu

    def free_port(self, first: int, taken: frozenset[int] = frozenset()) -> int | None:
        return next(
            (p for p in range(first, _PORT_MAX + 1) if p not in taken | self.ports_taken), None
        )

    def has_device_node(self, path: str) -> bool:
        return path in self.device_nodes

    def is_cdrom(self, path: str) -> bool:
        return path in self.cdroms

    def scsi_generic(self, adapter: str, bus: int, target: int, unit: int) -> str | None:
        return self.sg

    def scsi_address(self, sg_node: str) -> tuple[str, int, int, int] | None:
        return ("scsi_host0", 0, 0, 0) if sg_node == self.sg else None
