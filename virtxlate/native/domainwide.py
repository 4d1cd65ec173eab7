"""A QEMU command line's domain-wide options as libvirt domain XML (from-argv).

-uuid, -cpu, -smp topology, -rtc and the timer/PM -globals, -no-hpet, -no-acpi, -boot,
-kernel/-initrd/-append/-dtb and -machine's properties, read as libvirt 9.0 writes them
(qemuBuildCpuCommandLine, qemuBuildSmpCommandLine, qemuBuildClockCommandLine,
qemuBuildPMCommandLine, qemuBuildBootCommandLine, qemuBuildMachineCommandLine).  An
option that says more than the reader knows is left for <qemu:commandline>.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from ..model import Domain
from ..model.system import Clock, Cpu, Features, Os, Pm
from ..props.domain import LAUNCH_SECURITY_OBJECTS, UUID_PLACEHOLDER
from ..props.machine_devices import GENID_PLACEHOLDER
from ..props.mapping import BadValue, number, on_off
from .build import append, set_path
from .options import ArgvOption, number_of, text_of


@dataclass
class Wide:
    """The options being read, those already read, and the domain being written."""

    options: list[ArgvOption]
    used: set[int]
    domain: Domain
    arch: str

    def first(self, flag: str) -> ArgvOption | None:
        return next(
            (o for o in self.options if o.flag == flag and o.position not in self.used), None
        )

    def all(self, flag: str) -> list[ArgvOption]:
        return [o for o in self.options if o.flag == flag and o.position not in self.used]

    def take(self, option: ArgvOption | None) -> None:
        if option is not None:
            self.used.add(option.position)


def read_domain_wide(w: Wide, machine: ArgvOption | None) -> None:
    """Every domain-wide option this module reads, MACHINE's properties included."""
    _uuid(w)
    _memory(w)
    _smp(w)
    _cpu(w)
    _features(w, machine)
    _clock(w)
    _pm(w)
    _boot(w)
    _kernel(w)
    _numa(w)
    _smbios(w)
    _machine_devices(w)


def _machine_devices(w: Wide) -> None:
    """<genid> of -device vmgenid (its placeholder for libvirt's own GUID: an empty
    <genid/>) and <features><vmcoreinfo state='on'/> of -device vmcoreinfo
    (props/machine_devices.py)."""
    for option in w.all("-device"):
        f = option.fields
        driver = f.get("driver")
        if driver == "vmgenid" and set(f) <= {"driver", "guid", "id"} and f.get("id") == "vmgenid0":
            w.take(option)
            guid = str(f.get("guid") or "")
            node = etree.Element("genid")
            if guid != GENID_PLACEHOLDER:
                node.text = guid
            _insert_after_uuid(w.domain, node)
        elif driver == "vmcoreinfo" and set(f) <= {"driver"}:
            w.take(option)
            features = w.domain.features or Domain.features.create(w.domain)
            features.vmcoreinfo = True


def _insert_after_uuid(domain: Domain, node: etree._Element) -> None:
    """NODE where libvirt's schema wants <genid>: after <uuid> (or <name>)."""
    anchor = domain.element.find("uuid")
    if anchor is None:
        anchor = domain.element.find("name")
    if anchor is None:
        domain.element.insert(0, node)
    else:
        anchor.addnext(node)


def _uuid(w: Wide) -> None:
    """<uuid> of -uuid; virtxlate's placeholder for the UUID libvirt would make up
    (props/domain.py's UUID_PLACEHOLDER) reads back as no <uuid>, which is what it stands for."""
    option = w.first("-uuid")
    if option is not None and str(option.value) == UUID_PLACEHOLDER:
        w.take(option)
    elif option is not None and re.fullmatch(r"[0-9a-fA-F-]{32,36}", str(option.value)):
        w.take(option)
        w.domain.uuid = str(option.value)


_SIZE = re.compile(r"^(\d+)([kKmMgGtT]?)[bB]?$")
_KIB = {"": 1024, "k": 1, "m": 1024, "g": 1024**2, "t": 1024**3}


def kibibytes(text: str, bare: str = "m") -> int | None:
    """A QEMU size in KiB (-m's plain number is MiB: BARE), None when it is no size."""
    match = _SIZE.match(text.strip())
    if match is None:
        return None
    unit = match.group(2).lower() or bare
    return int(match.group(1)) * _KIB[unit] if unit != "b" else int(match.group(1)) // 1024


def _memory(w: Wide) -> None:
    """<memory> and <maxMemory slots> of -m SIZE or -m size=…,slots=…,maxmem=…."""
    option = next((o for o in w.options if o.flag == "-m"), None)
    if option is None:
        return
    f = option.fields
    if set(f) - {"", "size", "slots", "maxmem"}:
        return
    text = str(f.get("size") or f.get("") or "")
    if "=" in text:  # -m is plain text to the parser: size=…,slots=…
        f = dict(part.partition("=")[::2] for part in text.split(","))
        text = f.get("size", "")
    size = kibibytes(str(text))
    if size is None:
        return
    w.take(option)
    if size % 1024 == 0:
        w.domain.memory, w.domain.memory_unit = size // 1024, "MiB"
    else:
        w.domain.memory, w.domain.memory_unit = size, "KiB"
    most = kibibytes(str(f.get("maxmem", "")))
    if most is not None:
        w.domain.max_memory, w.domain.max_memory_unit = most, "KiB"
        w.domain.max_memory_slots = number_of(f, "slots")


def _numa(w: Wide) -> None:
    """<cpu><numa><cell id cpus memory memAccess>: -numa node,nodeid,cpus,memdev and the
    memory object libvirt makes for each node: memory-backend-ram, memfd (<memoryBacking>
    <source type='memfd'/>) or a file of its memory backing directory, share= as the
    cell's memAccess (props/domain.py _ram_backend)."""
    nodes = [o for o in w.all("-numa") if o.fields.get("") == "node"]
    cells = []
    for option in nodes:
        f = option.fields
        backend = next((o for o in w.all("-object") if o.fields.get("id") == f.get("memdev")), None)
        if backend is None or set(f) - {"", "nodeid", "cpus", "memdev"}:
            return
        if not _numa_backend(backend.fields, str(f.get("memdev"))):
            return
        size = number_of(backend.fields, "size")
        cells.append((option, backend, number_of(f, "nodeid"), text_of(f, "cpus"), size))
    kinds = {backend.fields.get("qom-type") for _, backend, *_ in cells}
    preallocs = {bool(on_off(backend.fields.get("prealloc"))) for _, backend, *_ in cells}
    if len(preallocs) > 1 or ("memory-backend-memfd" in kinds and len(kinds) > 1):
        return  # no one <memoryBacking> says that: the options stay on the line
    if "memory-backend-memfd" in kinds or True in preallocs:
        first = cells[0][1].fields
        _memory_backing(
            w,
            {k: v for k, v in first.items() if k != "share"},
            "memfd" if "memory-backend-memfd" in kinds else None,
        )
    if not all(_policy_reads(backend.fields) for _, backend, *_ in cells):
        return
    for option, backend, nodeid, cpus, size in cells:
        w.take(option)
        w.take(backend)
        _numatune(w, backend.fields, nodeid)
        cpu: Cpu = w.domain.cpu or Domain.cpu.create(w.domain)
        share = on_off(backend.fields.get("share"))
        append(
            cpu,
            Cpu.numa_cells,
            id=nodeid,
            cpus=cpus,
            memory=(size or 0) // 1024,
            unit="KiB",
            mem_access=None if share is None else ("shared" if share else "private"),
        )


def _policy_reads(f: dict[str, object]) -> bool:
    """Whether a back-end's host-nodes and policy (if any) read as libvirt writes them."""
    nodes, policy = f.get("host-nodes"), f.get("policy")
    if nodes is None and policy is None:
        return True
    return (
        isinstance(nodes, list)
        and bool(nodes)
        and all(isinstance(n, int) for n in nodes)
        and policy in _MODES
    )


def _numa_backend(f: dict[str, object], ident: str) -> bool:
    """Whether F is a NUMA node's memory object libvirt writes: plain RAM, a memfd, or a
    file IDENT of its memory backing directory."""
    kind = f.get("qom-type")
    if kind == "memory-backend-ram":
        return set(f) <= {"qom-type", "id", "size", *_POLICY_KEYS}
    if kind == "memory-backend-memfd":
        return set(f) <= _MEMFD_KEYS
    path = str(f.get("mem-path", ""))
    return (
        kind == "memory-backend-file"
        and set(f) <= _MEMFD_KEYS | {"mem-path"}
        and f.get("share") is not None
        and _BACKING_DIR.fullmatch(path) is not None
        and path.endswith(f"/{ident}")
    )


def _smp(w: Wide) -> None:
    """<vcpu current> and <cpu><topology>: libvirt writes sockets=N,cores=1,threads=1 for
    a domain without a topology, so only another split is one."""
    option = next((o for o in w.options if o.flag == "-smp"), None)
    if option is None:
        return
    f = option.fields
    cpus = number_of(f, "cpus") or number_of(f, "") or 1
    most = number_of(f, "maxcpus") or cpus
    w.domain.vcpu = most
    if most != cpus:
        w.domain.vcpu_current = cpus
    sockets, dies = number_of(f, "sockets"), number_of(f, "dies")
    cores, threads = number_of(f, "cores"), number_of(f, "threads")
    if (sockets, cores, threads) != (most, 1, 1) and None not in (sockets, cores, threads):
        cpu = w.domain.cpu or Domain.cpu.create(w.domain)
        cpu.sockets, cpu.dies, cpu.cores, cpu.threads = sockets, dies, cores, threads
    elif dies not in (None, 1):
        cpu = w.domain.cpu or Domain.cpu.create(w.domain)
        cpu.sockets, cpu.dies, cpu.cores, cpu.threads = sockets, dies, cores, threads


# the model libvirt names for a domain without <cpu> (its x86 default CPU model): a
# <cpu mode='custom'> of it would make libvirt compare it with a KVM host's CPU
_DEFAULT_MODEL = {"x86_64": "qemu64", "i686": "qemu32"}
_FEATURE = re.compile(r"^([+-])?([a-z0-9][a-z0-9_.-]*)(?:=(on|off))?$")
# -cpu's Hyper-V enlightenments (qemuBuildCpuCommandLine): QEMU's name → <hyperv> field
_HYPERV = {
    name: name.replace("-", "_")
    for name in (
        "relaxed",
        "vapic",
        "vpindex",
        "runtime",
        "synic",
        "stimer",
        "reset",
        "frequencies",
        "reenlightenment",
        "tlbflush",
        "ipi",
        "evmcs",
        "avic",
    )
}
_HYPERV["stimer-direct"] = "stimer_direct"


def _cpu(w: Wide) -> None:
    """<cpu>: host → host-passthrough, max → maximum, a named model with its +/-features
    (policy require/disable) as mode='custom' match='exact' fallback='forbid'; the
    hv-* enlightenments as <features><hyperv>, kvm=off as <kvm><hidden>, pmu as <pmu>."""
    option = w.first("-cpu")
    if option is None:
        return
    name, *parts = str(option.value).split(",")
    features: list[tuple[str, str]] = []
    hyperv: dict[str, object] = {}
    kvm_hidden = pmu = migratable = None
    for part in parts:
        key, _, value = part.partition("=")
        key = key.replace("_", "-") if key.startswith("hv") else key
        if key.startswith("hv-") and key[3:] in _HYPERV and value in ("on", ""):
            hyperv[_HYPERV[key[3:]]] = True
        elif key == "hv-spinlocks" and value:
            hyperv["spinlocks"], hyperv["spinlocks_retries"] = True, number(value)
        elif key == "hv-vendor-id" and value:
            hyperv["vendor_id"], hyperv["vendor_id_value"] = True, value
        elif key == "hv-passthrough" and value in ("on", ""):
            hyperv["mode"] = "passthrough"
        elif key == "kvm" and value == "off":
            kvm_hidden = True
        elif key == "pmu" and value in ("on", "off"):
            pmu = value == "on"
        elif key == "migratable" and value in ("on", "off") and name == "host":
            migratable = value == "on"
        else:
            match = _FEATURE.match(part)
            if match is None or "=" in part and match.group(3) is None:
                return
            sign, feature, switch = match.groups()
            enabled = sign == "+" or switch == "on" or (sign is None and switch is None)
            features.append((feature, "require" if enabled else "disable"))
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        return
    w.take(option)
    if hyperv or kvm_hidden or pmu is not None:
        _cpu_features(w, hyperv, kvm_hidden, pmu)
    if not features and _DEFAULT_MODEL.get(w.arch) == name:
        return  # libvirt writes the arch's default model for a domain without <cpu>
    cpu: Cpu = w.domain.cpu or Domain.cpu.create(w.domain)
    if name == "host":
        cpu.mode = "host-passthrough"
        cpu.check = "none"
        cpu.migratable = migratable
    elif name == "max":
        cpu.mode = "maximum"
        cpu.check = "none"
    else:
        cpu.mode, cpu.match = "custom", "exact"
        cpu.model, cpu.model_fallback = name, "forbid"
    for feature, policy in features:
        append(cpu, Cpu.features, policy=policy, name=feature)


def _cpu_features(
    w: Wide, hyperv: dict[str, object], kvm_hidden: bool | None, pmu: bool | None
) -> None:
    features: Features = w.domain.features or Domain.features.create(w.domain)
    if hyperv:
        enlightenments = Features.hyperv.create(features)
        enlightenments.mode = str(hyperv.pop("mode", "custom"))
        for field_name, value in hyperv.items():
            setattr(enlightenments, field_name, value)
    if kvm_hidden:
        features.kvm_hidden = True
    if pmu is not None:
        Features.pmu.create(features).state = pmu


# -machine properties libvirt writes from the domain's defaults (read as nothing)
_MACHINE_DEFAULTS = {
    ("usb", "off"),
    ("dump-guest-core", "off"),
}


def _features(w: Wide, machine: ArgvOption | None) -> None:
    """<features>: acpi unless -no-acpi (x86, whose libvirt writes -no-acpi for a domain
    without it), vmport, smm, ioapic, gic, hpet off, and memory's dumpCore/nosharepages."""
    features: Features | None = w.domain.features
    no_acpi = next((o for o in w.options if o.flag == "-no-acpi"), None)
    w.take(no_acpi)
    f = machine.fields if machine is not None else {}
    acpi_off = no_acpi is not None or on_off(f.get("acpi")) is False
    if w.arch in ("x86_64", "i686") and not acpi_off:
        features = features or Domain.features.create(w.domain)
        features.acpi = True
    unread: list[str] = []
    for key, value in f.items():
        text = str(value).lower() if not isinstance(value, bool) else ("on" if value else "off")
        if key in ("type", "accel", "pflash0", "pflash1", "acpi") or (key, text) in (
            _MACHINE_DEFAULTS
        ):
            continue
        if key == "memory-backend":
            _ram_backend(w, str(value))
            continue
        if key in ("confidential-guest-support", "memory-encryption") and _launch_security(
            w, str(value)
        ):
            continue
        features = features or Domain.features.create(w.domain)
        if key in ("vmport", "smm") and text in ("on", "off"):
            state = getattr(Features, key).create(features)
            state.state = text == "on"
        elif key == "kernel_irqchip" and text == "split":
            features.ioapic_driver = "qemu"
        elif key == "gic-version":
            features.gic_version = text
        elif key == "dump-guest-core" and text == "on":
            set_path(w.domain, "memory/@dumpCore", "on")
        elif key == "mem-merge" and text == "off":
            etree.SubElement(_backing(w), "nosharepages")
        elif key == "hpet" and text == "off":
            _timer(w, "hpet", present=False)
        elif key == "graphics" and text == "off":
            os = w.domain.os or Domain.os.create(w.domain)
            os.bios_useserial = True  # <bios useserial='yes'> (props/domain.py)
        else:
            unread.append(f"{key}={_keyval(value)}")
    if unread:
        # QEMU merges repeated -machine options: the properties the XML has no place for
        # stay on the line as one of their own, kept in <qemu:commandline>
        w.options.append(ArgvOption("-machine", ",".join(unread), position=len(w.options)))


def _backing(w: Wide) -> etree._Element:
    """The domain's <memoryBacking> (one, whichever option asks first)."""
    found = w.domain.element.find("memoryBacking")
    return found if found is not None else etree.SubElement(w.domain.element, "memoryBacking")


def _keyval(value: object) -> str:
    """A -machine property's value as key=value text (JSON true/false as on/off)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value).replace(",", ",,")


def _ram_backend(w: Wide, ident: str) -> None:
    """The machine's RAM object libvirt names after the machine's own RAM region (pc.ram,
    mach-virt.ram, vexpress.highmem …): plain RAM says no more than -m; a shared memfd
    is <memoryBacking><source type='memfd'/><access mode='shared'/>."""
    for option in w.all("-object"):
        f = option.fields
        if f.get("id") != ident:
            continue
        kind = f.get("qom-type")
        if not _policy_reads(f):
            continue
        if kind == "memory-backend-ram" and set(f) <= {"qom-type", "id", "size", *_POLICY_KEYS}:
            w.take(option)
            _numatune(w, f, None)
        elif kind == "memory-backend-memfd" and set(f) <= _MEMFD_KEYS:
            w.take(option)
            _numatune(w, f, None)
            _memory_backing(w, f, "memfd")
        elif (
            kind == "memory-backend-file"
            and set(f) <= _MEMFD_KEYS | {"mem-path"}
            and _BACKING_DIR.fullmatch(str(f.get("mem-path", ""))) is not None
            and str(f.get("mem-path", "")).endswith(f"/{ident}")
        ):
            # a file of libvirt's memory backing directory: <source type='file'/> where
            # no access mode says share (props/domain.py _ram_backend)
            w.take(option)
            _numatune(w, f, None)
            _memory_backing(w, f, "file" if f.get("share") is None else None)


# sev-guest's properties that <launchSecurity type='sev'> has a place for, and each one's
# element (qemuBuildSEVCommandLine); dh-cert-file and session-file name files the line does
# not hold, so an object with them stays in <qemu:commandline>
_SEV_KEYS = {"cbitpos": "cbitpos", "reduced-phys-bits": "reducedPhysBits", "policy": "policy"}


def _launch_security(w: Wide, ident: str) -> bool:
    """<launchSecurity> of the -object IDENT the machine's confidential-guest-support (or
    memory-encryption) names: sev-guest or s390-pv-guest, as qemuBuildSecCommandLine writes
    them; False (left for <qemu:commandline>) for one it says more of than the XML holds."""
    for option in w.all("-object"):
        f = option.fields
        if f.get("id") != ident:
            continue
        kind = {v: k for k, v in LAUNCH_SECURITY_OBJECTS.items()}.get(str(f.get("qom-type")))
        known = {"qom-type", "id"} | (
            set(_SEV_KEYS) | {"kernel-hashes"} if kind == "sev" else set()
        )
        if kind is None or set(f) - known:
            return False
        try:
            numbers = {key: number(f.get(key)) for key in _SEV_KEYS if key in f}
        except BadValue:
            return False
        w.take(option)
        security = Domain.launch_security.create(w.domain)
        security.type = kind
        for key, value in numbers.items():
            text = f"0x{value:04x}" if key == "policy" else str(value)
            etree.SubElement(security.element, _SEV_KEYS[key]).text = text
        if "kernel-hashes" in f:
            security.kernel_hashes = bool(on_off(f.get("kernel-hashes")))
        return True
    return False


# what libvirt writes on a memfd RAM object besides its size and sharing
# host-nodes and policy: <numatune>'s host NUMA nodes for a RAM back-end
_POLICY_KEYS = ("host-nodes", "policy")
_MODES = {"bind": "strict", "preferred": "preferred", "interleave": "interleave"}
_MEMFD_KEYS = {
    "qom-type", "id", "size", "share", "x-use-canonical-path-for-ramblock-id", "prealloc",
    "prealloc-threads", *_POLICY_KEYS,
}  # fmt: skip


def _numatune(w: Wide, f: dict[str, object], cell: int | None) -> bool:
    """<numatune> of a RAM back-end's host-nodes and policy: <memory mode nodeset> for
    the machine's RAM (CELL None), a <memnode> for a guest NUMA cell's; False (nothing
    written) when they do not read as libvirt writes them."""
    nodes, policy = f.get("host-nodes"), f.get("policy")
    if nodes is None and policy is None:
        return True
    if not _policy_reads(f):
        return False
    assert isinstance(nodes, list)
    tune = w.domain.element.find("numatune")
    if tune is None:
        tune = etree.SubElement(w.domain.element, "numatune")
    nodeset = ",".join(str(n) for n in nodes)
    mode = _MODES[str(policy)]
    if cell is None:
        etree.SubElement(tune, "memory", mode=mode, nodeset=nodeset)
    else:
        etree.SubElement(tune, "memnode", cellid=str(cell), mode=mode, nodeset=nodeset)
    return True


# libvirt's memory backing directory, a folder per domain (-1 in a dry run, the ID in a
# run, virtxlate's ID placeholder): qemuGetMemoryBackingDomainPath
_BACKING_DIR = re.compile(r"/var/lib/libvirt/qemu/ram/(?:-1|\d+|ID)-[^/]+/[^/]+")


def _memory_backing(w: Wide, f: dict[str, object], source: str | None) -> None:
    """<memoryBacking>'s source, access (share on or off) and allocation (prealloc, its
    threads) of the RAM back-end F."""
    backing = _backing(w)
    if source is not None:
        etree.SubElement(backing, "source", type=source)
    share = on_off(f.get("share"))
    if share is not None:
        etree.SubElement(backing, "access", mode="shared" if share else "private")
    if on_off(f.get("prealloc")):
        allocation = etree.SubElement(backing, "allocation", mode="immediate")
        threads = f.get("prealloc-threads")
        if threads is not None:
            allocation.set("threads", str(number(threads)))


# -smbios type=N,key=value: the <sysinfo type='smbios'> block and its entries
_SMBIOS_BLOCKS = {"0": "bios", "1": "system", "2": "baseBoard", "3": "chassis"}
_SMBIOS_KEYS = {
    "0": ("vendor", "version", "date", "release"),
    "1": ("manufacturer", "product", "version", "serial", "uuid", "sku", "family"),
    "2": ("manufacturer", "product", "version", "serial", "asset", "location"),
    "3": ("manufacturer", "version", "serial", "asset", "sku"),
}


def _smbios(w: Wide) -> None:
    """<sysinfo type='smbios'> and <os><smbios mode='sysinfo'/> of -smbios type=0…3
    (qemuBuildSmbiosCommandLine)."""
    options = []
    for option in w.all("-smbios"):
        f = option.fields
        kind = str(f.get("type", ""))
        if kind not in _SMBIOS_KEYS or set(f) - {"type", *_SMBIOS_KEYS[kind]}:
            return  # one it cannot read: all of them stay on the line, in their order
        options.append(option)
    if not options:
        return
    sysinfo = etree.SubElement(w.domain.element, "sysinfo", type="smbios")
    for option in options:
        w.take(option)
        f = option.fields
        kind = str(f["type"])
        block = etree.SubElement(sysinfo, _SMBIOS_BLOCKS[kind])
        for key in _SMBIOS_KEYS[kind]:
            if key in f:
                etree.SubElement(block, "entry", name=key).text = text_of(f, key)
    os_: Os = w.domain.os or Domain.os.create(w.domain)
    os_.smbios_mode = "sysinfo"


def _clock(w: Wide) -> None:
    """<clock offset> and its timers: -rtc base=utc|localtime,driftfix=slew (rtc
    catchup), -global kvm-pit.lost_tick_policy (pit), -no-hpet."""
    rtc = w.first("-rtc")
    if rtc is not None:
        f = rtc.fields
        base = str(f.get("base", ""))
        start = _utc_seconds(base)
        if (base in ("utc", "localtime") or start is not None) and set(f) <= {
            "base",
            "driftfix",
        }:
            w.take(rtc)
            clock = w.domain.clock or Domain.clock.create(w.domain)
            if start is None:
                clock.offset = base
            else:
                # a date: what libvirt writes for offset='variable' (now + adjustment,
                # computed at each start) and 'absolute'; the line holds one date, the
                # one 'absolute' gives every time
                clock.offset, clock.start = "absolute", start
            if f.get("driftfix") == "slew":
                _timer(w, "rtc", tickpolicy="catchup")
    for option in w.all("-global"):
        key, _, value = str(option.value).partition("=")
        if key == "kvm-pit.lost_tick_policy" and value in ("delay", "discard", "merge"):
            w.take(option)
            _timer(w, "pit", tickpolicy=value)
    hpet = w.first("-no-hpet")
    if hpet is not None:
        w.take(hpet)
        _timer(w, "hpet", present=False)


def _utc_seconds(text: str) -> int | None:
    """Seconds since the epoch of -rtc's base=YYYY-MM-DDTHH:MM:SS (UTC, as libvirt writes
    it), None for anything else."""
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    return calendar.timegm(moment.timetuple())


def _timer(w: Wide, name: str, **fields: object) -> None:
    clock: Clock = w.domain.clock or Domain.clock.create(w.domain)
    if clock.offset is None:
        clock.offset = "utc"
    timer = clock.timer(name) or append(clock, Clock.timers, name=name)
    for key, value in fields.items():
        setattr(timer, key, value)


def _pm(w: Wide) -> None:
    """<pm>: -global PIIX4_PM.disable_s3/s4 or ICH9-LPC.disable_s3/s4 (1: no)."""
    for option in w.all("-global"):
        match = re.fullmatch(r"(?:PIIX4_PM|ICH9-LPC)\.disable_s([34])=([01])", str(option.value))
        if match is None:
            continue
        w.take(option)
        pm: Pm = w.domain.pm or Domain.pm.create(w.domain)
        enabled = match.group(2) == "0"
        if match.group(1) == "3":
            pm.suspend_to_mem = enabled
        else:
            pm.suspend_to_disk = enabled


_BOOT_DEVS = {"a": "fd", "c": "hd", "d": "cdrom", "n": "network"}


def _boot(w: Wide) -> None:
    """<os><boot dev>, <bootmenu enable timeout> and <bios rebootTimeout> of -boot."""
    for option in w.all("-boot"):
        f = option.fields
        order = str(f.get("order") or f.get("") or "")
        if set(f) - {"", "order", "menu", "splash-time", "reboot-timeout", "strict"}:
            continue
        if any(letter not in _BOOT_DEVS for letter in order):
            continue
        if order and any(o.fields.get("bootindex") is not None for o in w.options):
            continue  # libvirt takes <boot dev> or per-device boot orders, never both
        w.take(option)
        os_: Os = w.domain.os or Domain.os.create(w.domain)
        for letter in order:
            etree.SubElement(os_.element, "boot", dev=_BOOT_DEVS[letter])
        menu = on_off(f.get("menu"))
        if menu is not None:
            os_.bootmenu_enable = menu
            os_.bootmenu_timeout = number_of(f, "splash-time")
        os_.bios_reboot_timeout = number_of(f, "reboot-timeout")


def _kernel(w: Wide) -> None:
    """<os><kernel>, <initrd>, <cmdline>, <dtb>."""
    for flag, name in (
        ("-kernel", "kernel"),
        ("-initrd", "initrd"),
        ("-append", "cmdline"),
        ("-dtb", "dtb"),
    ):
        option = w.first(flag)
        if option is None or option.value is None:
            continue
        w.take(option)
        os_: Os = w.domain.os or Domain.os.create(w.domain)
        setattr(os_, name, text_of(option.fields, "") or option.value)


__all__ = ["Wide", "read_domain_wide"]
