"""Capability tables: what one QEMU release (and arch) has, loaded from caps/data/*.xml.

Tables only answer questions ("does 1.5 have vhost-scsi?", "which bus does
virtio-scsi-device provide, and how is it named?"); they hold no policy.
Each file is validated against schemas/caps.xsd with xmlschema when loaded.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from ..errors import UsageError
from ..resources import CAPS_DIR, schema_path

_FILE_RE = re.compile(r"qemu-(?P<version>\d+\.\d+)-(?P<arch>[a-z0-9_]+)\.xml$")


@dataclass(frozen=True)
class Prop:
    name: str
    type: str
    default: str | None = None
    in_qtree: bool = True


@dataclass(frozen=True)
class BusSpec:
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
            "{id}", device_id or self.bus_type.lower())


@dataclass(frozen=True)
class DeviceType:
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


@dataclass(frozen=True)
class Builtin:
    type: str
    addr: str | None
    libvirt_controller: str | None
    buses: tuple[tuple[str, str], ...]
    parent_bus: str | None = None     # None: the machine's root PCI bus
    enabled_by: str | None = None     # a legacy option that creates it, e.g. -usb


@dataclass(frozen=True)
class MachineFamily:
    name: str
    host_bridge: str
    root_bus: str
    root_bus_type: str
    reserved_pci_slots: tuple[int, ...]
    libvirt_addressing: str
    video_slot: int | None
    builtins: tuple[Builtin, ...]


@dataclass(frozen=True)
class Machine:
    name: str
    alias: str | None
    default: bool
    family: str


@dataclass
class CapsTable:
    """Everything virtxlate knows about one QEMU release on one architecture."""

    version: str
    release: str
    arch: str
    emulator: str
    storage_style: str
    json_device: bool
    qtree_value_style: str
    flags: frozenset[str]
    machines: tuple[Machine, ...]
    families: dict[str, MachineFamily]
    bus_types: dict[str, str | None]          # bus type → its parent bus type
    devices: dict[str, DeviceType]
    path: Path
    bus_type_since: dict[str, str] = field(default_factory=dict)
    _aliases: dict[str, str] = field(default_factory=dict)
    _machine_names: dict[str, Machine] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
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


def parse_table(path: Path) -> CapsTable:
    """Load and validate one capability table file."""
    _validator().validate(str(path))
    root = etree.parse(str(path)).getroot()
    cmd = root.find("command-line")
    devices: dict[str, DeviceType] = {}
    for node in root.findall("device-type"):
        buses = tuple(
            BusSpec(
                bus_type=b.get("bus-type", ""), name_rule=b.get("name", ""),
                max_devices=_int(b.get("max-devices")), max_channel=_int(b.get("max-channel")),
                max_target=_int(b.get("max-target")), max_lun=_int(b.get("max-lun")),
                max_unit=_int(b.get("max-unit")),
            )
            for b in node.findall("provides")
        )
        embeds = node.find("embeds")
        devices[node.get("name", "")] = DeviceType(
            name=node.get("name", ""),
            parent=node.get("parent"),
            abstract=_yes(node.get("abstract"), False),
            creatable=_yes(node.get("creatable"), True),
            plugs_into=node.get("plugs-into"),
            aliases=tuple((node.get("aliases") or "").split()),
            buses=buses,
            embeds=embeds.get("type") if embeds is not None else None,
            props=tuple(Prop(p.get("name", ""), p.get("type", ""), p.get("default"),
                             p.get("qtree", "yes") == "yes")
                        for p in node.findall("prop")),
            since=node.get("since"),
        )
    families = {
        f.get("name", ""): MachineFamily(
            name=f.get("name", ""), host_bridge=f.get("host-bridge", ""),
            root_bus=f.get("root-bus", ""), root_bus_type=f.get("root-bus-type", ""),
            reserved_pci_slots=tuple(int(slot) for slot in
                                     f.get("reserved-pci-slots", "").split()),
            libvirt_addressing=f.get("libvirt-addressing", "root-bus"),
            video_slot=_int(f.get("video-slot")),
            builtins=tuple(
                Builtin(type=b.get("type", ""), addr=b.get("addr"),
                        libvirt_controller=b.get("libvirt-controller"),
                        buses=tuple((x.get("name", ""), x.get("type", ""))
                                    for x in b.findall("bus")),
                        parent_bus=b.get("parent-bus"), enabled_by=b.get("enabled-by"))
                for b in f.findall("builtin")
            ),
        )
        for f in root.findall("machine-family")
    }
    return CapsTable(
        version=root.get("version", ""),
        release=root.get("release", ""),
        arch=root.get("arch", ""),
        emulator=(root.findtext("emulator") or "").strip(),
        storage_style=cmd.get("libvirt-storage", "drive") if cmd is not None else "drive",
        json_device=cmd is not None and cmd.get("libvirt-device") == "json",
        qtree_value_style=root.find("qtree").get("value-style", "qom"),  # type: ignore[union-attr]
        flags=frozenset(f.get("name", "") for f in root.iterfind("flags/flag")),
        machines=tuple(
            Machine(name=m.get("name", ""), alias=m.get("alias"),
                    default=_yes(m.get("default"), False), family=m.get("family", ""))
            for m in root.iterfind("machines/machine")
        ),
        families=families,
        bus_types={b.get("name", ""): b.get("parent") for b in root.findall("bus-type")},
        devices=devices,
        path=path,
        bus_type_since={b.get("name", ""): b.get("since", "") for b in root.findall("bus-type")
                        if b.get("since")},
    )


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@functools.cache
def available() -> tuple[tuple[str, str], ...]:
    """(version, arch) of every table shipped, oldest first."""
    found = []
    for path in CAPS_DIR.glob("qemu-*.xml"):
        match = _FILE_RE.search(path.name)
        if match:
            found.append((match.group("version"), match.group("arch")))
    return tuple(sorted(found, key=lambda item: (_version_key(item[0]), item[1])))


def known_versions(arch: str = "x86_64") -> list[str]:
    return [version for version, a in available() if a == arch]


def normalize_version(text: str) -> str:
    """The release a version names: '1.5', '1.5.3', 'v1.5.0' and libvirt's integer form
    '1005003' (major * 1000000 + minor * 1000 + micro) all name 1.5."""
    stripped = text.strip()
    if re.fullmatch(r"\d{7,}", stripped):
        number = int(stripped)
        return f"{number // 1000000}.{number // 1000 % 1000}"
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", stripped)
    if not match:
        raise UsageError(f"'{text}' is not a QEMU version (expected e.g. 1.5, 7.2.0 or 1005003)")
    return f"{int(match.group(1))}.{int(match.group(2))}"


def nearest_versions(version: str, arch: str = "x86_64") -> list[str]:
    """The known releases on either side of VERSION (one or two of them)."""
    known = known_versions(arch)
    key = _version_key(version)
    below = [v for v in known if _version_key(v) < key]
    above = [v for v in known if _version_key(v) > key]
    return ([below[-1]] if below else []) + ([above[0]] if above else [])


@functools.cache
def load(version: str, arch: str = "x86_64") -> CapsTable:
    """The table for a QEMU release; UsageError naming the nearest known ones otherwise."""
    key = normalize_version(version)
    if (key, arch) not in available():
        if not known_versions(arch):
            arches = ", ".join(sorted({a for _, a in available()}))
            raise UsageError(f"no capability tables for {arch} (known arches: {arches})")
        nearest = " and ".join(nearest_versions(key, arch))
        raise UsageError(f"no capability table for QEMU {version} on {arch} "
                         f"(nearest known: {nearest}; see 'virtxlate caps list')")
    return parse_table(CAPS_DIR / f"qemu-{key}-{arch}.xml")


def first_release_with(predicate, arch: str = "x86_64",  # type: ignore[no-untyped-def]
                       after: str | None = None) -> str | None:
    """The oldest known release (newer than AFTER) whose table satisfies PREDICATE, for
    'since' hints."""
    for version in known_versions(arch):
        if after is not None and _version_key(version) <= _version_key(after):
            continue
        if predicate(load(version, arch)):
            return version
    return None


def last_release_with(predicate, arch: str = "x86_64",  # type: ignore[no-untyped-def]
                      before: str | None = None) -> str | None:
    """The newest known release (older than BEFORE) whose table satisfies PREDICATE: where
    something a later release removed was last."""
    for version in reversed(known_versions(arch)):
        if before is not None and _version_key(version) >= _version_key(before):
            continue
        if predicate(load(version, arch)):
            return version
    return None
