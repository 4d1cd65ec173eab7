"""The domain-wide options libvirt writes before any device: name, machine, memory, CPUs,
display, defaults and the iothread objects; libvirt/plan.py's PHASES orders them.

Built from the model, the release's table and what placement decided (machine type, accel,
UEFI pflash nodes); the argv writer only turns them into words.
"""

from __future__ import annotations

import math
from typing import Protocol

from ..caps import CapsTable
from ..caps.tables import Machine
from ..findings import Finding, finding_at
from ..host import ASK_THE_HOST, CpuRequest, Host, HostCpu, host_known
from ..model import Domain
from ..model.domain import to_kib
from ..option import Option, Value
from .chardev import SHORT_NAME_MAX
from .fs import DOMAIN_DIR
from .platform import MEMORY_BACKING_PATH, MEMORY_BACKING_PLACEHOLDER


class DomainPlan(Protocol):
    """What the domain-wide options read of a translation (libvirt.plan's StoragePlan)."""

    caps: CapsTable
    domain: Domain
    host: Host
    machine: Machine | None
    machine_name: str
    accel: str
    firmware: list[Option]
    pflash: list[tuple[str, str]]
    findings: list[Finding]


def _libvirt_9(caps: CapsTable) -> bool:
    """Whether CAPS is a release libvirt 9.0 drives (QEMU 4.2 on: the LV-BLOCKDEV era of
    tools/caps-facts/eras.tsv).  libvirt 9.0 retired the flags of -accel, -overcommit,
    -msg timestamp, dump-guest-core and the full -sandbox (every QEMU it supports has
    them); before that era the libvirt of the time asked the flags the old tables hold."""
    return caps.storage_style == "blockdev"


def _is_x86(plan: DomainPlan) -> bool:
    return (plan.domain.arch or plan.caps.arch) in ("x86_64", "i686")


def _default_cpu_usable(plan: DomainPlan) -> bool:
    """Whether libvirt gives the domain its machine's default CPU model
    (qemuDomainDefSetDefaultCPU): on x86, s390 and ppc64 always, elsewhere under TCG only."""
    arch = plan.domain.arch or plan.caps.arch
    return _is_x86(plan) or arch.startswith(("s390", "ppc64")) or plan.domain.type != "kvm"


def _kib(amount: int | None, unit: str | None) -> int | None:
    """AMOUNT in UNIT as KiB, aligned up to 1 MiB as libvirt aligns x86 guest memory
    (qemuDomainAlignMemorySizes)."""
    kib = to_kib(amount, unit)
    if kib is None:
        return None
    return math.ceil(kib / 1024) * 1024


def name_options(plan: DomainPlan) -> list[Option]:
    """-name, then -S: libvirt always starts QEMU paused and lets the guest run after
    setup."""
    name = [name_option(plan.domain.name, plan.caps)] if plan.domain.name else []
    return [*name, Option("-S")]


def machine_options(plan: DomainPlan) -> list[Option]:
    """-machine TYPE with its properties in qemuBuildMachineCommandLine's order, then
    -accel (libvirt 9.0; before, accel= right after the type)."""
    domain, caps = plan.domain, plan.caps
    features = domain.features
    machine = Option("-machine", plan.machine_name)
    era = _libvirt_9(caps)
    if not era:
        machine.add("accel", plan.accel)
    if caps.has_flag("machine-usb-opt"):
        machine.add("usb", "off")  # QEMU must not create its own USB controller
    gic = _gic_version(plan)
    if gic is not None:
        machine.add("gic-version", gic)
    if features is not None:
        if features.vmport is not None and features.vmport.state is not None:
            machine.add("vmport", "on" if features.vmport.state else "off")
        if features.smm is not None and features.smm.state is not None:
            machine.add("smm", "on" if features.smm.state else "off")
        if features.ioapic_driver in ("qemu", "kvm"):
            machine.add("kernel_irqchip", "split" if features.ioapic_driver == "qemu" else "on")
    if domain.memory_dump_core is not None:
        machine.add("dump-guest-core", "on" if domain.memory_dump_core else "off")
    elif era:
        machine.add("dump-guest-core", "off")  # qemu.conf's dump_guest_core default
    if domain.nosharepages:
        machine.add("mem-merge", "off")
    if any(memory.model == "nvdimm" for memory in domain.memory_devices):
        machine.add("nvdimm", "on")  # QEMU creates no NVDIMM without it (checked with 9.0)
    ram_id = plan.machine.default_ram_id if plan.machine else None
    if ram_id and domain.memory is not None and not _numa_cells(domain):
        machine.add("memory-backend", ram_id)
    security = domain.launch_security
    if security is not None and security.type in LAUNCH_SECURITY_OBJECTS:
        # the launch security object by its id; QEMU before 6.0 (no libvirt flag
        # confidential-guest-support) knows SEV as memory-encryption (qemuBuildMachineCommandLine;
        # after memory-backend as libvirt's launch-security-*.args write it)
        key = "confidential-guest-support"
        if security.type == "sev" and not caps.has_flag("confidential-guest-support"):
            key = "memory-encryption"
        machine.add(key, LAUNCH_SECURITY_ID)
    for key, node in plan.pflash:
        machine.add(key, node)
    if domain.os is not None and domain.os.bios_useserial:
        # <bios useserial='yes'>: the firmware's output on the serial port, no VGA
        # (libvirt 9.0, checked with its domxml-to-native: after the pflash nodes)
        machine.add("graphics", "off")
    hpet = domain.clock.timer("hpet") if domain.clock is not None else None
    if caps.has_flag("machine-hpet") and hpet is not None and hpet.present is not None:
        machine.add("hpet", "on" if hpet.present else "off")  # QEMU 5.2's machine property
    acpi = plan.machine.acpi if plan.machine else None
    if acpi:
        # QEMU 8.0 on reports ACPI per machine and deprecates -no-acpi (9.0 removes it):
        # libvirt writes acpi=on|off then.  That is libvirt 9.2 on (qemuBuildMachineCommandLine
        # with virQEMUCapsMachineSupportsACPI); the installed 9.0 has no acpi= and would
        # write -no-acpi, which QEMU 9.0 refuses.
        machine.add("acpi", "on" if features is not None and features.acpi else "off")
    return [machine, Option("-accel", plan.accel)] if era else [machine]


def _gic_version(plan: DomainPlan) -> str | None:
    """The GIC of an ARM virt machine: <gic version>, else what libvirt's post-parse picks
    (qemuDomainDefEnableDefaultFeatures): version 2 under TCG, the host's under KVM (a
    fact of the VM's host: VX0701, none written)."""
    if plan.machine is None or plan.machine.family != "virt":
        return None
    features = plan.domain.features
    if features is not None and features.gic_version:
        return features.gic_version
    if plan.domain.type != "kvm":
        return "2"
    plan.findings.append(
        finding_at(
            "VX0701",
            "info",
            "libvirt gives a KVM virt machine the GIC version of the VM host; none written",
            plan.domain,
            plan.domain.source,
        )
    )
    return None


def _numa_cells(domain: Domain) -> list:  # type: ignore[type-arg]
    return list(domain.cpu.numa_cells) if domain.cpu is not None else []


def memory_options(plan: DomainPlan) -> list[Option]:
    """-m (size, slots and maxmem with <maxMemory>), the machine's RAM back-end object
    where QEMU names one and there is no NUMA, and -overcommit mem-lock
    (qemuBuildMemCommandLine)."""
    domain, caps = plan.domain, plan.caps
    kib = _kib(domain.memory, domain.memory_unit)
    if kib is None:
        return []
    options = []
    max_kib = _kib(domain.max_memory, domain.max_memory_unit)
    if max_kib is not None and domain.max_memory_slots:
        options.append(
            Option(
                "-m",
                None,
                [
                    ("size", f"{kib}k"),
                    ("slots", domain.max_memory_slots),
                    ("maxmem", f"{max_kib}k"),
                ],
            )
        )
    else:
        options.append(Option("-m", str(kib // 1024)))
    ram_id = plan.machine.default_ram_id if plan.machine else None
    if ram_id and not _numa_cells(domain):
        options.append(_ram_backend(plan, ram_id, kib, domain.memory_access, canonical=True))
    if _libvirt_9(caps):
        options.append(
            Option("-overcommit", None, [("mem-lock", "on" if domain.memory_locked else "off")])
        )
    return options


def memory_backing_path(plan: DomainPlan, domain: Domain, alias: str) -> str:
    """The file libvirt backs the guest RAM with: its memory backing directory (qemu.conf's
    memory_backing_dir), a folder named by the running domain's ID and short name, the
    back-end's id (VX0701: the ID is the running libvirt's)."""
    folder = MEMORY_BACKING_PLACEHOLDER.format(name=(domain.name or "")[:SHORT_NAME_MAX])
    path = MEMORY_BACKING_PATH.format(domain=folder, alias=alias)
    plan.findings.append(
        finding_at(
            "VX0701",
            "info",
            "libvirt backs the guest's memory with a file of its memory backing directory "
            f"named by the running domain's ID: written as the placeholder {path}",
            domain,
            domain.source,
            hint=ASK_THE_HOST,
            xpath_suffix="/memoryBacking",
        )
    )
    return path


# where the VM host's hugetlbfs is mounted (qemu.conf hugetlbfs_mount, else its mounts)
HUGETLBFS_PLACEHOLDER = "<hugetlbfs>"


def _hugepage_path(plan: DomainPlan, domain: Domain) -> str:
    """libvirt's folder for the guest's RAM on the VM host's hugetlbfs: a placeholder for
    the mount, the running domain's ID and short name (VX0701)."""
    name = MEMORY_BACKING_PLACEHOLDER.format(name=(domain.name or "")[:SHORT_NAME_MAX])
    path = f"{HUGETLBFS_PLACEHOLDER}/libvirt/qemu/{name}"
    if any(f.code == "VX0701" and path in f.message for f in plan.findings):
        return path  # said once for the guest's RAM and every NUMA cell on it
    plan.findings.append(
        finding_at(
            "VX0701",
            "info",
            "<hugepages/>: libvirt backs the guest's memory with a folder on the VM host's "
            "hugetlbfs (and refuses the domain on a host without one), named by the running "
            f"domain's ID; not looked up, written as the placeholder {path}",
            domain,
            domain.source,
            hint=ASK_THE_HOST,
            xpath_suffix="/memoryBacking/hugepages",
        )
    )
    return path


# <numatune> modes as QEMU's memory policies (qemuBuildMemoryBackendProps; 'restrictive'
# is left to cgroups and writes none)
_POLICIES = {"strict": "bind", "preferred": "preferred", "interleave": "interleave"}


def _host_nodes(domain: Domain, cell: int | None) -> list[tuple[str, Value]]:
    """host-nodes and policy of a RAM back-end: guest CELL's <memnode>, else <numatune>'s
    <memory> (checked with libvirt 9.0's domxml-to-native)."""
    tune = domain.numatune
    if tune is None:
        return []
    node = next((m for m in tune.memnodes if cell is not None and m.cellid == cell), None)
    mode, nodeset = (node.mode, node.nodeset) if node is not None else (tune.mode, tune.nodeset)
    policy = _POLICIES.get(mode or "strict")
    nodes = _nodeset(nodeset or "")
    if policy is None or not nodes:
        return []
    return [("host-nodes", nodes), ("policy", policy)]  # type: ignore[list-item]


def _nodeset(text: str) -> list[int]:
    """'0-2,^1,4' as libvirt's virBitmapParse reads a nodeset: [0, 2, 4]; bounded by the
    NUMA node numbers a host can have."""
    wanted: set[int] = set()
    excluded: set[int] = set()
    for part in text.replace(" ", "").split(","):
        target = excluded if part.startswith("^") else wanted
        start, _, end = part.lstrip("^").partition("-")
        if not start.isdigit() or (end and not end.isdigit()):
            continue
        low, high = int(start), int(end or start)
        target.update(range(low, min(high, low + 1024) + 1))
    return sorted(wanted - excluded)


def _on_hugepages(domain: Domain, cell: int | None) -> bool:
    """Whether the RAM of guest CELL (None: the machine's own) sits on hugepages: every
    cell with <hugepages/>, the cells a <page nodeset> names where pages name some."""
    if not domain.hugepages:
        return False
    pages = domain.hugepage_pages
    if cell is None or not any(page.nodeset for page in pages):
        return True
    return any(cell in _nodeset(page.nodeset or "") for page in pages if page.nodeset)


def _ram_backend(
    plan: DomainPlan,
    alias: str,
    kib: int,
    access: str | None,
    canonical: bool,
    cell: int | None = None,
) -> Option:
    """The guest RAM's -object (qemuBuildMemoryBackendProps, checked with libvirt 9.0's
    domxml-to-native): memory-backend-memfd for <source type='memfd'/>, a file of
    libvirt's memory backing directory for a file source or any <access mode>
    (virtiofs and vhost-user need shared memory), else memory-backend-ram; share= as the
    access mode says (a NUMA cell's memAccess over <access>), prealloc for <allocation
    mode='immediate'/>; CANONICAL: the initial RAM's, which keeps its migration name."""
    domain, caps = plan.domain, plan.caps
    source = domain.memory_source
    props: list[tuple[str, Value]] = [("id", alias)]
    huge = _on_hugepages(domain, cell)
    if huge:
        # qemuGetDomainHupageMemPath: the host's hugetlbfs mount, a folder per started
        # domain; libvirt refuses the domain on a host without one
        kind = "memory-backend-file"
        props.append(("mem-path", _hugepage_path(plan, domain)))
    elif source == "memfd" and caps.has_flag("memory-backend-memfd"):
        kind = "memory-backend-memfd"
    elif source == "file" or access is not None:
        kind = "memory-backend-file"
        props.append(("mem-path", memory_backing_path(plan, domain, alias)))
    else:
        props.append(("size", kib * 1024))
        props += _host_nodes(domain, cell)
        return Option("-object", "memory-backend-ram", props)
    if access is not None:
        props.append(("share", access == "shared"))
    if canonical and caps.has_flag("memory-backend-file.x-use-canonical-path-for-ramblock-id"):
        props.append(("x-use-canonical-path-for-ramblock-id", False))
    if domain.memory_allocation == "immediate" or (huge and domain.memory_allocation != "ondemand"):
        props.append(("prealloc", True))  # hugepages are allocated up front
        threads = domain.memory_allocation_threads
        if threads and caps.has_flag("memory-backend-file.prealloc-threads"):
            props.append(("prealloc-threads", threads))
    props.append(("size", kib * 1024))
    props += _host_nodes(domain, cell)
    return Option("-object", kind, props)


def smp_options(plan: DomainPlan) -> list[Option]:
    """-smp as qemuBuildSmpCommandLine: the vCPUs at start, maxcpus when more can come,
    and the topology (<cpu><topology>, else one socket per vCPU); dies where QEMU has
    them."""
    domain, caps = plan.domain, plan.caps
    maxcpus = domain.vcpu or 1
    current = domain.vcpu_current or maxcpus
    smp = Option("-smp", str(current))
    if current != maxcpus:
        smp.add("maxcpus", maxcpus)
    cpu = domain.cpu
    if cpu is not None and cpu.sockets:
        smp.add("sockets", cpu.sockets)
        if caps.has_flag("smp-dies"):
            smp.add("dies", cpu.dies or 1)
        smp.props += [("cores", cpu.cores or 1), ("threads", cpu.threads or 1)]
    else:
        smp.props += [("sockets", maxcpus), ("cores", 1), ("threads", 1)]
    return [smp]


# What -uuid holds for a domain without <uuid>: libvirt draws a random one when it parses
# the domain (virDomainDefParseXML → virUUIDGenerate), so no tool knows it from the XML.
# Its info (VX0702) is argv's: `check` leaves it out, the UUID being no fact of validity.
UUID_PLACEHOLDER = "<random-uuid>"


def uuid_options(plan: DomainPlan) -> list[Option]:
    """-uuid, which libvirt always writes (qemuBuildCommandLine); a named placeholder with
    a VX0702 info where the XML has no <uuid> and libvirt would make one up."""
    if plan.domain.uuid:
        return [Option("-uuid", plan.domain.uuid)]
    plan.findings.append(
        finding_at(
            "VX0702",
            "info",
            "the domain has no <uuid>: libvirt generates a random one when it reads the "
            f"domain; written as {UUID_PLACEHOLDER}",
            plan.domain,
            plan.domain.source,
            hint="write the <uuid> virsh dumpxml shows",
        )
    )
    return [Option("-uuid", UUID_PLACEHOLDER)]


def default_options(plan: DomainPlan) -> list[Option]:
    """No configuration file, no default devices (-nodefconfig before -no-user-config)."""
    user_config = "-no-user-config" if plan.caps.has_flag("no-user-config") else "-nodefconfig"
    return [Option(user_config), Option("-nodefaults")]


def name_option(name: str, caps: CapsTable) -> Option:
    """-name as qemuBuildNameCommandLine writes it: the name under QEMU's 'guest' key
    (never as the option's first token, where 'process=…' or 'web,id=1' would be read
    as keys) and debug-threads=on where QEMU has them (libvirt's name-guest and
    debug-threads flags, which the tables of 1.x lack: the name is the whole value there)."""
    if not caps.has_flag("name-guest"):
        return Option("-name", name)
    option = Option("-name", None, [("guest", name)])
    if caps.has_flag("debug-threads"):
        option.add("debug-threads", True)
    return option


def display_options(plan: DomainPlan) -> list[Option]:
    """-display none when the domain has no <graphics> and QEMU has -display, as
    qemuBuildGraphicsCommandLine leaves it (no graphics: no display at all)."""
    if plan.caps.has_flag("display") and not plan.domain.graphics:
        return [Option("-display", "none")]
    return []


def iothread_options(plan: DomainPlan) -> list[Option]:
    """One -object iothread per <iothreadids> entry (or <iothreads> count), as
    qemuBuildIOThreadCommandLine writes them, where QEMU has iothreads."""
    domain, caps = plan.domain, plan.caps
    if not caps.has_flag("iothread"):
        return []
    return [
        Option("-object", "iothread", [("id", f"iothread{number}")])
        for number in sorted(domain.iothread_id_set())
    ]


# <hyperv> enlightenments in libvirt's order (virDomainHyperv), each as its hv- property
_HYPERV = (
    ("relaxed", "hv-relaxed"),
    ("vapic", "hv-vapic"),
    ("spinlocks", "hv-spinlocks"),
    ("vpindex", "hv-vpindex"),
    ("runtime", "hv-runtime"),
    ("synic", "hv-synic"),
    ("stimer", "hv-stimer"),
    ("reset", "hv-reset"),
    ("vendor_id", "hv-vendor-id"),
    ("frequencies", "hv-frequencies"),
    ("reenlightenment", "hv-reenlightenment"),
    ("tlbflush", "hv-tlbflush"),
    ("ipi", "hv-ipi"),
    ("evmcs", "hv-evmcs"),
    ("avic", "hv-avic"),
)


def cpu_options(plan: DomainPlan) -> list[Option]:
    """-cpu as qemuBuildCpuCommandLine: the model (host for host-passthrough, the
    machine's default CPU type without a model), the features, then the timers'
    kvmclock, the hyperv enlightenments, kvm hidden/hints and pmu."""
    domain = plan.domain
    cpu, features = domain.cpu, domain.features
    model: str | None = None
    props: list[tuple[str, str]] = []
    host_cpu = _host_model(plan) if cpu is not None and cpu.mode == "host-model" else None
    if cpu is not None and host_cpu is not None:
        # the host's CPU as libvirt's domain capabilities expand it, the domain's own
        # features over it (virCPUUpdate: a listed feature takes the domain's policy)
        model = host_cpu.model
        policies = {n: p for n, p in host_cpu.features if n not in _NOT_MIGRATABLE_FEATURES}
        policies.update((f.name, f.policy) for f in cpu.features if f.name and f.policy)
        props += _feature_props(plan, list(policies.items()))
    elif cpu is not None and cpu.mode in ("host-passthrough", "maximum", "host-model"):
        model = "max" if cpu.mode == "maximum" else "host"
        if cpu.mode == "maximum":
            pass
        elif cpu.mode == "host-model":
            plan.findings.append(
                finding_at(
                    "VX0701",
                    "info",
                    "libvirt writes the VM host's CPU for host-model (its expansion of the "
                    "host CPU); 'host' stands for it here",
                    cpu,
                    domain.source,
                    hint="ask the VM host's libvirt with --connect",
                )
            )
        elif plan.caps.has_flag("cpu.migratable"):
            props.append(("migratable", "off" if cpu.migratable is False else "on"))
    elif cpu is not None and cpu.model:
        model = cpu.model
    elif plan.machine is not None and plan.machine.default_cpu_type and _default_cpu_usable(plan):
        model = plan.machine.default_cpu_type.rsplit("-", 2)[0]  # qemu64-x86_64-cpu
    if cpu is not None and host_cpu is None and cpu.mode not in ("host-passthrough", "maximum"):
        listed: list[tuple[str, str]] = []
        for feature in cpu.features:
            if feature.name and feature.policy in ("force", "require", "disable", "forbid"):
                listed.append((feature.name, feature.policy))
            elif feature.name and feature.policy == "optional":
                # libvirt keeps an optional feature where the host CPU has it (on) and
                # turns it off elsewhere: a fact of the VM's host
                plan.findings.append(
                    finding_at(
                        "VX0701",
                        "info",
                        f"libvirt writes optional CPU feature '{feature.name}' as on or off "
                        "as the VM host's CPU has it; left out here",
                        feature,
                        domain.source,
                    )
                )
        props += _feature_props(plan, listed)  # in QEMU's names, as for host-model
    clock = domain.clock
    kvmclock = clock.timer("kvmclock") if clock is not None else None
    if kvmclock is not None and kvmclock.present is not None:
        props.append(("kvmclock", "on" if kvmclock.present else "off"))
    hypervclock = clock.timer("hypervclock") if clock is not None else None
    if hypervclock is not None and hypervclock.present:
        props.append(("hv-time", "on"))
    if features is not None:
        for name, state in (
            ("kvm-pv-eoi", features.apic_eoi),
            ("kvm-pv-unhalt", features.pvspinlock),
        ):
            if state is not None:
                props.append((name, "on" if state else "off"))
    if features is not None:
        props += _hyperv_props(features.hyperv)
        if features.kvm_hidden:
            props.append(("kvm", "off"))
        for name, state in (
            ("kvm-hint-dedicated", features.kvm_hint_dedicated),
            ("kvm-poll-control", features.kvm_poll_control),
            ("kvm-pv-ipi", features.kvm_pv_ipi),
        ):
            if state is not None:
                props.append((name, "on" if state else "off"))
        if features.pmu is not None and features.pmu.state is not None:
            props.append(("pmu", "on" if features.pmu.state else "off"))
    if model is None:
        return []
    return [Option("-cpu", model, props)]  # type: ignore[arg-type]


# libvirt's x86 CPU feature names QEMU spells otherwise, written in QEMU's spelling where
# QEMU has canonical feature names (virQEMUCapsCPUFeaturesX86, virQEMUCapsCPUFeatureToQEMU)
_QEMU_FEATURE_NAMES = {
    "cmp_legacy": "cmp-legacy",
    "ds_cpl": "ds-cpl",
    "fxsr_opt": "fxsr-opt",
    "kvm_pv_eoi": "kvm-pv-eoi",
    "kvm_pv_unhalt": "kvm-pv-unhalt",
    "lahf_lm": "lahf-lm",
    "nodeid_msr": "nodeid-msr",
    "pclmuldq": "pclmulqdq",
    "perfctr_core": "perfctr-core",
    "perfctr_nb": "perfctr-nb",
    "tsc_adjust": "tsc-adjust",
}


# x86 features a migratable CPU leaves out (libvirt 9.0's cpu_map/x86_features.xml marks
# them migratable='no'): the host-model CPU libvirt gives a guest is the migratable one
# (virQEMUCapsGetHostModel, VIR_QEMU_CAPS_HOST_CPU_MIGRATABLE), which domcapabilities does
# not show
_NOT_MIGRATABLE_FEATURES = frozenset({"invtsc", "xsaves"})


def _host_model(plan: DomainPlan) -> HostCpu | None:
    """The host-model CPU of the VM host's libvirt (its domain capabilities for the
    domain's emulator, arch, machine and virt type); None where no host is asked."""
    domain = plan.domain
    request = CpuRequest(domain.emulator, domain.arch, plan.machine_name or None, domain.type)
    return plan.host.host_model_cpu(request)


def _feature_props(plan: DomainPlan, features: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """FEATURES (libvirt's names and policies) as -cpu properties (qemuBuildCpuModelArgStr):
    require and force on, disable and forbid off, QEMU's names on x86."""
    canonical = _is_x86(plan) and plan.caps.has_flag("canonical-cpu-features")
    props = []
    for name, policy in features:
        qemu = _QEMU_FEATURE_NAMES.get(name, name) if canonical else name
        if policy in ("force", "require"):
            props.append((qemu, "on"))
        elif policy in ("disable", "forbid"):
            props.append((qemu, "off"))
    return props


def _hyperv_props(hyperv) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    if hyperv is None:
        return []
    if hyperv.mode == "passthrough":
        return [("hv-passthrough", "on")]
    props = []
    for field, name in _HYPERV:
        if getattr(hyperv, field) is not True:
            continue
        if field == "spinlocks":
            props.append((name, hex(hyperv.spinlocks_retries or 0)))
        elif field == "vendor_id":
            props.append((name, hyperv.vendor_id_value or ""))
        else:
            props.append((name, "on"))
        if field == "stimer" and hyperv.stimer_direct:
            props.append(("hv-stimer-direct", "on"))
    return props


def bios_options(plan: DomainPlan) -> list[Option]:
    """-bios for a <loader> that is not pflash; for a secure pflash one the -global that
    makes the flash secure (qemuBuildDomainLoaderCommandLine)."""
    os = plan.domain.os
    loader = os.loader if os is not None else None
    if loader is None or not loader.path:
        return []
    if loader.type != "pflash":
        return [Option("-bios", loader.path)]
    if loader.secure:
        secure = [("driver", "cfi.pflash01"), ("property", "secure"), ("value", "on")]
        return [Option("-global", None, secure)]  # type: ignore[arg-type]
    return []


def numa_options(plan: DomainPlan) -> list[Option]:
    """Per <cpu><numa> cell its memory back-end object and its -numa node
    (qemuBuildNumaCommandLine)."""
    options = []
    for index, cell in enumerate(_numa_cells(plan.domain)):
        node_id = cell.id if cell.id is not None else index
        kib = _kib(cell.memory, cell.unit) or 0
        access = cell.mem_access or plan.domain.memory_access
        options.append(
            _ram_backend(plan, f"ram-node{node_id}", kib, access, canonical=False, cell=node_id)
        )
        numa = Option("-numa", "node", [("nodeid", node_id)])
        for part in (cell.cpus or "").split(","):
            if part:
                numa.add("cpus", part)
        numa.add("memdev", f"ram-node{node_id}")
        options.append(numa)
    return options


# SMBIOS tables and the <sysinfo> entries each takes, in qemuBuildSmbios*Str's order
_SMBIOS = (
    (0, "bios", ("vendor", "version", "date", "release")),
    (1, "system", ("manufacturer", "product", "version", "serial", "uuid", "sku", "family")),
    (2, "base_board", ("manufacturer", "product", "version", "serial", "asset", "location")),
    (3, "chassis", ("manufacturer", "version", "serial", "asset", "sku")),
)


def smbios_options(plan: DomainPlan) -> list[Option]:
    """-smbios type=N for <os><smbios mode='sysinfo'/> (qemuBuildSmbiosCommandLine)."""
    domain = plan.domain
    if domain.os is None or domain.os.smbios_mode != "sysinfo":
        return []
    sysinfo = next((s for s in domain.sysinfos if s.type == "smbios"), None)
    if sysinfo is None:
        return []
    options = []
    for number, field, keys in _SMBIOS:
        given = {e.name: e.value for e in getattr(sysinfo, field) if e.name}
        props = [(key, given[key]) for key in keys if given.get(key)]
        if props:
            options.append(Option("-smbios", None, [("type", number), *props]))  # type: ignore[list-item]
    oem = [e.value for e in sysinfo.oem_strings if e.value]
    if oem:
        options.append(Option("-smbios", None, [("type", 11), *(("value", v) for v in oem)]))  # type: ignore[list-item]
    return options


def clock_options(plan: DomainPlan) -> list[Option]:
    """-rtc (base, clock=vm for a guest-tracked RTC, driftfix=slew for catchup), the PIT's
    lost-tick policy and -no-hpet (qemuBuildClockCommandLine)."""
    clock = plan.domain.clock
    offset = clock.offset if clock is not None else None
    base = "localtime" if offset in ("localtime", "timezone") else "utc"  # timezone: TZ=
    if clock is not None and offset == "variable":
        base = _variable_base(clock.adjustment, clock.basis)
    rtc = Option("-rtc", None, [("base", base)])
    options = [rtc]
    if clock is None:
        return options
    timer = clock.timer("rtc")
    if timer is not None:
        if timer.track in ("guest", "wall"):
            rtc.add("clock", "vm" if timer.track == "guest" else "host")
        if timer.tickpolicy == "catchup":
            rtc.add("driftfix", "slew")
    pit = clock.timer("pit")
    policies = {"delay": "delay", "catchup": "slew", "discard": "discard"}
    if (
        pit is not None
        and pit.tickpolicy in policies
        and plan.caps.has_flag("kvm-pit-lost-tick-policy")
    ):
        options.append(Option("-global", f"kvm-pit.lost_tick_policy={policies[pit.tickpolicy]}"))
    hpet = clock.timer("hpet")
    if hpet is not None and hpet.present is False and not plan.caps.has_flag("machine-hpet"):
        options.append(Option("-no-hpet"))
    return options


def _variable_base(adjustment: str | None, basis: str | None) -> str:
    """<clock offset='variable'>'s -rtc base: the time of translation moved by the
    adjustment (from local time with basis='localtime'), as libvirt computes it when it
    builds the line."""
    import datetime  # here: a check or argv without such a clock does not pay its import

    now = datetime.datetime.now(datetime.UTC)
    try:
        seconds = int(adjustment or 0)
    except ValueError:
        seconds = 0
    if basis == "localtime":
        local = datetime.datetime.now().astimezone().utcoffset()
        seconds += int(local.total_seconds()) if local is not None else 0
    then = now + datetime.timedelta(seconds=max(min(seconds, 10**10), -(10**10)))
    return then.strftime("%Y-%m-%dT%H:%M:%S")


def pm_options(plan: DomainPlan) -> list[Option]:
    """-no-shutdown (or -no-reboot), -no-acpi and the PM -globals
    (qemuBuildPMCommandLine)."""
    domain, caps = plan.domain, plan.caps
    options = []
    # With set-action libvirt always keeps QEMU up at guest shutdown and sets the
    # actions over QMP; before, a domain that only ever gets destroyed gets -no-reboot.
    destroy_only = (
        domain.on_reboot == "destroy"
        and domain.on_poweroff == "destroy"
        and domain.on_crash in ("destroy", "coredump-destroy")
    )
    options.append(
        Option("-no-reboot" if destroy_only and not caps.has_flag("set-action") else "-no-shutdown")
    )
    # -no-acpi where QEMU does not report ACPI per machine (else -machine acpi=), on the
    # architectures whose QEMU has it (libvirt's QEMU_CAPS_NO_ACPI: x86 and aarch64;
    # libvirt's own aarch64 test data writes it, ../shared/conformance/libvirt/aarch64-*)
    features = domain.features
    acpi_reported = plan.machine is not None and plan.machine.acpi is not None
    has_acpi = _is_x86(plan) or (domain.arch or caps.arch) == "aarch64"
    if not acpi_reported and has_acpi and not (features is not None and features.acpi):
        options.append(Option("-no-acpi"))
    pm = domain.pm
    if pm is not None:
        q35 = plan.machine is not None and plan.machine.family == "q35"
        device = (
            "ICH9-LPC"
            if q35 and (_libvirt_9(caps) or caps.has_flag("ich9-disable-s3"))
            else "PIIX4_PM"
        )
        for key, enabled in (("disable_s3", pm.suspend_to_mem), ("disable_s4", pm.suspend_to_disk)):
            if enabled is not None:
                options.append(Option("-global", f"{device}.{key}={0 if enabled else 1}"))
    return options


def boot_options(plan: DomainPlan) -> list[Option]:
    """-boot (menu, reboot-timeout, splash-time, strict=on), -kernel, -initrd, -append,
    -dtb (qemuBuildBootCommandLine)."""
    domain, caps = plan.domain, plan.caps
    os = domain.os
    boot = Option("-boot")
    if os is not None:
        if os.bootmenu_enable is not None:
            boot.add("menu", "on" if os.bootmenu_enable else "off")
        if os.bios_reboot_timeout is not None:
            boot.add("reboot-timeout", os.bios_reboot_timeout)
        if os.bootmenu_enable and os.bootmenu_timeout is not None:
            boot.add("splash-time", os.bootmenu_timeout)
    if caps.has_flag("boot-strict"):
        boot.add("strict", "on")
    options = [boot] if boot.props else []
    if os is not None:
        for flag, value in (
            ("-kernel", os.kernel),
            ("-initrd", os.initrd),
            ("-append", os.cmdline),
            ("-dtb", os.dtb),
        ):
            if value:
                options.append(Option(flag, value))
    return options


# <launchSecurity type> → the QOM type of its -object, and the id libvirt gives it (and
# -machine's confidential-guest-support names): qemuBuildSEVCommandLine, qemuBuildPVCommandLine
LAUNCH_SECURITY_OBJECTS = {"sev": "sev-guest", "s390-pv": "s390-pv-guest"}
LAUNCH_SECURITY_ID = "lsec0"
# what the host lacks when libvirt refuses <launchSecurity> (qemuValidateDomainDef: the QEMU
# capability sev-guest is cleared where query-sev-capabilities fails on the host)
_LAUNCH_SECURITY_NAMES = {"sev": "SEV", "s390-pv": "S390 PV"}


def launch_security_options(plan: DomainPlan) -> list[Option]:
    """-object sev-guest (cbitpos, reduced-phys-bits, policy, the dh-cert and session
    files, kernel-hashes) or s390-pv-guest with id lsec0, as qemuBuildSecCommandLine
    writes them.  Whether the VM host can run it is the host's (libvirt asks its QEMU):
    an error when a host asked has not, an info when none is asked."""
    security = plan.domain.launch_security
    if security is None or security.type not in LAUNCH_SECURITY_OBJECTS:
        return []
    name = _LAUNCH_SECURITY_NAMES[security.type]
    if not plan.host.launch_security(security.type):
        plan.findings.append(
            finding_at(
                "VX0211",
                "error",
                f'{name} launch security: the host does not support it (libvirt: "{name} '
                'launch security is not supported with this QEMU binary")',
                security,
                plan.domain.source,
                hint="run the guest on a host whose CPU and kernel offer it",
            )
        )
        return []
    if not host_known(plan.host):
        plan.findings.append(
            finding_at(
                "VX0701",
                "info",
                f"whether the VM's host supports {name} launch security is not looked up: "
                "libvirt asks its QEMU and refuses the domain where it does not",
                security,
                plan.domain.source,
                hint=ASK_THE_HOST,
            )
        )
    option = Option("-object", LAUNCH_SECURITY_OBJECTS[security.type], origin=security)
    option.add("id", LAUNCH_SECURITY_ID)
    if security.type == "sev":
        # the guest owner's data: files libvirt writes in the domain's private directory
        # (qemuProcessPrepareSEVGuestInput), whose id only a running libvirt knows
        private = DOMAIN_DIR.format(name=(plan.domain.name or "")[:SHORT_NAME_MAX])
        option.add("cbitpos", security.cbitpos)
        option.add("reduced-phys-bits", security.reduced_phys_bits)
        option.add("policy", _hex(security.policy))
        option.add("dh-cert-file", f"{private}/dh_cert.base64" if security.dh_cert else None)
        option.add("session-file", f"{private}/session.base64" if security.session else None)
        option.add("kernel-hashes", security.kernel_hashes)
    return [option]


def _hex(text: str | None) -> int | None:
    """<policy>'s hex number (virXPathULongHex: an optional 0x), None when absent."""
    if text is None:
        return None
    try:
        return int(text.strip(), 16)
    except ValueError:
        return None


def sandbox_options(plan: DomainPlan) -> list[Option]:
    """-sandbox with the deny list of qemu.conf's default seccomp_sandbox
    (qemuBuildSeccompSandboxCommandLine), where QEMU has it."""
    caps = plan.caps
    if not caps.has_flag("seccomp-sandbox"):
        return []
    if not (_libvirt_9(caps) or caps.has_flag("seccomp-blacklist")):
        return []
    props = [
        ("obsolete", "deny"),
        ("elevateprivileges", "deny"),
        ("spawn", "deny"),
        ("resourcecontrol", "deny"),
    ]
    return [Option("-sandbox", "on", props)]  # type: ignore[arg-type]


def msg_options(plan: DomainPlan) -> list[Option]:
    """-msg timestamp=on, where QEMU has it (libvirt's msg-timestamp)."""
    if _libvirt_9(plan.caps) or plan.caps.has_flag("msg-timestamp"):
        return [Option("-msg", None, [("timestamp", "on")])]
    return []
