"""The other devices of <devices>: balloon, RNG, TPM, watchdog, panic notifier, shared
memory, memory devices, filesystems, vsock and the IOMMU.

Names follow libvirt 9.0's domaincommon.rng (defines "memballoon", "rng", "tpm",
"watchdog", "panic", "shmem", "memorydev", "filesystem", "vsock", "iommu"); every field
reads ``None`` when the user did not write it.  A size keeps the number and its
``unit`` attribute as written (scaling belongs to the property builders).
"""

from __future__ import annotations

from .chardevs import CharSource
from .devices import Device, VirtioOptions
from .fields import INT, ON_OFF, YES_NO, Child, Children, Field, Flag, XmlObject, enumeration

VIRTIO_MODEL = ("virtio", "virtio-transitional", "virtio-non-transitional")

MEMBALLOON_MODEL = enumeration("memballoon model", (*VIRTIO_MODEL, "xen", "none"))
RNG_MODEL = enumeration("rng model", VIRTIO_MODEL)
RNG_BACKEND = enumeration("rng backend model", ("random", "egd", "builtin"))
TPM_MODEL = enumeration("tpm model", ("tpm-tis", "tpm-crb", "tpm-spapr", "spapr-tpm-proxy"))
TPM_BACKEND = enumeration("tpm backend type", ("passthrough", "emulator", "external"))
WATCHDOG_MODEL = enumeration("watchdog model", ("i6300esb", "ib700", "diag288"))
PANIC_MODEL = enumeration("panic model", ("isa", "pseries", "hyperv", "s390"))
SHMEM_MODEL = enumeration("shmem model", ("ivshmem", "ivshmem-plain", "ivshmem-doorbell"))
MEMORY_MODEL = enumeration(
    "memory device model", ("dimm", "nvdimm", "virtio-pmem", "virtio-mem", "sgx-epc")
)
IOMMU_MODEL = enumeration("iommu model", ("intel", "smmuv3", "virtio"))


class Memballoon(Device):
    """<memballoon model autodeflate freePageReporting>."""

    model = Field("@model", MEMBALLOON_MODEL)
    autodeflate = Field("@autodeflate", ON_OFF)
    free_page_reporting = Field("@freePageReporting", ON_OFF)
    stats_period = Field("stats/@period", INT)
    driver = Child(VirtioOptions, "driver")


class RngBackend(XmlObject):
    """<rng><backend model>: random (a device path as text), egd (a chardev: @type and
    <source>s), builtin."""

    model = Field("@model", RNG_BACKEND)
    type = Field("@type")
    sources = Children(CharSource, "source")
    protocol = Field("protocol/@type")

    @property
    def path(self) -> str | None:
        """The random back-end's device (/dev/urandom …): the element's text; None when
        empty or for other models."""
        if self.model != "random":
            return None
        text = "".join(self.element.itertext()).strip()
        return text or None


class Rng(Device):
    """<rng model>."""

    model = Field("@model", RNG_MODEL)
    backend = Child(RngBackend, "backend")
    rate_bytes = Field("rate/@bytes", INT)
    rate_period = Field("rate/@period", INT)
    driver = Child(VirtioOptions, "driver")


class TpmBackend(XmlObject):
    """<tpm><backend type version>: passthrough (device/@path), emulator (swtpm:
    version, persistent state, encryption secret, PCR banks), external (a socket)."""

    type = Field("@type", TPM_BACKEND)
    version = Field("@version")
    persistent_state = Field("@persistent_state", YES_NO)
    device_path = Field("device/@path")
    encryption_secret = Field("encryption/@secret")
    source_type = Field("source/@type")
    source_path = Field("source/@path")

    @property
    def active_pcr_banks(self) -> list[str]:
        """The banks named under <active_pcr_banks> in order (sha1, sha256, …)."""
        banks = self.element.find("active_pcr_banks")
        if banks is None:
            return []
        return [str(node.tag) for node in banks if isinstance(node.tag, str)]


class Tpm(Device):
    """<tpm model>."""

    model = Field("@model", TPM_MODEL)
    backend = Child(TpmBackend, "backend")


class Watchdog(Device):
    """<watchdog model action>."""

    model = Field("@model", WATCHDOG_MODEL)
    action = Field("@action")


class Panic(Device):
    """<panic model>: pvpanic (isa), hyperv, pseries, s390."""

    model = Field("@model", PANIC_MODEL)


class Shmem(Device):
    """<shmem name role>: an ivshmem device; size and unit as written."""

    name = Field("@name")
    role = Field("@role")
    model = Field("model/@type", SHMEM_MODEL)
    size = Field("size", INT)
    size_unit = Field("size/@unit")
    server_path = Field("server/@path")
    msi_vectors = Field("msi/@vectors", INT)
    msi_ioeventfd = Field("msi/@ioeventfd", ON_OFF)


class MemorySource(XmlObject):
    """<memory><source>: page size, host nodes, the backing path (nvdimm, virtio-pmem)."""

    pagesize = Field("pagesize", INT)
    pagesize_unit = Field("pagesize/@unit")
    nodemask = Field("nodemask")
    path = Field("path")
    alignsize = Field("alignsize", INT)
    alignsize_unit = Field("alignsize/@unit")
    pmem = Flag("pmem")


class MemoryTarget(XmlObject):
    """<memory><target>: size, guest NUMA node, nvdimm label, virtio-mem block/requested/
    current sizes; each value with its unit as written."""

    size = Field("size", INT)
    size_unit = Field("size/@unit")
    node = Field("node", INT)
    label_size = Field("label/size", INT)
    label_size_unit = Field("label/size/@unit")
    block = Field("block", INT)
    block_unit = Field("block/@unit")
    requested = Field("requested", INT)
    requested_unit = Field("requested/@unit")
    current = Field("current", INT)
    current_unit = Field("current/@unit")
    readonly = Flag("readonly")


class MemoryDevice(Device):
    """<memory model access discard>: dimm, nvdimm, virtio-pmem, virtio-mem, sgx-epc."""

    model = Field("@model", MEMORY_MODEL)
    access = Field("@access")
    discard = Field("@discard", YES_NO)
    uuid = Field("uuid")
    source = Child(MemorySource, "source")
    target = Child(MemoryTarget, "target")


class FilesystemDriver(VirtioOptions):
    """<filesystem><driver type format wrpolicy queue>: path/handle (9p) or virtiofs."""

    type = Field("@type")
    format = Field("@format")
    wrpolicy = Field("@wrpolicy")
    queue = Field("@queue", INT)


class Filesystem(Device):
    """<filesystem type accessmode model>."""

    type = Field("@type")
    accessmode = Field("@accessmode")
    model = Field("@model")
    multidevs = Field("@multidevs")
    fmode = Field("@fmode")
    dmode = Field("@dmode")
    driver = Child(FilesystemDriver, "driver")
    binary_path = Field("binary/@path")
    binary_xattr = Field("binary/@xattr", ON_OFF)
    source_dir = Field("source/@dir")
    source_file = Field("source/@file")
    source_dev = Field("source/@dev")
    source_name = Field("source/@name")
    source_socket = Field("source/@socket")
    source_usage = Field("source/@usage", INT)
    source_units = Field("source/@units")
    target_dir = Field("target/@dir")
    readonly = Flag("readonly")


class Vsock(Device):
    """<vsock model><cid auto address>."""

    model = Field("@model")
    cid_auto = Field("cid/@auto", YES_NO)
    cid_address = Field("cid/@address", INT)
    driver = Child(VirtioOptions, "driver")


class IommuDriver(XmlObject):
    """<iommu><driver>: intel-iommu's and virtio-iommu's properties."""

    intremap = Field("@intremap", ON_OFF)
    caching_mode = Field("@caching_mode", ON_OFF)
    eim = Field("@eim", ON_OFF)
    iotlb = Field("@iotlb", ON_OFF)
    aw_bits = Field("@aw_bits", INT)


class Iommu(Device):
    """<iommu model>."""

    model = Field("@model", IOMMU_MODEL)
    driver = Child(IommuDriver, "driver")


__all__ = [
    "Filesystem",
    "FilesystemDriver",
    "Iommu",
    "IommuDriver",
    "Memballoon",
    "MemoryDevice",
    "MemorySource",
    "MemoryTarget",
    "Panic",
    "Rng",
    "RngBackend",
    "Shmem",
    "Tpm",
    "TpmBackend",
    "Vsock",
    "Watchdog",
]
