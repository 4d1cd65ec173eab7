"""The platform devices of a guest as libvirt 9.0 writes them: watchdogs, panic notifiers,
shared memory (ivshmem) and memory devices (DIMMs, NVDIMMs, virtio-pmem, virtio-mem) with
their memory back-ends.  The -m slots/maxmem and the NUMA cells are the domain's (props/
domain.py); the places come from the placement.
"""

from __future__ import annotations

from ..caps import index as caps_index
from ..findings import Finding, finding_at
from ..host import ASK_THE_HOST
from ..model.devices import Device
from ..model.platform import MemoryDevice, Shmem, Watchdog
from ..option import Option, Value
from .context import StoragePlan, add_location, unsupported, user_alias
from .controllers import missing_device
from .device_table import MEMORY_DEVICE
from .mapping import add_props

# libvirt's <watchdog action> → QEMU's -watchdog-action (qemuBuildWatchdogCommandLine:
# 'dump' is libvirt's own: QEMU pauses the guest and libvirt dumps it)
WATCHDOG_ACTIONS = {
    "reset": "reset",
    "shutdown": "shutdown",
    "poweroff": "poweroff",
    "pause": "pause",
    "dump": "pause",
    "none": "none",
    "inject-nmi": "inject-nmi",
}
# <watchdog model> → QEMU device; diag288 is the s390 one (qemuValidateDomainWatchdogDef)
WATCHDOG_DEVICES = {"i6300esb": "i6300esb", "ib700": "ib700", "diag288": "diag288"}
S390_ARCHES = frozenset({"s390", "s390x"})

# a <size unit> → bytes (virScaleInteger: K/M/G/… are powers of 1024, KB/MB/… of 1000)
_UNITS = {
    "b": 1,
    "bytes": 1,
    "k": 1024,
    "kib": 1024,
    "kb": 1000,
    "m": 1024**2,
    "mib": 1024**2,
    "mb": 1000**2,
    "g": 1024**3,
    "gib": 1024**3,
    "gb": 1000**3,
    "t": 1024**4,
    "tib": 1024**4,
    "tb": 1000**4,
}
SHMEM_DEFAULT_SIZE = 4 * 1024**2  # libvirt's size of a shmem without <size>
SHMEM_SERVER_PATH = "/var/lib/libvirt/shmem-{name}-sock"  # its socket without a path
# where libvirt keeps a file-backed memory device without a path of its own: its memory
# backing directory, per domain ID and name (a running domain's; the dry run says -1)
MEMORY_BACKING_PATH = "/var/lib/libvirt/qemu/ram/{domain}/{alias}"
MEMORY_BACKING_PLACEHOLDER = "ID-{name}"


def _bytes(number: int | None, unit: str | None, default_unit: str = "kib") -> int | None:
    """NUMBER of UNIT in bytes (libvirt's default unit: KiB); None when absent or the
    unit is unknown (the model's schema refuses it)."""
    if number is None:
        return None
    factor = _UNITS.get((unit or default_unit).lower())
    return number * factor if factor is not None else None


def _refused(plan: StoragePlan, obj: Device, message: str, suffix: str = "") -> Finding:
    """VX0100: libvirt refuses the device as written (its message quoted)."""
    return finding_at("VX0100", "error", message, obj, plan.domain.source, xpath_suffix=suffix)


def _place(plan: StoragePlan, device: Device, option: Option) -> None:
    place = plan.placement.place_of(device)
    if place is not None:
        add_location(option, place.location, place.multifunction)


# --- watchdogs -------------------------------------------------------------------------


def watchdog_options(plan: StoragePlan) -> list[Option]:
    """The <watchdog> (qemuBuildWatchdogCommandLine): its -device, then -watchdog-action.
    libvirt 9.0 knows one watchdog only."""
    watchdogs = plan.domain.watchdogs
    if not watchdogs:
        return []
    if len(watchdogs) > 1:
        plan.findings.append(
            _refused(
                plan,
                watchdogs[1],
                'a second <watchdog> (libvirt 9.0: "only a single watchdog device is supported")',
            )
        )
        return []
    watchdog: Watchdog = watchdogs[0]
    model = watchdog.model or ""
    device = WATCHDOG_DEVICES.get(model)
    if device is None:
        plan.findings.append(unsupported(plan, watchdog, f"watchdog model '{model}'"))
        return []
    if (model == "diag288") != (plan.caps.arch in S390_ARCHES):
        plan.findings.append(
            _refused(
                plan,
                watchdog,
                f"watchdog model '{model}' is not for {plan.caps.arch} guests (libvirt: "
                "diag288 is for s390 and s390x only, the others for the rest)",
                "/@model",
            )
        )
        return []
    if not plan.caps.has_device(device):
        plan.findings.append(missing_device(plan, watchdog, device, f"watchdog model '{model}'"))
        return []
    action = WATCHDOG_ACTIONS.get(watchdog.action or "reset")
    if action is None:
        plan.findings.append(
            _refused(plan, watchdog, f"unknown watchdog action '{watchdog.action}'", "/@action")
        )
        return []
    option = Option("-device", device, origin=watchdog)
    option.add("id", user_alias(watchdog) or "watchdog0")
    _place(plan, watchdog, option)
    return [option, Option("-watchdog-action", action, origin=watchdog)]


# --- panic notifiers ---------------------------------------------------------------------


def panic_options(plan: StoragePlan) -> list[Option]:
    """Each <panic> that is a device (qemuBuildPanicCommandLine): model isa (the x86
    default) is pvpanic at its ISA I/O port; hyperv is a CPU feature (-cpu hv-crash),
    pseries and s390 are the machine's own: no -device."""
    options = []
    for panic in plan.domain.panics:
        model = panic.model or _default_panic_model(plan)
        if model != "isa":
            continue
        if not plan.caps.has_device("pvpanic"):
            plan.findings.append(missing_device(plan, panic, "pvpanic", "<panic model='isa'>"))
            continue
        option = Option("-device", "pvpanic", origin=panic)
        address = panic.address
        if address is not None and address.type == "isa":
            option.add("ioport", address.iobase)
        options.append(option)
    return options


def _default_panic_model(plan: StoragePlan) -> str:
    """qemuDomainDefaultPanicModel: isa on x86, pseries on ppc64, s390 on s390x."""
    arch = plan.caps.arch
    if arch in S390_ARCHES:
        return "s390"
    if arch.startswith("ppc64"):
        return "pseries"
    return "isa"


# --- shared memory -------------------------------------------------------------------------


def shmem_options(plan: StoragePlan) -> list[Option]:
    """Each <shmem> (qemuBuildShmemCommandLine): ivshmem-plain on a shared
    memory-backend-file under /dev/shm, or ivshmem-doorbell on its server's socket
    (libvirt writes the -chardev after the device)."""
    options: list[Option] = []
    for number, shmem in enumerate(plan.domain.shmems):
        options += _shmem(plan, shmem, user_alias(shmem) or f"shmem{number}")
    return options


def _shmem(plan: StoragePlan, shmem: Shmem, alias: str) -> list[Option]:
    model = shmem.model or "ivshmem"
    if not plan.caps.has_device(model):
        last = caps_index.last_with("devices", model, plan.caps.arch, before=plan.caps.version)
        plan.findings.append(
            missing_device(plan, shmem, model, f"<shmem> model '{model}'")
            if last is None
            else finding_at(
                "VX0303",
                "error",
                f"<shmem> model '{model}' needs QEMU device '{model}', which QEMU "
                f'{plan.caps.version} no longer has (last in {last}; libvirt: "ivshmem '
                'device is not supported with this QEMU binary")',
                shmem,
                plan.domain.source,
                hint="use <model type='ivshmem-plain'/> or 'ivshmem-doorbell'",
            )
        )
        return []
    if model == "ivshmem":
        plan.findings.append(unsupported(plan, shmem, "<shmem> of the legacy model 'ivshmem'"))
        return []
    doorbell = model == "ivshmem-doorbell"
    server = shmem.element.find("server")
    if doorbell and server is None:
        plan.findings.append(
            _refused(
                plan,
                shmem,
                'an ivshmem-doorbell needs a <server> (libvirt: "shmem model '
                "'ivshmem-doorbell' is supported only with server option enabled\")",
            )
        )
        return []
    if not doorbell and server is not None:
        plan.findings.append(
            _refused(
                plan,
                shmem,
                'an ivshmem-plain has no <server> (libvirt: "shmem model '
                "'ivshmem-plain' is not supported with server option enabled\")",
                "/server",
            )
        )
        return []
    device = Option("-device", model, origin=shmem)
    device.add("id", alias)
    options = []
    if doorbell:
        device.add("chardev", f"char{alias}")
        device.add("vectors", shmem.msi_vectors)
        # libvirt turns ioeventfd on for a doorbell unless told otherwise
        device.add("ioeventfd", shmem.msi_ioeventfd if shmem.msi_ioeventfd is not None else True)
    else:
        size = _bytes(shmem.size, shmem.size_unit, "b") or SHMEM_DEFAULT_SIZE
        backend = f"shmmem-{alias}"
        options.append(
            Option(
                "-object",
                "memory-backend-file",
                [
                    ("id", backend),
                    ("mem-path", f"/dev/shm/{shmem.name}"),
                    ("size", size),
                    ("share", True),
                ],
                origin=shmem,
            )
        )
        device.add("memdev", backend)
        if shmem.role is not None:
            device.add("master", "on" if shmem.role == "master" else "off")
    _place(plan, shmem, device)
    options.append(device)
    if doorbell:
        path = shmem.server_path or SHMEM_SERVER_PATH.format(name=shmem.name)
        options.append(
            Option("-chardev", "socket", [("id", f"char{alias}"), ("path", path)], origin=shmem)
        )
    return options


# --- memory devices -------------------------------------------------------------------------

# <memory model> → (QEMU device, alias prefix: libvirt's 'dimm', 'nvdimm', …)
MEMORY_DEVICES = {
    "dimm": ("pc-dimm", "dimm"),
    "nvdimm": ("nvdimm", "nvdimm"),
    "virtio-pmem": ("virtio-pmem-pci", "virtiopmem"),
    "virtio-mem": ("virtio-mem-pci", "virtiomem"),
}


def memory_device_options(plan: StoragePlan) -> list[Option]:
    """Each <memory> device (qemuBuildMemoryDeviceCommandLine): its memory back-end
    (qemuBuildMemoryBackendProps), then its -device; DIMM-like ones on a slot (the
    written one, else the next free), virtio ones at their PCI place."""
    options: list[Option] = []
    written_slots = {
        memory.address.slot
        for memory in plan.domain.memory_devices
        if memory.address is not None and memory.address.type == "dimm"
    }
    next_slot = 0
    counts: dict[str, int] = {}
    for memory in plan.domain.memory_devices:
        model = memory.model or ""
        if model not in MEMORY_DEVICES:
            plan.findings.append(unsupported(plan, memory, f"<memory> model '{model}'"))
            continue
        device_type, prefix = MEMORY_DEVICES[model]
        if memory.uuid is not None and not plan.caps.arch.startswith("ppc64"):
            plan.findings.append(
                _refused(
                    plan,
                    memory,
                    "a <memory> device's <uuid> is for ppc64 NVDIMMs (libvirt: \"UUID is not "
                    'supported for NVDIMM device")',
                    "/uuid",
                )
            )
            continue
        if not plan.caps.has_device(device_type):
            plan.findings.append(
                missing_device(plan, memory, device_type, f"<memory model='{model}'>")
            )
            continue
        slot = None
        if model in ("dimm", "nvdimm"):
            address = memory.address
            if address is not None and address.type == "dimm" and address.slot is not None:
                slot = address.slot
            else:
                while next_slot in written_slots:
                    next_slot += 1
                slot = next_slot
                next_slot += 1
        # qemuAssignDeviceMemoryAlias: DIMM-like ones by slot, the others by count
        number = slot if slot is not None else counts.get(prefix, 0)
        counts[prefix] = counts.get(prefix, 0) + 1
        alias = user_alias(memory) or f"{prefix}{number}"
        backend = _memory_backend(plan, memory, model, alias)
        if backend is None:
            continue
        options += [backend, _memory_device(plan, memory, model, device_type, alias, slot)]
    return options


def _memory_backend(
    plan: StoragePlan, memory: MemoryDevice, model: str, alias: str
) -> Option | None:
    target, source = memory.target, memory.source
    size = _bytes(target.size, target.size_unit) if target is not None else None
    if size is None:
        plan.findings.append(
            _refused(plan, memory, "a <memory> device needs its <target><size>", "/target")
        )
        return None
    if source is not None and (source.pagesize is not None or source.nodemask is not None):
        plan.findings.append(
            unsupported(plan, memory, "a <memory> device with hugepages or host nodes")
        )
        return None
    props: list[tuple[str, Value]] = []
    path = source.path if source is not None else None
    shared = memory.access == "shared"
    if model in ("nvdimm", "virtio-pmem") or shared or memory.access == "private":
        if path is None:
            path = _backing_path(plan, memory, alias)
        props.append(("mem-path", path))
        if memory.discard:
            props.append(("discard-data", True))
        if memory.access is not None:
            props.append(("share", shared))
        if model == "nvdimm" and memory.access is None:
            props.append(("prealloc", True))  # qemuBuildMemoryBackendProps: NVDIMM memory
        kind = "memory-backend-file"
    else:
        kind = "memory-backend-ram"
        if model == "virtio-mem" and plan.caps.has_flag("memory-backend-file.reserve"):
            # virtio-mem plugs its blocks on demand: no swap reserved for the whole size
            props.append(("reserve", False))
    props.append(("size", size))
    if source is not None and source.alignsize is not None:
        props.append(("align", _bytes(source.alignsize, source.alignsize_unit) or 0))
    if source is not None and source.pmem:
        props.append(("pmem", True))
    return Option("-object", kind, [("id", f"mem{alias}"), *props], memory)


def _backing_path(plan: StoragePlan, memory: MemoryDevice, alias: str) -> str:
    """The file libvirt backs a memory device with when none is written: under its memory
    backing directory, named by the running domain's ID and name (VX0701: the ID is the
    running libvirt's)."""
    domain = MEMORY_BACKING_PLACEHOLDER.format(name=plan.domain.name or "")
    path = MEMORY_BACKING_PATH.format(domain=domain, alias=alias)
    plan.findings.append(
        finding_at(
            "VX0701",
            "info",
            f"libvirt backs this memory device with a file of its memory backing directory "
            f"named by the running domain's ID: written as the placeholder {path}",
            memory,
            plan.domain.source,
            hint=ASK_THE_HOST,
        )
    )
    return path


def _memory_device(
    plan: StoragePlan,
    memory: MemoryDevice,
    model: str,
    device_type: str,
    alias: str,
    slot: int | None,
) -> Option:
    """qemuBuildMemoryDeviceProps: node, the model's own sizes, memdev, id, slot or place."""
    target = memory.target
    option = Option("-device", device_type, origin=memory)
    add_props(option, MEMORY_DEVICE, memory, None, None)
    if target is not None:
        if model == "nvdimm":
            option.add("label-size", _bytes(target.label_size, target.label_size_unit))
            if target.readonly:
                option.add("unarmed", True)
        if model == "virtio-mem":
            option.add("block-size", _bytes(target.block, target.block_unit))
            requested = _bytes(target.requested, target.requested_unit)
            option.add("requested-size", requested or None)
    option.add("memdev", f"mem{alias}")
    if memory.uuid is not None and model == "nvdimm":
        option.add("uuid", memory.uuid)
    option.add("id", alias)
    if slot is not None:
        option.add("slot", slot)
    else:
        _place(plan, memory, option)
    return option
