"""What a disk's backend says, read back from `-drive` or from a `-blockdev` chain."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit

from ..props.disk_table import DRIVE
from ..props.mapping import BadValue, on_off, parse_props, text
from .options import ArgvOption

# -blockdev protocol drivers → libvirt <source protocol>
_NETWORK_DRIVERS = (
    "nbd",
    "iscsi",
    "rbd",
    "gluster",
    "http",
    "https",
    "ftp",
    "ftps",
    "ssh",
    "sheepdog",
    "vxhs",
    "nfs",
)
_FILE_DRIVERS = {"file": "file", "host_device": "block", "host_cdrom": "block"}
# (write-cache on the device, cache.direct, cache.no-flush) → libvirt cache mode
# (libvirt's qemuDomainDiskCachemodeFlags, read backwards)
_CACHE_MODES = {
    (True, False, False): "writeback",
    (True, True, False): "none",
    (False, False, False): "writethrough",
    (False, True, False): "directsync",
    (True, False, True): "unsafe",
}
_ERROR_POLICIES = {"enospc": "enospace"}


@dataclass
class Host:
    name: str | None = None
    port: str | None = None
    transport: str | None = None
    socket: str | None = None


@dataclass
class Backend:
    """A disk's source and driver settings as libvirt would write them in <disk>."""

    type: str | None = None  # file, block, network; None: no medium
    path: str | None = None
    protocol: str | None = None
    name: str | None = None
    hosts: list[Host] = field(default_factory=list)
    format: str | None = None
    cache: str | None = None
    io: str | None = None
    discard: str | None = None
    detect_zeroes: str | None = None
    error_policy: str | None = None
    rerror_policy: str | None = None
    copy_on_read: bool | None = None
    readonly: bool = False
    serial: str | None = None  # -drive serial= (libvirt before the device had it)
    pr_manager: str | None = None  # the pr-manager-helper object's id (<reservations>)
    media: str | None = None  # -drive media=cdrom
    interface: str | None = None  # -drive if=
    index: int | None = None  # -drive index=
    bus: int | None = None  # -drive bus= (if=scsi/ide)
    unit: int | None = None
    direct: bool | None = None  # -blockdev cache.direct (device decides the mode)
    no_flush: bool | None = None
    storage: dict[str, Any] = field(default_factory=dict)  # the -blockdev storage node
    # the format node's backing: the layer below (<backingStore type=…>), or, for a JSON
    # null, the end of the chain (<backingStore/>); neither when the key is absent
    backing: Backend | None = None
    backing_ends: bool = False


def from_drive(option: ArgvOption) -> Backend:
    """A `-drive …` (libvirt's if=none era, or a legacy if=virtio/scsi/ide/floppy one)."""
    f = {key: _scalar(value, key) for key, value in option.fields.items()}
    driver = parse_props(DRIVE, f)  # the rows argv writes a -drive with
    backend = Backend(
        format=f.get("format"),
        cache=driver["driver.cache"],
        io=driver["driver.io"],
        discard=driver["driver.discard"],
        detect_zeroes=driver["driver.detect_zeroes"],
        error_policy=error_policy(f.get("werror")),
        rerror_policy=error_policy(f.get("rerror")),
        copy_on_read=driver["driver.copy_on_read"],
        readonly=bool(on_off(f.get("readonly"))),
        serial=f.get("serial"),
        media=f.get("media"),
        interface=f.get("if"),
        index=_int(f.get("index")),
        bus=_int(f.get("bus")),
        unit=_int(f.get("unit")),
        direct=on_off(f.get("cache.direct")),
        no_flush=on_off(f.get("cache.no-flush")),
        pr_manager=f.get("file.pr-manager"),
    )
    set_source(backend, f.get("file"))
    return backend


def set_source(backend: Backend, value: Any) -> None:
    """The source a -drive file= (or -hda, -cdrom …) names: a path, a URL, fat:DIR."""
    if value is None or value == "":
        return
    file = text(value)
    if file.startswith("fat:"):
        # a directory QEMU shows as a FAT image: <disk type='dir'>, format fat
        backend.type, backend.format = "dir", "fat"
        backend.path = file.rsplit(":", 1)[-1]
        return
    if "://" in file:
        url = _url(file)
        backend.type, backend.protocol = "network", url.scheme
        backend.name = url.path[1:] or None
        if url.hostname:
            backend.hosts.append(Host(url.hostname, str(url.port) if url.port else None))
        return
    prefix, sep, rest = file.partition(":")
    if sep and prefix in ("nbd", "rbd", "sheepdog", "gluster"):
        backend.type, backend.protocol = "network", prefix
        if prefix == "rbd":
            backend.name = rest.split(":", 1)[0]
        elif prefix == "nbd":
            parts = dict(p.partition("=")[::2] for p in rest.split(":") if "=" in p)
            fields = [p for p in rest.split(":") if "=" not in p]
            if fields and fields[0] == "unix":
                backend.hosts.append(
                    Host(
                        transport="unix",
                        socket=parts.get("") or (fields[1] if len(fields) > 1 else None),
                    )
                )
            elif fields:
                backend.hosts.append(Host(fields[0], fields[1] if len(fields) > 1 else None))
            backend.name = parts.get("exportname")
        return
    backend.type = "block" if file.startswith("/dev/") else "file"
    backend.path = file


# the deepest backing chain read back (a chain that loops reaches it too)
MAX_BACKING_DEPTH = 100


def from_blockdev(
    node: dict[str, Any], nodes: dict[str, dict[str, Any]], depth: int = 0
) -> Backend:
    """A `-blockdev` node the device names (the format node), down its file chain and
    its backing chain (qemuBlockStorageSourceGetBlockdevProps' "backing")."""
    backend = Backend()
    if node.get("driver") == "copy-on-read":
        # libvirt's copy_on_read='on': a filter node on top of the format node
        backend = from_blockdev(_child(node, nodes), nodes, depth)
        backend.copy_on_read = True
        return backend
    if "backing" in node and node.get("file") is not None:
        below = node["backing"]
        if below is None:
            backend.backing_ends = True
        elif not isinstance(below, str):
            raise BadValue(f"bad value '{below}' for backing (expected a node name or null)")
        elif below in nodes:
            if depth >= MAX_BACKING_DEPTH:
                raise BadValue(
                    f"the backing chain is deeper than {MAX_BACKING_DEPTH} nodes (or loops)"
                )
            backend.backing = from_blockdev(nodes[below], nodes, depth + 1)
    storage = node
    child = node.get("file")
    if child is not None:
        backend.format = _word(node, "driver")
        storage = _child(node, nodes)
    else:
        # libvirt leaves out the format layer of a raw image that needs none
        backend.format = "raw" if _word(node, "driver") in _FILE_DRIVERS else None
    backend.readonly = bool(on_off(node.get("read-only")))
    backend.discard = _word(node, "discard") if child is not None else None
    backend.detect_zeroes = _word(node, "detect-zeroes")
    cache = _object(node.get("cache") or storage.get("cache") or {}, "cache")
    if cache:
        backend.direct, backend.no_flush = (
            on_off(cache.get("direct")),
            on_off(cache.get("no-flush")),
        )
    backend.storage = storage
    backend.io = _word(storage, "aio")
    backend.pr_manager = _word(storage, "pr-manager")
    driver = _word(storage, "driver")
    if driver == "vvfat":
        # a directory shown as a FAT image (libvirt's <disk type='dir'>, format fat)
        backend.type, backend.path, backend.format = "dir", _word(storage, "dir"), "fat"
    elif driver in _FILE_DRIVERS:
        backend.type, backend.path = _FILE_DRIVERS[driver], _word(storage, "filename")
    elif driver in _NETWORK_DRIVERS:
        backend.type, backend.protocol = "network", driver
        _network_source(backend, storage)
    return backend


def _child(node: dict[str, Any], nodes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The node NODE's file names (a node name, or a node written inline)."""
    child = node.get("file")
    return nodes.get(child, {}) if isinstance(child, str) else _object(child or {}, "file")


def _url(value: str) -> SplitResult:
    """VALUE split as a URL whose port reads (BadValue for [::1 or :99999)."""
    try:
        url = urlsplit(value)
        url.port  # noqa: B018 (urlsplit reads the port only when asked)
    except ValueError as exc:
        raise BadValue(f"bad URL '{value}' ({exc})") from None
    return url


def _object(value: Any, key: str) -> dict[str, Any]:
    """VALUE, the JSON object KEY must be."""
    if not isinstance(value, dict):
        raise BadValue(f"bad value '{value}' for {key} (expected an object)")
    return value


def _word(fields: dict[str, Any], key: str) -> str | None:
    """FIELDS[KEY] as text, None when absent (BadValue for an object or a list)."""
    return _scalar(fields.get(key), key)


def _scalar(value: Any, key: str) -> Any:
    if isinstance(value, dict | list):
        raise BadValue(f"bad value '{value}' for {key} (expected a word)")
    return value


def _network_source(backend: Backend, storage: dict[str, Any]) -> None:
    driver = storage.get("driver")
    servers = storage.get("server")
    if isinstance(servers, dict):
        servers = [servers]
    if not isinstance(servers, list | None):
        raise BadValue(f"bad value '{servers}' for server (expected a list of servers)")
    for server in servers or []:
        server = _object(server, "server")
        if server.get("type") == "unix":
            backend.hosts.append(Host(transport="unix", socket=_word(server, "path")))
        else:
            backend.hosts.append(Host(_word(server, "host"), _text(_word(server, "port"))))
    if driver == "nbd":
        backend.name = _word(storage, "export")
    elif driver == "iscsi":
        portal = text(storage.get("portal", ""))
        host, _, port = portal.rpartition(":") if ":" in portal else (portal, "", "")
        backend.hosts.append(Host(host, port or None))
        backend.name = f"{_word(storage, 'target')}/{_word(storage, 'lun') or 0}"
    elif driver == "rbd":
        backend.name = f"{_word(storage, 'pool')}/{_word(storage, 'image')}"
    elif driver == "gluster":
        path = text(storage.get("path", "")).lstrip("/")
        backend.name = f"{_word(storage, 'volume')}/{path}"
    elif driver in ("http", "https", "ftp", "ftps"):
        url = _url(text(storage.get("url", "")))
        backend.name = url.path[1:] or None  # libvirt puts one '/' before the name
        if url.hostname:
            backend.hosts.append(Host(url.hostname, str(url.port) if url.port else None))


def device_cache(backend: Backend, write_cache: Any) -> str | None:
    """The cache mode of a -blockdev era disk: the device's write-cache with the nodes'
    cache.direct and cache.no-flush.  libvirt writes the device's write-cache whenever the
    XML names a mode; nodes' cache without it is libvirt's own choice (a writable shared
    disk gets cache.direct), not the XML's."""
    if backend.cache is not None or write_cache is None:
        return backend.cache
    key = (
        bool(on_off(write_cache)) if write_cache is not None else True,
        bool(backend.direct),
        bool(backend.no_flush),
    )
    return _CACHE_MODES.get(key)


def error_policy(value: Any) -> str | None:
    """QEMU's werror/rerror value as libvirt's policy name (enospc is 'enospace')."""
    if value is None:
        return None
    policy = text(value)
    return _ERROR_POLICIES.get(policy, policy)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
