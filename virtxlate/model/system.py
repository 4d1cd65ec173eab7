"""The domain-wide parts outside <devices>: <os>, <features>, <cpu>, <clock>, <pm>,
<launchSecurity>.

Names follow libvirt 9.0's domaincommon.rng (defines "os"/"oshvm", "features",
"hyperv", "kvm", "clock", "timer", "pm", "launchSecurity") and cputypes.rng; every field
reads ``None`` when the user did not write it.
"""

from __future__ import annotations

from .fields import (
    INT,
    ON_OFF,
    STR_OR_NONE,
    YES_NO,
    Child,
    Children,
    Field,
    Flag,
    XmlObject,
    enumeration,
)

CPU_MODE = enumeration("cpu mode", ("custom", "host-model", "host-passthrough", "maximum"))
FEATURE_POLICY = enumeration(
    "cpu feature policy", ("force", "require", "optional", "disable", "forbid")
)


class Loader(XmlObject):
    """<os><loader readonly secure type stateless>path</loader>."""

    path = Field(".")
    readonly = Field("@readonly", YES_NO)
    secure = Field("@secure", YES_NO)
    type = Field("@type")
    stateless = Field("@stateless", YES_NO)


class Nvram(XmlObject):
    """<os><nvram template>path</nvram> (or a <source> as a disk's, for a network NVRAM)."""

    path = Field(".")
    template = Field("@template")
    type = Field("@type")
    source_file = Field("source/@file")
    source_dev = Field("source/@dev")


class Os(XmlObject):
    """<os firmware>: guest type, machine, firmware, boot order, direct kernel boot."""

    firmware = Field("@firmware")
    type = Field("type")
    arch = Field("type/@arch")
    machine = Field("type/@machine", STR_OR_NONE)
    loader = Child(Loader, "loader")
    nvram = Child(Nvram, "nvram")
    kernel = Field("kernel")
    initrd = Field("initrd")
    cmdline = Field("cmdline")
    dtb = Field("dtb")
    root = Field("root")
    bootmenu_enable = Field("bootmenu/@enable", YES_NO)
    bootmenu_timeout = Field("bootmenu/@timeout", INT)
    smbios_mode = Field("smbios/@mode")
    bios_useserial = Field("bios/@useserial", YES_NO)
    bios_reboot_timeout = Field("bios/@rebootTimeout", INT)
    acpi_table = Field("acpi/table")
    acpi_table_type = Field("acpi/table/@type")

    @property
    def boot_devs(self) -> list[str]:
        """<boot dev=…/> in order."""
        return [node.get("dev", "") for node in self.element.iterchildren("boot")]

    @property
    def firmware_features(self) -> dict[str, bool]:
        """<firmware><feature name enabled> as name → enabled."""
        return {
            node.get("name", ""): node.get("enabled") == "yes"
            for node in self.element.iterfind("firmware/feature")
        }


class FeatureState(XmlObject):
    """A feature element with an optional @state (on/off): <pmu state='off'/>."""

    state = Field("@state", ON_OFF)


class Hyperv(XmlObject):
    """<features><hyperv mode>: each enlightenment is a child with @state."""

    mode = Field("@mode")
    relaxed = Field("relaxed/@state", ON_OFF)
    vapic = Field("vapic/@state", ON_OFF)
    spinlocks = Field("spinlocks/@state", ON_OFF)
    spinlocks_retries = Field("spinlocks/@retries", INT)
    vpindex = Field("vpindex/@state", ON_OFF)
    runtime = Field("runtime/@state", ON_OFF)
    synic = Field("synic/@state", ON_OFF)
    stimer = Field("stimer/@state", ON_OFF)
    stimer_direct = Field("stimer/direct/@state", ON_OFF)
    reset = Field("reset/@state", ON_OFF)
    vendor_id = Field("vendor_id/@state", ON_OFF)
    vendor_id_value = Field("vendor_id/@value")
    frequencies = Field("frequencies/@state", ON_OFF)
    reenlightenment = Field("reenlightenment/@state", ON_OFF)
    tlbflush = Field("tlbflush/@state", ON_OFF)
    ipi = Field("ipi/@state", ON_OFF)
    evmcs = Field("evmcs/@state", ON_OFF)
    avic = Field("avic/@state", ON_OFF)


class Features(XmlObject):
    """<features>: presence flags (acpi, pae, …) and state-carrying children."""

    acpi = Flag("acpi")
    pae = Flag("pae")
    apic = Flag("apic")
    apic_eoi = Field("apic/@eoi", ON_OFF)
    hap = Field("hap/@state", ON_OFF)
    viridian = Flag("viridian")
    privnet = Flag("privnet")
    pvspinlock = Field("pvspinlock/@state", ON_OFF)
    hyperv = Child(Hyperv, "hyperv")
    kvm_hidden = Field("kvm/hidden/@state", ON_OFF)
    kvm_hint_dedicated = Field("kvm/hint-dedicated/@state", ON_OFF)
    kvm_poll_control = Field("kvm/poll-control/@state", ON_OFF)
    kvm_pv_ipi = Field("kvm/pv-ipi/@state", ON_OFF)
    kvm_dirty_ring = Field("kvm/dirty-ring/@state", ON_OFF)
    kvm_dirty_ring_size = Field("kvm/dirty-ring/@size", INT)
    pmu = Child(FeatureState, "pmu")
    vmport = Child(FeatureState, "vmport")
    smm = Child(FeatureState, "smm")
    smm_tseg = Field("smm/tseg", INT)
    smm_tseg_unit = Field("smm/tseg/@unit")
    ioapic_driver = Field("ioapic/@driver")
    gic_version = Field("gic/@version")
    vmcoreinfo = Field("vmcoreinfo/@state", ON_OFF)
    hpt_resizing = Field("hpt/@resizing")
    htm = Field("htm/@state", ON_OFF)
    nested_hv = Field("nested-hv/@state", ON_OFF)
    ccf_assist = Field("ccf-assist/@state", ON_OFF)
    msrs_unknown = Field("msrs/@unknown")
    cfpc_value = Field("cfpc/@value")
    sbbc_value = Field("sbbc/@value")
    ibs_value = Field("ibs/@value")
    tcg_tb_cache = Field("tcg/tb-cache", INT)
    tcg_tb_cache_unit = Field("tcg/tb-cache/@unit")


class CpuFeature(XmlObject):
    """<cpu><feature policy name>."""

    policy = Field("@policy", FEATURE_POLICY)
    name = Field("@name")


class HugePage(XmlObject):
    """<memoryBacking><hugepages><page size unit nodeset>: a page size for the guest NUMA
    cells of NODESET (all of them without one); the size picks the host's hugetlbfs mount,
    which virtxlate writes as a placeholder, so only the cells are read."""

    nodeset = Field("@nodeset")


class MemNode(XmlObject):
    """<numatune><memnode cellid mode nodeset>: one guest NUMA cell's host memory policy."""

    cellid = Field("@cellid", INT)
    mode = Field("@mode")
    nodeset = Field("@nodeset")


class NumaTune(XmlObject):
    """<numatune>: the host NUMA nodes guest memory comes from (<memory mode nodeset
    placement>), per guest cell in <memnode>."""

    mode = Field("memory/@mode")
    nodeset = Field("memory/@nodeset")
    memnodes = Children(MemNode, "memnode")


class NumaCell(XmlObject):
    """<cpu><numa><cell id cpus memory unit memAccess discard>."""

    id = Field("@id", INT)
    cpus = Field("@cpus")
    memory = Field("@memory", INT)
    unit = Field("@unit")
    mem_access = Field("@memAccess")
    discard = Field("@discard", YES_NO)


class Cpu(XmlObject):
    """<cpu mode match check migratable>: model (with fallback), vendor, topology,
    features, NUMA cells."""

    mode = Field("@mode", CPU_MODE)
    match = Field("@match")
    check = Field("@check")
    migratable = Field("@migratable", ON_OFF)
    model = Field("model")
    model_fallback = Field("model/@fallback")
    model_vendor_id = Field("model/@vendor_id")
    vendor = Field("vendor")
    sockets = Field("topology/@sockets", INT)
    dies = Field("topology/@dies", INT)
    cores = Field("topology/@cores", INT)
    threads = Field("topology/@threads", INT)
    cache_mode = Field("cache/@mode")
    cache_level = Field("cache/@level", INT)
    maxphysaddr_mode = Field("maxphysaddr/@mode")
    maxphysaddr_bits = Field("maxphysaddr/@bits", INT)
    features = Children(CpuFeature, "feature")
    numa_cells = Children(NumaCell, "numa/cell")


class Timer(XmlObject):
    """<clock><timer name present tickpolicy track frequency mode>."""

    name = Field("@name")
    present = Field("@present", YES_NO)
    tickpolicy = Field("@tickpolicy")
    track = Field("@track")
    frequency = Field("@frequency", INT)
    mode = Field("@mode")
    catchup_threshold = Field("catchup/@threshold", INT)
    catchup_slew = Field("catchup/@slew", INT)
    catchup_limit = Field("catchup/@limit", INT)


class Clock(XmlObject):
    """<clock offset adjustment basis timezone start>."""

    offset = Field("@offset")
    adjustment = Field("@adjustment")
    basis = Field("@basis")
    timezone = Field("@timezone")
    start = Field("@start", INT)
    timers = Children(Timer, "timer")

    def timer(self, name: str) -> Timer | None:
        """The <timer name=NAME>, when written."""
        return next((t for t in self.timers if t.name == name), None)


class Pm(XmlObject):
    """<pm><suspend-to-mem enabled/><suspend-to-disk enabled/>."""

    suspend_to_mem = Field("suspend-to-mem/@enabled", YES_NO)
    suspend_to_disk = Field("suspend-to-disk/@enabled", YES_NO)


class SysinfoEntry(XmlObject):
    """<entry name=…>VALUE</entry> of a <sysinfo type='smbios'> block."""

    name = Field("@name")
    value = Field(".")


class Sysinfo(XmlObject):
    """<sysinfo type='smbios'>: the SMBIOS tables -smbios writes (type 0, 1, 2, 3, 11)."""

    type = Field("@type")
    bios = Children(SysinfoEntry, "bios/entry")
    system = Children(SysinfoEntry, "system/entry")
    base_board = Children(SysinfoEntry, "baseBoard/entry")
    chassis = Children(SysinfoEntry, "chassis/entry")
    oem_strings = Children(SysinfoEntry, "oemStrings/entry")


LAUNCH_SECURITY_TYPE = enumeration("launchSecurity type", ("sev", "s390-pv"))


class LaunchSecurity(XmlObject):
    """<launchSecurity type kernelHashes>: AMD SEV (<cbitpos>, <reducedPhysBits>, <policy>
    in hex, the guest owner's <dhCert> and <session>, base64) or s390 protected
    virtualization (type 's390-pv', no children) — libvirt 9.0's "launchSecurity"."""

    type = Field("@type", LAUNCH_SECURITY_TYPE)
    kernel_hashes = Field("@kernelHashes", YES_NO)
    cbitpos = Field("cbitpos", INT)
    reduced_phys_bits = Field("reducedPhysBits", INT)
    policy = Field("policy")  # hex, as virDomainSEVDefParseXML reads it (virXPathULongHex)
    dh_cert = Field("dhCert")
    session = Field("session")


__all__ = [
    "CPU_MODE",
    "Clock",
    "Cpu",
    "CpuFeature",
    "FeatureState",
    "Features",
    "Hyperv",
    "LAUNCH_SECURITY_TYPE",
    "LaunchSecurity",
    "Loader",
    "NumaCell",
    "Nvram",
    "Os",
    "Pm",
    "Sysinfo",
    "SysinfoEntry",
    "Timer",
]
