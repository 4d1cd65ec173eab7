"""Disk backends as libvirt gives them to QEMU: one ``-drive … if=none`` in the -drive
era, or ``-blockdev`` storage and format nodes in the -blockdev era (libvirt's
qemuBuildDriveStr and qemuBlockStorageSourceGetBackendProps / GetBlockdevProps).
Which era applies comes from the capability table."""

from __future__ import annotations

from functools import partial

from lxml import etree

from ..errors import InvalidValue
from ..findings import finding_at
from ..host import ASK_THE_HOST, host_known
from ..model import Disk
from ..model.devices import BackingStore, DiskSource
from ..model.fields import XmlObject, xpath_of
from ..option import Option, Value
from .context import StoragePlan, unsupported
from .disk_table import DRIVE, NETWORK_STORAGE, detect_zeroes
from .mapping import Context, add_props

# libvirt's cache modes: (write-cache of the device, cache.direct, cache.no-flush)
# (qemuDomainDiskCachemodeFlags)
CACHE_MODES = {
    "writeback": (True, False, False),
    "writethrough": (False, False, False),
    "none": (True, True, False),
    "directsync": (False, True, False),
    "unsafe": (True, False, True),
}


# the formats whose images name a backing image: libvirt's storage_file_probe.c gives
# these a backing-store parser ('cow' it refuses altogether); a typed <backingStore>
# under any other format is refused (qemuDomainValidateStorageSource)
BACKING_FORMATS = frozenset({"qcow", "qcow2", "qed", "vmdk"})
# libvirt reads a chain of any depth; virtxlate refuses one deeper than this rather than
# walk input without bound
MAX_BACKING_LAYERS = 100


def backing_chain(disk: Disk) -> tuple[list[BackingStore], bool]:
    """The layers below DISK's image as its XML gives them (<backingStore type=…>, top
    first) and whether the chain ends in ``<backingStore/>`` (no further backing image);
    a chain with neither is left for libvirt to probe when the domain starts.  Kept with
    the disk's reads (asked three times per disk); callers do not change the list."""
    return disk.derived(backing_chain, _backing_chain, disk)


def _backing_chain(disk: Disk) -> tuple[list[BackingStore], bool]:
    layers: list[BackingStore] = []
    layer = disk.backing_store
    while layer is not None and layer.type is not None and len(layers) <= MAX_BACKING_LAYERS:
        layers.append(layer)
        layer = layer.backing
    return layers, layer is not None and layer.type is None


def node_count(disk: Disk) -> int:
    """How many -blockdev layer numbers DISK takes: its image and each backing layer."""
    return 1 + len(backing_chain(disk)[0])


def _backing_refusal(plan: StoragePlan, disk: Disk) -> bool:
    """VX0100 for a backing chain libvirt refuses: a layer without <format> ("missing disk
    backing store format", virDomainDiskBackingStoreParse), a backing layer under a format
    that has none (qemuDomainValidateStorageSource), a chain deeper than virtxlate reads."""
    layers, _ = backing_chain(disk)
    if not layers:
        return False
    problem: tuple[str, XmlObject | None, str] | None = None
    if len(layers) > MAX_BACKING_LAYERS:
        problem = (
            f"the backing chain of {disk.dev or 'this disk'} is deeper than "
            f"{MAX_BACKING_LAYERS} layers, more than virtxlate reads",
            disk.backing_store,
            "",
        )
    else:
        above = disk_format(disk) or "raw"
        for layer in layers:
            if above not in BACKING_FORMATS:
                problem = (f"storage format '{above}' does not support backing store", layer, "")
                break
            if layer.format is None:
                problem = ("missing disk backing store format", layer, "")
                break
            if layer.source is None:
                problem = ("missing disk backing store source", layer, "")
                break
            path = {"file": layer.source.file, "block": layer.source.dev}
            if layer.type in path and not path[layer.type]:
                # libvirt 9.0 accepts the XML, then fails building the node ("argument
                # key 'filename' must not have null value")
                problem = ("a backing layer's <source> names no image", layer, "/source")
                break
            above = layer.format
    if problem is None:
        return False
    message, where, suffix = problem
    plan.findings.append(
        finding_at("VX0100", "error", message, where, plan.domain.source, xpath_suffix=suffix)
    )
    return True


class Backend:
    """The options that give a disk its medium, and the name the device refers to (a
    plain class: a dataclass costs a quarter of a millisecond to define at every start)."""

    __slots__ = ("options", "drive")

    def __init__(self, options: list[Option] | None = None, drive: str | None = None) -> None:
        self.options: list[Option] = options if options is not None else []
        self.drive = drive  # None: an empty drive (no medium)


def is_empty(disk: Disk, blockdev: bool = False) -> bool:
    """No medium: no source; in the -drive era also an open tray (libvirt then started the
    drive empty; with -blockdev it attaches the medium and opens the tray over QMP)."""
    if no_source(disk):
        return True
    # (the tray read only where it counts: `check` of a -blockdev release never reads it)
    return not blockdev and disk.target is not None and disk.target.tray == "open"


# target name prefixes virDomainDiskDefValidate takes for a hard disk or LUN (and the
# nvme names the XSD allows)
_HARD_DISK_PREFIXES = ("hd", "sd", "vd", "xvd", "ubd", "nvme")


def _target_name_refusal(disk: Disk) -> str | None:
    """libvirt's refusal of a target name that does not fit the device (checked when it
    reads the XML, virDomainDiskDefValidate): a disk named fda, a floppy named vda.  A
    disk without target/@bus gets its bus from this name, so the two must agree."""
    dev = (disk.dev or "").removeprefix("ioemu:")
    if not dev:
        return None
    device = disk.effective_device
    if device in ("disk", "lun") and not dev.startswith(_HARD_DISK_PREFIXES):
        return f"Invalid harddisk device name: {dev}"
    if device == "floppy" and not dev.startswith("fd"):
        return f"Invalid floppy device name: {dev}"
    return None


def no_source(disk: Disk) -> bool:
    """libvirt's virStorageSourceIsEmpty: no <source>, a local one without its path
    (an empty file='' is none), or a network one without a protocol.  Kept with the
    disk's reads: the props and the checks ask it eight times per disk.  (All three
    paths are read: tests/test_checkprops.py counts DiskSource.dir read by the cases.)"""
    return disk.derived(no_source, _no_source, disk)


def _no_source(disk: Disk) -> bool:
    source = disk.source
    if source is None:
        return True
    kind = disk.type or "file"
    if kind in ("file", "block", "dir"):
        return not {"file": source.file, "block": source.dev, "dir": source.dir}[kind]
    if kind == "network":
        return not source.protocol
    return False


def cache_mode(disk: Disk, blockdev: bool) -> str | None:
    """The cache mode libvirt uses: a writable shareable disk gets 'none' when none is
    given (qemuDomainPrepareDiskCachemode, -blockdev era)."""
    mode = disk.driver.cache if disk.driver is not None else None
    if mode in (None, "default") and blockdev and disk.shareable and not disk.readonly:
        return "none"
    return mode


def disk_format(disk: Disk) -> str | None:
    driver = disk.driver
    fmt = driver.type if driver is not None else None
    if fmt == "aio":
        fmt = "raw"  # libvirt reads the old 'aio' format as raw
    if fmt is None and (disk.type or "file") in ("file", "block"):
        # qemuDomainDeviceDiskDefPostParse: file and block disks default to raw
        fmt = "raw"
    return fmt


def error_policies(disk: Disk) -> tuple[str | None, str | None]:
    """(werror, rerror) as QEMU takes them."""
    driver = disk.driver
    if driver is None:
        return None, None
    error_policy, rerror = driver.error_policy, driver.rerror_policy
    if rerror is None and error_policy not in (None, "enospace"):
        # libvirt applies error_policy to reads too, except 'enospace' (write only)
        rerror = error_policy
    # the XML says 'enospace', QEMU's option value is 'enospc'
    werror = "enospc" if error_policy == "enospace" else error_policy
    return werror, rerror


def backend(plan: StoragePlan, disk: Disk, alias: str, node_index: int) -> Backend | None:
    """The disk's backend for the plan's era; None (with a finding) when not translatable."""
    refusal = _target_name_refusal(disk)
    if refusal is not None:
        plan.findings.append(
            finding_at(
                "VX0100",
                "error",
                refusal,
                disk.target or disk,
                plan.domain.source,
                xpath_suffix="/@dev",
            )
        )
        return None
    if disk.effective_device == "disk" and no_source(disk):
        # virDomainDiskDefValidate, when libvirt reads the XML: only removable media may
        # be empty
        plan.findings.append(
            finding_at(
                "VX0100",
                "error",
                f"missing source information for device {disk.dev or ''}",
                disk.source or disk,
                plan.domain.source,
                hint="a hard disk needs a medium: give <source> its file, dev, dir or protocol",
            )
        )
        return None
    if _backing_refusal(plan, disk):
        return None
    if plan.caps.storage_style == "blockdev":
        return _blockdev(plan, disk, node_index)
    # the -drive era: QEMU opens the backing chain the image names itself
    return _legacy_drive(plan, disk, alias)


# --- the -drive era ----------------------------------------------------------------------


def _legacy_file(plan: StoragePlan, disk: Disk) -> str | None | bool:
    """The -drive file= value, None for an empty drive, False when not translatable."""
    if is_empty(disk):
        return None
    source = disk.source
    assert source is not None
    kind = disk.type or "file"
    if kind in ("file", "block"):
        return source.file if kind == "file" else source.dev
    if kind == "dir":
        # qemuBuildDriveSourceStr: a directory is exposed through QEMU's vvfat driver
        prefix = "fat:floppy:" if disk.effective_device == "floppy" else "fat:"
        return f"{prefix}{source.dir}" if source.dir else None
    if kind == "network":
        return _network_uri(plan, disk)
    plan.findings.append(unsupported(plan, disk, f"disk type '{kind}'"))
    return False


def _network_uri(plan: StoragePlan, disk: Disk) -> str | bool:
    source = disk.source
    assert source is not None
    protocol = source.protocol or ""
    host = source.hosts[0] if source.hosts else None
    hostname = host.name if host is not None else None
    port = host.port if host is not None else None
    name = source.name or ""
    if protocol == "nbd" and hostname:
        uri = f"nbd:{hostname}:{port or 10809}"
        return f"{uri}:exportname={name}" if name else uri
    if protocol in ("http", "https", "ftp", "ftps", "iscsi", "gluster") and hostname:
        authority = f"{hostname}:{port}" if port else hostname
        return f"{protocol}://{authority}/{name}"
    plan.findings.append(unsupported(plan, disk, f"network protocol '{protocol}'"))
    return False


def legacy_drive_props(plan: StoragePlan, disk: Disk) -> list[tuple[str, Value]] | None:
    """qemuBuildDriveStr of the -drive era, in libvirt's order, without the id."""
    file_ = _legacy_file(plan, disk)
    if file_ is False:
        return None
    props: list[tuple[str, Value]] = []
    fmt = disk_format(disk)
    if file_ is not None:
        props.append(("file", file_))
        if fmt is not None and not str(file_).startswith("fat:"):
            props.append(("format", fmt))
    props.append(("if", "none"))
    if disk.readonly or disk.effective_device == "cdrom":
        props.append(("readonly", "on"))
    driver = disk.driver
    if driver is not None and file_ is not None:
        # an empty drive (no medium) takes no backend tuning
        werror, rerror = error_policies(disk)
        for key, value in (("werror", werror), ("rerror", rerror)):
            if value:
                props.append((key, value))
        drive = Option("-drive")
        add_props(drive, DRIVE, disk, disk.bus, Context(plan.caps, blockdev=False))
        props += drive.props
    return props


def _legacy_drive(plan: StoragePlan, disk: Disk, alias: str) -> Backend | None:
    props = legacy_drive_props(plan, disk)
    if props is None:
        return None
    drive = Option("-drive", origin=disk)
    manager, helper = _pr_manager(plan, disk, f"pr-helper-{alias}")
    for key, value in props:
        drive.add(key, value)
        if key == "file":
            drive.add("file.pr-manager", manager)
        if key == "if":
            drive.add("id", f"drive-{alias}")
    return Backend(helper + [drive], f"drive-{alias}")


# The managed qemu-pr-helper's socket: libvirt starts one helper per domain and puts its
# socket in the domain's directory (domain id -1 for a domain not running, as
# domxml-to-native writes it).
MANAGED_PR_HELPER_ID = "pr-helper0"
MANAGED_PR_HELPER_SOCKET = "/var/lib/libvirt/qemu/domain--1-{name}/pr-helper0.sock"


def _pr_manager(
    plan: StoragePlan, disk: Disk, unmanaged_id: str
) -> tuple[str | None, list[Option]]:
    """The pr-manager id of a disk with <reservations>, and the pr-manager-helper object
    to write before it (qemuBuildPRManagerInfoProps): the domain's managed helper, shared
    by its disks and written once, or the user's own socket."""
    source = disk.source
    if source is None or source.reservations_managed is None:
        return None, []
    if source.reservations_managed:
        if plan.pr_helper_written:
            return MANAGED_PR_HELPER_ID, []
        plan.pr_helper_written = True
        object_id = MANAGED_PR_HELPER_ID
        path = MANAGED_PR_HELPER_SOCKET.format(name=plan.domain.name or "")
    else:
        object_id, path = unmanaged_id, source.reservations_path or ""
    helper = Option(
        "-object",
        None,
        [("qom-type", "pr-manager-helper"), ("id", object_id), ("path", path)],
        origin=disk,
    )
    return object_id, [helper]


# --- the -blockdev era -------------------------------------------------------------------

# Ports libvirt fills in when a <host> gives none (virStorageSourceNetworkDefaultPort).
_DEFAULT_PORTS = {
    "nbd": "10809",
    "iscsi": "3260",
    "gluster": "24007",
    "http": "80",
    "https": "443",
    "ftp": "21",
    "ftps": "990",
    "rbd": None,
}


def iscsi_props(
    portal: str, name: str, transport: str | None, source: etree._Element
) -> list[tuple[str, Value]]:
    """An iSCSI node's portal, target and LUN: name='IQN/LUN' (LUN 0 when absent) of
    SOURCE; a LUN that is no number is refused, as libvirt does ("can't parse iscsi lun")."""
    target, _, lun = name.partition("/") if "/" in name else (name, "", "0")
    if lun and not (lun.isascii() and lun.isdigit()):
        raise InvalidValue(
            f"the LUN of iSCSI name '{name}' is '{lun}': expected a number",
            line=source.sourceline or 0,
            xpath=f"{xpath_of(source)}/@name",
        )
    return [
        ("driver", "iscsi"),
        ("portal", portal),
        ("target", target),
        ("lun", int(lun or 0)),
        ("transport", transport or "tcp"),
    ]


def _network_blockdev(source) -> list[tuple[str, Value]] | None:  # type: ignore[no-untyped-def]
    """The protocol part of a network disk's storage node (qemuBlockStorageSourceGet*Props),
    checked against libvirt 9.0's domxml-to-native."""
    protocol = source.protocol or ""
    hosts = source.hosts
    name = source.name or ""
    if protocol not in _DEFAULT_PORTS or not hosts:
        return None
    host = hosts[0]
    port = host.port or _DEFAULT_PORTS[protocol]
    if protocol == "nbd":
        server: dict[str, Value] = (
            {"type": "unix", "path": host.socket or ""}
            if host.transport == "unix"
            else {"type": "inet", "host": host.name or "", "port": port or ""}
        )
        props: list[tuple[str, Value]] = [("driver", "nbd"), ("server", server)]
        if name:
            props.append(("export", name))
        return props
    if protocol == "iscsi":
        return iscsi_props(f"{host.name}:{port}", name, host.transport, source.element)
    if protocol == "gluster":
        volume, _, path = name.lstrip("/").partition("/")
        servers = [{"type": "inet", "host": h.name or "", "port": h.port or "24007"} for h in hosts]
        # debug 4 is libvirt's gluster_debug_level default (qemu.conf)
        gluster: list[tuple[str, Value]] = [("driver", "gluster"), ("volume", volume)]
        gluster += [("path", path), ("server", servers), ("debug", 4)]  # type: ignore[list-item]
        return gluster
    if protocol == "rbd":
        pool, _, image = name.partition("/")
        servers = [{"host": h.name or "", **({"port": h.port} if h.port else {})} for h in hosts]
        return [("driver", "rbd"), ("pool", pool), ("image", image), ("server", servers)]  # type: ignore[list-item]
    path = name if name.startswith("/") else f"/{name}"
    curl = Option("-blockdev", None, [("driver", protocol)])
    curl.add("url", f"{protocol}://{host.name}:{port}{path}")
    add_props(curl, NETWORK_STORAGE, source, protocol, None)
    return curl.props


def _cache_flags(disk: Disk) -> tuple[bool, bool] | None:
    """(cache.direct, cache.no-flush) of the disk's cache mode; None without one."""
    mode = cache_mode(disk, blockdev=True)
    if mode not in CACHE_MODES:
        return None
    _, direct, no_flush = CACHE_MODES[mode]
    return direct, no_flush


def _storage_props(
    plan: StoragePlan, disk: Disk, kind: str, source: DiskSource, top: bool
) -> list[tuple[str, Value]] | None:
    """The protocol part of one layer's storage node: the disk's image (TOP) or a layer
    of its backing chain; None (with a finding) when virtxlate cannot write it."""
    storage: list[tuple[str, Value]]
    if kind == "file":
        storage = [("driver", "file"), ("filename", source.file or "")]
    elif kind == "block":
        # libvirt asks the host whether the device is a CD-ROM drive (virFileIsCDROM)
        cdrom = top and disk.effective_device == "cdrom"
        is_cdrom = cdrom and plan.host.is_cdrom(source.dev or "")
        if cdrom and source.dev and not host_known(plan.host):
            plan.findings.append(
                finding_at(
                    "VX0701",
                    "info",
                    f"whether {source.dev} is a CD-ROM drive on the VM's host "
                    "is not looked up: written as host_device (libvirt writes host_cdrom for a "
                    "drive)",
                    disk,
                    plan.domain.source,
                    hint=ASK_THE_HOST,
                )
            )
        storage = [
            ("driver", "host_cdrom" if is_cdrom else "host_device"),
            ("filename", source.dev or ""),
        ]
    elif kind == "dir":
        storage = [
            ("driver", "vvfat"),
            ("dir", source.dir or ""),
            ("floppy", disk.effective_device == "floppy"),
            ("rw", False),
        ]
    elif kind == "network":
        network = _network_blockdev(source)
        if network is None:
            plan.findings.append(
                unsupported(plan, disk, f"network protocol '{source.protocol}' with -blockdev")
            )
            return None
        storage = network
    else:
        plan.findings.append(unsupported(plan, disk, f"disk type '{kind}' with -blockdev"))
        return None
    return storage


def _storage_node(
    disk: Disk,
    kind: str,
    storage: list[tuple[str, Value]],
    name: str,
    props: list[tuple[str, Value]],
) -> None:
    """A layer's storage node, into PROPS: its protocol part STORAGE, then what the
    disk's <driver> gives every layer (aio, the cache flags) and the node's name."""
    settings = disk.driver
    props += storage
    # libvirt 9.0 gives only the local file drivers an aio mode (a network disk's
    # io='threads' is not written: checked with its domxml-to-native)
    if settings is not None and settings.io and kind in ("file", "block"):
        props.append(("aio", settings.io))
    props.append(("node-name", name))
    cache_flags = _cache_flags(disk)  # (each node gets a dict of its own)
    if cache_flags is not None:
        props.append(("cache", {"direct": cache_flags[0], "no-flush": cache_flags[1]}))
    props += [("auto-read-only", True), ("discard", "unmap")]


def _format_node(
    disk: Disk,
    index: int,
    layer: BackingStore | None,
    below: str | None,
    ends: bool,
    props: list[tuple[str, Value]],
) -> None:
    """A layer's format node, into PROPS (the image's own, or LAYER's of its backing
    chain), whose backing is the format node BELOW or, where the XML ENDS the chain,
    none; detect-zeroes only on the image's own (checked with libvirt 9.0's
    domxml-to-native: the backing layers carry discard and cache alone)."""
    settings = disk.driver
    top = layer is None
    if layer is None:
        read_only = disk.readonly or disk.effective_device == "cdrom"
        # a directory (type='fat') is exposed by the vvfat protocol driver under a raw
        # format
        kind = disk.type or "file"
        driver = "raw" if kind == "dir" else (disk_format(disk) or "raw")
    else:
        read_only, driver = True, layer.format or "raw"
    props += [("node-name", f"libvirt-{index}-format"), ("read-only", read_only)]
    # libvirt 9.0's order (qemuBlockStorageSourceGetFormatProps): discard, detect-zeroes,
    # then the cache object
    if settings is not None and settings.discard:
        props.append(("discard", settings.discard))
    zeroes = detect_zeroes(disk) if top else None
    if zeroes:
        props.append(("detect-zeroes", zeroes))
    cache_flags = _cache_flags(disk)  # (each node gets a dict of its own)
    if cache_flags is not None:
        props.append(("cache", {"direct": cache_flags[0], "no-flush": cache_flags[1]}))
    props += [("driver", driver), ("file", f"libvirt-{index}-storage")]
    _backing(props, driver, below, ends)


def _backing(fmt: list[tuple[str, Value]], driver: str, below: str | None, ends: bool) -> None:
    """The format node's backing: the layer below, or null where the XML ends the chain
    on a format that has backing images (libvirt leaves it out otherwise: QEMU opens
    what the image names)."""
    if below is not None:
        fmt.append(("backing", below))
    elif ends and driver in BACKING_FORMATS:
        fmt.append(("backing", None))  # type: ignore[arg-type]


def _blockdev(plan: StoragePlan, disk: Disk, index: int) -> Backend | None:
    """The disk's storage and format nodes: each backing layer's first, deepest first,
    numbered on from the image's INDEX (qemuBuildDiskSourceCommandLine walks the chain
    from its end); the image's format node names the layer below as its backing.  What
    may be refused (each layer's protocol part) is found here; the nodes' bodies are
    made when the line is written (Option.defer: `check` never reads them)."""
    if is_empty(disk, blockdev=True):
        return Backend()
    source = disk.source
    assert source is not None
    kind = disk.type or "file"
    layers, ends = backing_chain(disk)
    options: list[Option] = []
    below: str | None = None  # the format node of the layer under the one being written
    for depth in range(len(layers), 0, -1):
        layer, number = layers[depth - 1], index + depth
        layer_kind = layer.type or "file"
        assert layer.source is not None  # _backing_refusal refused a layer without one
        protocol = _storage_props(plan, disk, layer_kind, layer.source, top=False)
        if protocol is None:
            return None
        storage_node = Option("-blockdev", origin=disk)
        storage_node.defer(
            partial(_storage_node, disk, layer_kind, protocol, f"libvirt-{number}-storage")
        )
        format_node = Option("-blockdev", origin=disk)
        format_node.defer(partial(_format_node, disk, number, layer, below, ends))
        options += (storage_node, format_node)
        below, ends = f"libvirt-{number}-format", False
    storage = _storage_props(plan, disk, kind, source, top=True)
    if storage is None:
        return None
    storage_name, format_name = f"libvirt-{index}-storage", f"libvirt-{index}-format"
    manager, helper = _pr_manager(plan, disk, f"pr-helper-{storage_name}")
    if manager is not None:
        storage.append(("pr-manager", manager))
    storage_node = Option("-blockdev", origin=disk)
    storage_node.defer(partial(_storage_node, disk, kind, storage, storage_name))
    format_node = Option("-blockdev", origin=disk)
    format_node.defer(partial(_format_node, disk, index, None, below, ends))
    options = helper + options + [storage_node, format_node]
    top = format_name
    settings = disk.driver
    if settings is not None and settings.copy_on_read:
        top = f"libvirt-CoR-{disk.dev}"
        # libvirt 9.0 passes discard requests through the layer (checked with its
        # domxml-to-native; the 2022 corpus predates it and does not)
        options.append(
            Option(
                "-blockdev",
                None,
                [
                    ("driver", "copy-on-read"),
                    ("node-name", top),
                    ("file", format_name),
                    ("discard", "unmap"),
                ],
                origin=disk,
            )
        )
    return Backend(options, top)
