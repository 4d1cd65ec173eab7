"""Capability tables: what one QEMU release (and arch) has, loaded from caps/data/*.xml.

Tables only answer questions ("does 1.5 have vhost-scsi?", "which bus does
virtio-scsi-device provide, and how is it named?"); they hold no policy.
The shipped files are JSON forms of schemas/caps.xsd documents (store.py), built by
tools/build_tables.py and validated there and in the tests, not at every start.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import UsageError
from ..records import Record
from ..resources import CAPS_DIR, schema_path

# The records of a table are named tuples (immutable, compared by value, as frozen
# dataclasses are), the table a Record: every command loads a table, and a dataclass
# costs 0.3–0.5 ms to define at each start, a named tuple a tenth of that.


class Prop(NamedTuple):
    """A property of a device type: QEMU's type name, default, shown by info qtree?"""

    name: str
    type: str
    default: str | None = None
    in_qtree: bool = True
    inferred: bool = False  # copied from another release: not this release's answer


class BusSpec(NamedTuple):
    """A child bus a device type provides, with QEMU's naming rule and its limits."""

    bus_type: str
    name_rule: str
    max_devices: int | None = None
    max_channel: int | None = None
    max_target: int | None = None
    max_lun: int | None = None
    max_unit: int | None = None

    def name_for(self, device_id: str | None, proxy_id: str | None = None) -> str:
        # a device without an id names its buses after the bus type, lower-cased
        # (QEMU's qbus_init: "floppy-bus.0")
        return self.name_rule.replace("{proxy-id}", proxy_id or "").replace(
            "{id}", device_id or self.bus_type.lower()
        )


class DeviceType(NamedTuple):
    """A QOM type as qom-list-types and device-list-properties describe it."""

    name: str
    parent: str | None
    abstract: bool
    creatable: bool
    plugs_into: str | None
    aliases: tuple[str, ...]
    buses: tuple[BusSpec, ...]
    embeds: str | None
    props: tuple[Prop, ...]
    since: str | None

    def prop(self, name: str) -> Prop | None:
        return next((p for p in self.props if p.name == name), None)


class Builtin(NamedTuple):
    """A device a machine type creates itself, and the buses it provides."""

    type: str
    addr: str | None
    libvirt_controller: str | None
    buses: tuple[tuple[str, str], ...]
    parent_bus: str | None = None  # None: the machine's root PCI bus
    enabled_by: str | None = None  # a legacy option that creates it, e.g. -usb
    needs: str | None = None  # a machine feature it exists only with ("acpi")


class MachineFamily(NamedTuple):
    """What the machine types of a family share: root bus, reserved slots, builtins."""

    name: str
    host_bridge: str
    root_bus: str
    root_bus_type: str
    reserved_pci_slots: tuple[int, ...]
    libvirt_addressing: str
    video_slot: int | None
    builtins: tuple[Builtin, ...]


class Machine(NamedTuple):
    """A machine type of query-machines: name, alias, default, family."""

    name: str
    alias: str | None
    default: bool
    family: str
    acpi: bool | None = None  # query-machines' acpi (QEMU 8.0 on); None: not reported
    default_ram_id: str | None = None  # query-machines' default-ram-id (QEMU 5.2 on)
    default_cpu_type: str | None = None  # query-machines' default-cpu-type (QEMU 4.2 on)


class CapsTable(Record):
    """Everything virtxlate knows about one QEMU release on one architecture."""

    _fields = (
        "version",
        "release",
        "arch",
        "emulator",
        "storage_style",
        "json_device",
        "qtree_value_style",
        "flags",
        "machines",
        "families",
        "bus_types",
        "devices",
        "path",
        "bus_type_since",
        "machines_complete",
        "uncertain_devices",
        "_aliases",
    )
    _not_init = ("_machine_names",)
    _hidden = ("_machine_names",)

    def __init__(
        self,
        version: str,
        release: str,
        arch: str,
        emulator: str,
        storage_style: str,
        json_device: bool,
        qtree_value_style: str,
        flags: frozenset[str],
        machines: tuple[Machine, ...],
        families: dict[str, MachineFamily],
        bus_types: dict[str, str | None],
        devices: Mapping[str, DeviceType],
        path: Path,
        bus_type_since: dict[str, str] | None = None,
        machines_complete: bool = True,
        uncertain_devices: frozenset[str] = frozenset(),
        _aliases: dict[str, str] | None = None,
    ):
        self.version = version
        self.release = release
        self.arch = arch
        self.emulator = emulator
        self.storage_style = storage_style
        self.json_device = json_device
        self.qtree_value_style = qtree_value_style
        self.flags = flags
        self.machines = machines
        self.families = families
        self.bus_types = bus_types  # bus type → its parent bus type
        self.devices = devices
        self.path = path
        self.bus_type_since: dict[str, str] = {} if bus_type_since is None else bus_type_since
        # False: a machine type missing from the list may still exist (a derived release)
        self.machines_complete = machines_complete
        # device types a derived release may or may not have: their absence is not known
        self.uncertain_devices = uncertain_devices
        # (a copy: replace() passes the table's own, which the devices below add to; a
        # table made of another's must not give that one its aliases)
        self._aliases: dict[str, str] = {} if _aliases is None else dict(_aliases)
        self._machine_names: dict[str, Machine] = {}
        if isinstance(self.devices, _Devices):
            self._aliases.update(self.devices.aliases())
        else:
            for device in self.devices.values():
                for alias in device.aliases:
                    self._aliases[alias] = device.name
        # a machine by name or alias, the first that has it (as the list reads)
        for machine in reversed(self.machines):
            for name in (machine.alias, machine.name):
                if name is not None:
                    self._machine_names[name] = machine

    def has_flag(self, name: str) -> bool:
        return name in self.flags

    def device(self, name: str) -> DeviceType | None:
        """A device type by QOM name or by one of QEMU's -device aliases (lsi, ahci)."""
        return self.devices.get(self._aliases.get(name, name))

    def has_device(self, name: str) -> bool:
        return self.device(name) is not None

    def machine(self, name: str | None) -> Machine | None:
        """A machine type by name or alias; the default machine for None."""
        if name is not None:
            return self._machine_names.get(name)
        return next((machine for machine in self.machines if machine.default), None)

    def family_of(self, machine: Machine) -> MachineFamily:
        return self.families[machine.family]

    def bus_type_ancestry(self, bus_type: str) -> list[str]:
        """BUS_TYPE and the bus types it is a kind of (virtio-pci-bus → virtio-bus)."""
        chain = [bus_type]
        while (parent := self.bus_types.get(chain[-1])) and parent not in chain:
            chain.append(parent)
        return chain

    def type_ancestry(self, name: str) -> list[str]:
        """NAME's parents up the QOM hierarchy, as far as the table records them."""
        chain: list[str] = []
        device = self.device(name)
        while device is not None and device.parent and device.parent not in chain:
            chain.append(device.parent)
            device = self.devices.get(device.parent)
        return chain


def _int(value: str | None) -> int | None:
    return int(value) if value is not None else None


def _yes(value: str | None, default: bool) -> bool:
    return default if value is None else value == "yes"


@functools.cache
def _validator():  # type: ignore[no-untyped-def]
    import xmlschema  # imported here: validating tables is not needed to start the CLI

    return xmlschema.XMLSchema(str(schema_path("caps.xsd")))


def validate(element: Any) -> None:
    """Raise xmlschema's error when ELEMENT is no valid table (schemas/caps.xsd)."""
    _validator().validate(element)


def parse_table(path: Path) -> CapsTable:
    """Load one table file: a shipped .json one as it is (validated when built and by the
    tests), an .xml one (`caps probe` output) after validating it."""
    if path.suffix == ".json":
        return table_from_node(_read_json(path.read_text(encoding="utf-8")), path)
    from lxml import etree

    root = etree.parse(str(path)).getroot()
    validate(root)
    from .store import to_node

    return table_from_node(to_node(root), path)


# store.dumps writes a table as its root's head, then one child element per line
_DEVICE_LINE = '["device-type",{"name":"'
_SOURCE_LINE = '["source",'


def _read_json(text: str) -> list[Any]:
    """A table's JSON form, its device types left as their lines of JSON (read when asked
    for, _Devices): a check reads a dozen of a table's hundreds, and decoding them all
    took most of a one-domain run's table loading.  The lines are found in the text
    itself, not split off it (a device's line is not copied until it is read).  Text not
    laid out as store.dumps writes it is decoded whole."""
    head_end = text.find("\n")
    if head_end < 0 or not text[:head_end].endswith(",[") or not text.endswith("\n]]\n"):
        return json.loads(text)  # type: ignore[no-any-return]
    root = json.loads(text[:head_end] + "]]")
    children = root[2]
    last = len(text) - len("]]\n")  # where the closing line starts
    start = head_end + 1
    while start < last:
        end = text.find("\n", start)
        stop = end - 1 if text[end - 1] == "," else end  # the line without its comma
        if text.startswith(_SOURCE_LINE, start):
            pass  # where a fact comes from: for the reader of the file, not for a run
        elif text.startswith(_DEVICE_LINE, start):
            name_start = start + len(_DEVICE_LINE)
            quote = text.find('"', name_start, stop)
            name = text[name_start:quote]
            if quote >= 0 and "\\" not in name:  # (an escaped name is decoded now)
                children.append(_DeviceLine(text, start, stop, name))
            else:
                children.append(json.loads(text[start:stop]))
        else:
            children.append(json.loads(text[start:stop]))
        start = end + 1
    return root  # type: ignore[no-any-return]


class _DeviceLine:
    """A device type's element as its line of JSON in the table's text, with its name."""

    __slots__ = ("text", "start", "stop", "name")

    def __init__(self, text: str, start: int, stop: int, name: str):
        self.text = text
        self.start = start
        self.stop = stop
        self.name = name

    def decode(self) -> list[Any]:
        return json.loads(self.text[self.start : self.stop])  # type: ignore[no-any-return]

    def has(self, key: str) -> bool:
        """Whether the line holds the JSON key KEY (anywhere on it)."""
        return self.text.find(f'"{key}":', self.start, self.stop) >= 0

    def attributes(self) -> dict[str, Any]:
        """The element's attributes, decoded without its children."""
        attrs, _ = _DECODER.raw_decode(self.text, self.start + len('["device-type",'))
        return attrs  # type: ignore[no-any-return]


_DECODER = json.JSONDecoder()


def _children(node: list[Any]) -> list[list[Any]]:
    return node[2] if len(node) > 2 and isinstance(node[2], list) else []


def _device(node: list[Any]) -> DeviceType:
    attrs = node[1]
    buses, props, embeds = [], [], None
    for child in _children(node):
        tag, a = child[0], child[1]
        if tag == "prop":
            props.append(
                Prop(
                    a["name"],
                    a["type"],
                    a.get("default"),
                    a.get("qtree") != "no",
                    a.get("inferred") == "yes",
                )
            )
        elif tag == "provides":
            buses.append(
                BusSpec(
                    bus_type=a.get("bus-type", ""),
                    name_rule=a.get("name", ""),
                    max_devices=_int(a.get("max-devices")),
                    max_channel=_int(a.get("max-channel")),
                    max_target=_int(a.get("max-target")),
                    max_lun=_int(a.get("max-lun")),
                    max_unit=_int(a.get("max-unit")),
                )
            )
        elif tag == "embeds":
            embeds = a.get("type")
    return DeviceType(
        name=attrs["name"],
        parent=attrs.get("parent"),
        abstract=_yes(attrs.get("abstract"), False),
        creatable=_yes(attrs.get("creatable"), True),
        plugs_into=attrs.get("plugs-into"),
        aliases=tuple((attrs.get("aliases") or "").split()),
        buses=tuple(buses),
        embeds=embeds,
        props=tuple(props),
        since=attrs.get("since"),
    )


def _family(node: list[Any]) -> MachineFamily:
    f = node[1]
    builtins = []
    for child in _children(node):
        b = child[1]
        builtins.append(
            Builtin(
                type=b.get("type", ""),
                addr=b.get("addr"),
                libvirt_controller=b.get("libvirt-controller"),
                buses=tuple((x[1].get("name", ""), x[1].get("type", "")) for x in _children(child)),
                parent_bus=b.get("parent-bus"),
                enabled_by=b.get("enabled-by"),
                needs=b.get("needs"),
            )
        )
    return MachineFamily(
        name=f.get("name", ""),
        host_bridge=f.get("host-bridge", ""),
        root_bus=f.get("root-bus", ""),
        root_bus_type=f.get("root-bus-type", ""),
        reserved_pci_slots=tuple(int(slot) for slot in f.get("reserved-pci-slots", "").split()),
        libvirt_addressing=f.get("libvirt-addressing", "root-bus"),
        video_slot=_int(f.get("video-slot")),
        builtins=tuple(builtins),
    )


class _Devices(Mapping[str, DeviceType]):
    """The device types of a table, each read from its JSON node when first asked for: a
    check asks for a dozen of a table's hundreds."""

    def __init__(self, nodes: dict[str, list[Any] | _DeviceLine]):
        self._nodes = nodes
        self._read: dict[str, DeviceType] = {}

    def __getitem__(self, name: str) -> DeviceType:
        device = self._read.get(name)
        if device is None:
            node = self._nodes[name]
            device = self._read[name] = _device(
                node.decode() if isinstance(node, _DeviceLine) else node
            )
        return device

    def __contains__(self, name: object) -> bool:
        return name in self._nodes

    def __iter__(self) -> Iterator[str]:
        return iter(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def aliases(self) -> Iterator[tuple[str, str]]:
        """(alias, type name) for every -device alias, without reading the types."""
        for name, node in self._nodes.items():
            if isinstance(node, _DeviceLine):
                # (a line without the key has no aliases: no need to decode it)
                attrs = node.attributes() if node.has("aliases") else {}
            else:
                attrs = node[1]
            for alias in (attrs.get("aliases") or "").split():
                yield alias, name


def table_from_node(root: list[Any], path: Path) -> CapsTable:
    """A CapsTable from a table in its JSON form (store.py)."""
    attrs = root[1]
    cmd: dict[str, str] = {}
    qtree_style = "qom"
    flags: list[str] = []
    machines: list[Machine] = []
    machines_complete = True
    uncertain: set[str] = set()
    families: dict[str, MachineFamily] = {}
    bus_types: dict[str, str | None] = {}
    bus_type_since: dict[str, str] = {}
    devices: dict[str, list[Any] | _DeviceLine] = {}
    emulator = ""
    for node in _children(root):
        if isinstance(node, _DeviceLine):
            devices[node.name] = node
            continue
        tag, a = node[0], node[1]
        if tag == "device-type":
            devices[a["name"]] = node
        elif tag == "bus-type":
            bus_types[a["name"]] = a.get("parent")
            if a.get("since"):
                bus_type_since[a["name"]] = a["since"]
        elif tag == "machine-family":
            families[a["name"]] = _family(node)
        elif tag == "machines":
            machines_complete = a.get("complete") != "no"
            machines = [
                Machine(
                    name=m[1]["name"],
                    alias=m[1].get("alias"),
                    default=_yes(m[1].get("default"), False),
                    family=m[1].get("family", ""),
                    acpi=_yes(m[1]["acpi"], False) if "acpi" in m[1] else None,
                    default_ram_id=m[1].get("default-ram-id"),
                    default_cpu_type=m[1].get("default-cpu-type"),
                )
                for m in _children(node)
            ]
        elif tag == "flags":
            flags = [f[1]["name"] for f in _children(node)]
        elif tag == "uncertain":
            uncertain.update(a.get("names", "").split())
        elif tag == "command-line":
            cmd = a
        elif tag == "qtree":
            qtree_style = a.get("value-style", "qom")
        elif tag == "emulator":
            emulator = (node[2] if len(node) > 2 else "").strip()
    return CapsTable(
        version=attrs.get("version", ""),
        release=attrs.get("release", ""),
        arch=attrs.get("arch", ""),
        emulator=emulator,
        storage_style=cmd.get("libvirt-storage", "drive"),
        json_device=cmd.get("libvirt-device") == "json",
        qtree_value_style=qtree_style,
        flags=frozenset(flags),
        machines=tuple(machines),
        families=families,
        bus_types=bus_types,
        devices=_Devices(devices),
        path=path,
        bus_type_since=bus_type_since,
        machines_complete=machines_complete,
        uncertain_devices=frozenset(uncertain),
    )


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@functools.cache
def available() -> tuple[tuple[str, str], ...]:
    """(version, arch) of every table shipped, oldest first (from the index: no table is
    read)."""
    from .index import arches, versions

    found = [(version, arch) for arch in arches() for version in versions(arch)]
    return tuple(sorted(found, key=lambda item: (_version_key(item[0]), item[1])))


@functools.lru_cache(maxsize=64)
def has_arch(arch: str) -> bool:
    """Whether any table of ARCH is shipped, without reading the index (asked for every
    domain checked: the directory is looked at once per arch, not globbed each time)."""
    if not _is_arch_name(arch):
        return False
    # a file qemu-*-ARCH.json (string tests, not a glob: no pattern compiled at start)
    suffix = f"-{arch}.json"
    try:
        names = os.listdir(CAPS_DIR)
    except OSError:
        return False
    return any(
        name.startswith("qemu-") and name.endswith(suffix) and len(name) >= 5 + len(suffix)
        for name in names
    )


_ARCH_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"


def _is_arch_name(arch: str) -> bool:
    """Whether ARCH can name a table file: [a-z0-9_]+."""
    return bool(arch) and not arch.strip(_ARCH_CHARS)


def known_versions(arch: str = "x86_64") -> list[str]:
    return [version for version, a in available() if a == arch]


def normalize_version(text: str) -> str:
    """The release a version names: '1.5', '1.5.3', 'v1.5.0' and libvirt's integer form
    '1005003' (major * 1000000 + minor * 1000 + micro) all name 1.5."""
    # (string tests for the patterns \d{7,12} and v?\d{1,6}\.\d{1,6}(\.\d{1,6})?, as
    # str.isdecimal() is re's \d: no pattern compiled at every start)
    stripped = text.strip()
    if stripped.isdecimal() and 7 <= len(stripped) <= 12:
        number = int(stripped)
        return f"{number // 1000000}.{number // 1000 % 1000}"
    parts = stripped.removeprefix("v").split(".")
    if not (2 <= len(parts) <= 3 and all(p.isdecimal() and len(p) <= 6 for p in parts)):
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise UsageError(f"'{shown}' is not a QEMU version (expected e.g. 1.5, 7.2.0 or 1005003)")
    return f"{int(parts[0])}.{int(parts[1])}"


def nearest_versions(version: str, arch: str = "x86_64") -> list[str]:
    """The known releases on either side of VERSION (one or two of them)."""
    known = known_versions(arch)
    key = _version_key(version)
    below = [v for v in known if _version_key(v) < key]
    above = [v for v in known if _version_key(v) > key]
    return ([below[-1]] if below else []) + ([above[0]] if above else [])


_TABLES: dict[tuple[str, str], CapsTable] = {}


def load(version: str, arch: str = "x86_64") -> CapsTable:
    """The table for a QEMU release; UsageError naming the nearest known ones otherwise."""
    key = normalize_version(version)
    # one table per release and arch however the release is written ('7.2', '7.2.0')
    table = _TABLES.get((key, arch))
    if table is None:
        path = CAPS_DIR / f"qemu-{key}-{arch}.json"
        if not (_is_arch_name(arch) and path.is_file()):
            raise _missing(version, key, arch)
        table = _TABLES[key, arch] = parse_table(path)
    return table


def _missing(version: str, key: str, arch: str) -> UsageError:
    """The error for a release or arch no table is shipped for."""
    if (key, arch) not in available():
        if not known_versions(arch):
            arches = ", ".join(sorted({a for _, a in available()}))
            return UsageError(f"no capability tables for {arch} (known arches: {arches})")
        nearest = " and ".join(nearest_versions(key, arch))
        return UsageError(
            f"no capability table for QEMU {version} on {arch} "
            f"(nearest known: {nearest}; see 'virtxlate caps list')"
        )
    # the index lists it but the file is gone: a broken installation
    return UsageError(f"no capability table for QEMU {version} on {arch} in {CAPS_DIR}")
