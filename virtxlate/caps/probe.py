"""`virtxlate caps probe`: a capability table made from a real QEMU binary over QMP.

Asked of QEMU: query-version, query-target, query-machines, qom-list-types (with
abstract types and parents), device-list-properties of the storage and virtio types
(data/probe-selection.txt), `device_add help` for what -device can create and where
it plugs in.  Then the controllers are plugged into a paused machine and `info qtree`
tells which buses they provide and how QEMU names them.  What QEMU cannot tell —
libvirt's capability flags, its PCI placement policy — is filled from libvirt's
known behaviour and marked as such.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from ..errors import UsageError
from ..qemu import QemuError, QemuProcess
from ..qemu.qtree import parse_qtree
from ..resources import CAPS_DIR

_HELP_RE = re.compile(r'^name "(?P<name>[^"]+)"(?:, bus (?P<bus>[^,]+))?'
                      r'(?:, alias "(?P<alias>[^"]+)")?')
# Which bus a device plugs into, from the abstract type it descends from.
_BUS_OF_ANCESTOR = {
    "pci-device": "PCI", "scsi-device": "SCSI", "ide-device": "IDE", "usb-device": "usb-bus",
    "virtio-device": "virtio-bus", "isa-device": "ISA", "sys-bus-device": "System",
    "floppy": "floppy-bus", "nvme-ns": "nvme-bus",
}
# QMP property types as the table names them.
_PROP_TYPES = {"bool": "bool", "str": "string", "uint8": "uint8", "uint16": "uint16",
               "uint32": "uint32", "uint64": "uint64", "int32": "int32", "int64": "int32",
               "size": "size", "OnOffAuto": "string", "link<iothread>": "link",
               "zpci_fid": "uint32"}
@dataclass(frozen=True)
class ProbeMachine:
    """A machine the probe starts to see structure: its family in the table, which bus
    types' creatable devices it plugs in, whether by hot-plug (device_add while paused)
    or on the command line, and the bus type of the family's root bus."""

    family: str
    machine: str
    plug_into: tuple[str, ...]
    hotplug: bool
    root_bus_types: tuple[str, ...]
    # disk frontends put on the machine's own buses at start: (driver, bus, read-only, size)
    frontends: tuple[tuple[str, str | None, bool, int], ...] = ()


PROBE_MACHINES = {
    "x86_64": (ProbeMachine("i440fx", "pc", ("PCI",), True, ("PCI",),
                            (("ide-hd", "ide.0", False, 0), ("ide-cd", "ide.1", True, 0),
                             ("floppy", None, False, 1474560))),
               # q35's pcie.0 takes no hot-plug: what pc could not realize (root ports)
               # goes on its command line, with the ISA devices it has no built-in of
               ProbeMachine("q35", "q35", ("PCI", "ISA"), False, ("PCIE",))),
    # s390x: channel I/O, and PCI functions that each need a zpci device beside them
    "s390x": (ProbeMachine("s390-ccw", "s390-ccw-virtio",
                           ("virtual-css-bus", "PCI", "s390-pcibus"), True,
                           ("virtual-css-bus",)),),
    "aarch64": (ProbeMachine("virt", "virt", ("PCI",), False, ("PCIE",)),),
}
# Built-ins that sit on the machine's main bus rather than its PCI root (virt's
# virtio-mmio transports, the PCI host of an s390x machine whose root is channel I/O).
_MAIN_BUS_BUILTINS = {"virtio-mmio", "s390-pcihost"}

# libvirt's placement policy per machine family: what the probe cannot ask QEMU.
# (reserved slots, addressing, primary video slot) — libvirt of the -blockdev era keeps
# the video slot only when the domain has a video card.
_LIBVIRT_FAMILY_POLICY = {
    "i440fx": ("0 1", "root-bus", "2"),
    "q35": ("0 31", "bridges", "1"),
    "virt": ("0", "bridges", ""),
    "s390-ccw": ("", "ccw", ""),
}
# Built-in chipset devices that stand for a libvirt controller (type:index).
_LIBVIRT_BUILTIN_CONTROLLERS = {
    ("i440fx", "piix3-ide"): "ide:0", ("i440fx", "isa-fdc"): "fdc:0",
    ("q35", "ich9-ahci"): "sata:0", ("q35", "isa-fdc"): "fdc:0",
}
# Built-ins worth recording below the root bus (the floppy controller on isa.0).
_NESTED_BUILTINS = {"isa-fdc"}


@dataclass
class ProbedType:
    name: str
    parent: str | None
    abstract: bool
    creatable: bool = False
    plugs_into: str | None = None
    aliases: list[str] = field(default_factory=list)
    props: list[dict[str, Any]] = field(default_factory=list)
    buses: list[tuple[str, str]] = field(default_factory=list)   # (bus type, naming rule)
    embeds: str | None = None
    realized: list[tuple[str, str]] | None = None  # props as `info qtree` showed them


def _selection() -> list[str]:
    lines = (CAPS_DIR / "probe-selection.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def recorded_kind(name: str) -> bool:
    """Whether the tables record device type NAME when QEMU has it (the probe's selection:
    storage and virtio); a type outside it is simply not modelled."""
    return bool(_selected([name], _selection()))


def _selected(names: Iterable[str], patterns: list[str]) -> set[str]:
    return {name for name in names if any(fnmatch.fnmatchcase(name, p) for p in patterns)}


def _parse_device_help(text: str) -> dict[str, tuple[str | None, str | None]]:
    creatable = {}
    for line in text.splitlines():
        match = _HELP_RE.match(line.strip())
        if match:
            creatable[match.group("name")] = (match.group("bus"), match.group("alias"))
    return creatable


def _ancestors(name: str, parents: dict[str, str | None]) -> list[str]:
    chain = []
    current = parents.get(name)
    while current and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return chain


def probe(binary: str, timeout: float = 30.0, machine: str | None = None) -> etree._Element:
    """The table of BINARY as an XML element in the schemas/caps.xsd format.

    MACHINE, when given, is the one machine whose structure is probed (instead of the
    arch's usual ones: pc and q35 on x86_64, s390-ccw-virtio, virt)."""
    with QemuProcess(binary, ["-machine", "none"], timeout=timeout) as qemu:
        answer = qemu.execute("query-version")
        version = dict(answer["qemu"], package=answer.get("package", ""))
        arch = qemu.execute("query-target")["arch"]
        machines = qemu.execute("query-machines")
        type_list = qemu.execute("qom-list-types", abstract=True)
        commands = {c["name"] for c in qemu.execute("query-commands")}
        creatable = _parse_device_help(qemu.hmp("device_add help"))
        parents = {t["name"]: t.get("parent") for t in type_list}
        abstract = {t["name"] for t in type_list if t.get("abstract")}
        devices = {name for name in parents if "device" in _ancestors(name, parents)}
        chosen = _selected(devices, _selection())
        for name in list(chosen):
            chosen.update(a for a in _ancestors(name, parents)
                          if a in devices and a != "device")
        probed: dict[str, ProbedType] = {}
        for name in sorted(chosen):
            entry = ProbedType(name, parents.get(name), name in abstract)
            if name in creatable:
                entry.creatable = True
                bus, alias = creatable[name]
                entry.plugs_into = bus
                entry.aliases = [alias] if alias else []
            else:
                entry.plugs_into = next((_BUS_OF_ANCESTOR[a] for a in
                                         [name, *_ancestors(name, parents)]
                                         if a in _BUS_OF_ANCESTOR), None)
            if not entry.abstract:
                try:
                    entry.props = qemu.execute("device-list-properties", typename=name)
                except QemuError:
                    entry.props = []
            probed[name] = entry
    default = next((m for m in machines if m.get("is-default")), None)
    setups = PROBE_MACHINES.get(arch, ())
    known = {m["name"] for m in machines} | {m.get("alias") for m in machines}
    if machine is not None and machine not in known:
        raise UsageError(f"{binary} has no machine type '{machine}'")
    if machine is not None:
        base = setups[0] if setups else ProbeMachine("other", machine, ("PCI",), True,
                                                      ("PCI", "PCIE"))
        family = _family_of(machine)
        setups = (ProbeMachine(family, machine, base.plug_into, base.hotplug,
                               ("PCI", "PCIE") if family != base.family else base.root_bus_types,
                               base.frontends if family == base.family else ()),)
    families = _probe_structure(binary, probed, machines, timeout, setups)
    bus_parents = {name: (parents.get(name), name in abstract) for name in parents
                   if "bus" in _ancestors(name, parents)}
    return _table_xml(version, arch, machines, default, probed, families, commands, bus_parents)


def _probe_structure(binary: str, probed: dict[str, ProbedType], machines: list[dict],
                     timeout: float, setups: tuple[ProbeMachine, ...]
                     ) -> dict[str, dict[str, Any]]:
    """Plug the creatable storage/virtio controllers into a paused machine and read
    `info qtree`: the buses each provides, their names, the device a proxy embeds."""
    names = {m["name"] for m in machines} | {m.get("alias") for m in machines}
    families: dict[str, dict[str, Any]] = {}
    for setup in setups:
        if setup.machine not in names:
            continue
        candidates = [name for name, entry in sorted(probed.items())
                      if entry.creatable and entry.plugs_into in setup.plug_into
                      and entry.realized is None]
        ids = {name: f"probe{number}" for number, name in enumerate(candidates)}
        args = ["-machine", f"{setup.machine},accel=tcg"]
        with QemuProcess(binary, args, timeout=timeout) as qemu:
            families[setup.family] = parse_qtree(qemu.hmp("info qtree"))
        front_args, front_ids = _frontend_args(setup, probed)
        with QemuProcess(binary, args + front_args, timeout=timeout) as qemu:
            if setup.hotplug:
                plugged = dict(front_ids)
                for name in candidates:
                    try:
                        qemu.execute("device_add", driver=name, id=ids[name],
                                     **_backend_for(qemu, name, ids[name]))
                    except QemuError:
                        continue
                    plugged[ids[name]] = name
                if plugged:
                    plugged.update(_plug_frontends(qemu, plugged))
                    _record_structure(parse_qtree(qemu.hmp("info qtree")), plugged, probed)
        if not setup.hotplug:
            # the root bus takes no hot-plug: devices go on the command line, a few at a
            # time, alone when a group is refused (root ports clash over their slots)
            for start in range(0, len(candidates), 8):
                group = candidates[start:start + 8]
                if not _plug_on_command_line(binary, args, group, ids, probed, timeout):
                    for name in group:
                        _plug_on_command_line(binary, args, [name], ids, probed, timeout)
    return families


def _frontend_args(setup: ProbeMachine, probed: dict[str, ProbedType]
                   ) -> tuple[list[str], dict[str, str]]:
    """-blockdev null nodes and -device options for the setup's disk frontends."""
    args: list[str] = []
    ids: dict[str, str] = {}
    for number, (name, bus, read_only, size) in enumerate(setup.frontends):
        if name not in probed:
            continue
        node, device_id = f"front-null{number}", f"front{number}"
        blockdev = {"driver": "null-co", "node-name": node, "read-only": read_only}
        if size:
            blockdev["size"] = size
        device = f"{name},id={device_id},drive={node}" + (f",bus={bus}" if bus else "")
        args += ["-blockdev", json.dumps(blockdev), "-device", device]
        ids[device_id] = name
    return args, ids


# devices QEMU refuses to create without a property ("Bridge chassis not specified")
_REQUIRED_PROPS: dict[str, dict[str, Any]] = {"pci-bridge": {"chassis_nr": 1}}


def _needs_drive(name: str) -> bool:
    # block devices refuse to start without a backend: the probe gives them a null one
    return "-blk" in name and not name.startswith("vhost-")


def _backend_for(qemu: QemuProcess, name: str, device_id: str) -> dict[str, Any]:
    if name == "zpci":
        # s390x's PCI function refuses to exist without the id of the device it stands for
        return {"target": f"{device_id}-target"}
    if name in _REQUIRED_PROPS:
        return dict(_REQUIRED_PROPS[name])
    if not _needs_drive(name):
        return {}
    node = f"null-{device_id}"
    qemu.execute("blockdev-add", driver="null-co", **{"node-name": node})
    return {"drive": node}


def _plug_on_command_line(binary: str, args: list[str], names: list[str], ids: dict[str, str],
                          probed: dict[str, ProbedType], timeout: float) -> bool:
    devices: list[str] = []
    for name in names:
        if _needs_drive(name):
            node = f"null-{ids[name]}"
            devices += ["-blockdev", f'{{"driver":"null-co","node-name":"{node}"}}',
                        "-device", f"{name},id={ids[name]},drive={node}"]
        else:
            extra = "".join(f",{key}={value}" for key, value in
                            _REQUIRED_PROPS.get(name, {}).items())
            devices += ["-device", f"{name},id={ids[name]}{extra}"]
    try:
        with QemuProcess(binary, args + devices, timeout=timeout) as qemu:
            plugged = {ids[name]: name for name in names}
            plugged.update(_plug_frontends(qemu, plugged))
            _record_structure(parse_qtree(qemu.hmp("info qtree")), plugged, probed)
    except QemuError:
        return False
    return True


def _record_structure(tree: dict[str, Any], plugged: dict[str, str],
                      probed: dict[str, ProbedType]) -> None:
    for node in _walk_devices(tree):
        name = plugged.get(node["id"] or "")
        if name is None:
            continue
        entry = probed[name]
        if entry.realized is not None:
            continue   # seen already on another machine of this arch
        entry.realized = list(node["props"].items())
        # qtree shows a device's buses newest first; the table keeps creation order
        for bus in reversed(node["buses"]):
            entry.buses.append((bus["type"], _rule(bus["name"], node["id"], None)))
            for inner in bus["devices"]:
                if inner["id"]:
                    continue
                entry.embeds = inner["type"]
                inner_entry = probed.get(inner["type"])
                if inner_entry is not None and inner_entry.realized is None:
                    inner_entry.realized = list(inner["props"].items())
                if inner_entry is not None and not inner_entry.buses:
                    inner_entry.buses = [(b["type"], _rule(b["name"], None, node["id"]))
                                         for b in reversed(inner["buses"])]


# Disk frontends that can be hot-plugged onto a virtio-scsi bus of the probe machine,
# each with a null-co block node of its own, so that `info qtree` shows their properties.
_SCSI_FRONTENDS = ("scsi-hd", "scsi-cd")


def _plug_frontends(qemu: QemuProcess, plugged: dict[str, str]) -> dict[str, str]:
    added = {}
    usb = next((i for i, name in plugged.items() if name == "piix3-usb-uhci"), None)
    if usb is not None:
        try:
            qemu.execute("blockdev-add", driver="null-co", **{"node-name": "probe-null-usb"})
            qemu.execute("device_add", driver="usb-storage", id="probe-usb-storage",
                         bus=f"{usb}.0", drive="probe-null-usb")
            added["probe-usb-storage"] = "usb-storage"
        except QemuError:
            pass
    host = next((i for i, name in plugged.items()
                 if name in ("virtio-scsi-pci", "virtio-scsi-ccw")), None)
    if host is None:
        return added
    for number, name in enumerate(_SCSI_FRONTENDS):
        node, device_id = f"probe-null{number}", f"probe-{name}"
        try:
            qemu.execute("blockdev-add", driver="null-co", **{"node-name": node,
                                                              "read-only": name == "scsi-cd"})
            qemu.execute("device_add", driver=name, id=device_id, bus=f"{host}.0", drive=node)
        except QemuError:
            continue
        added[device_id] = name
    return added


def _rule(bus_name: str, device_id: str | None, proxy_id: str | None) -> str:
    """QEMU's naming rule for a bus seen under a device with a known id."""
    for key, placeholder in ((device_id, "{id}"), (proxy_id, "{proxy-id}")):
        if key and (bus_name == key or bus_name.startswith(key + ".")):
            return placeholder + bus_name[len(key):]
    return bus_name


def _walk_devices(bus: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for device in bus["devices"]:
        yield device
        for child in device["buses"]:
            yield from _walk_devices(child)


def _version_text(version: dict[str, Any]) -> tuple[str, str]:
    return (f"{version['major']}.{version['minor']}",
            f"{version['major']}.{version['minor']}.{version['micro']}")


def _family_of(machine: str) -> str:
    if machine.startswith("pc-q35") or machine == "q35":
        return "q35"
    if machine.startswith("s390-ccw-virtio"):
        return "s390-ccw"
    if machine == "virt" or machine.startswith("virt-"):
        return "virt"
    if machine.startswith("pc-") or machine == "pc":
        return "i440fx"
    return machine


def _table_xml(version: dict[str, Any], arch: str, machines: list[dict],
               default: dict | None, probed: dict[str, ProbedType],
               families: dict[str, dict[str, Any]], commands: set[str],
               bus_parents: dict[str, tuple[str | None, bool]]) -> etree._Element:
    short, release = _version_text(version)
    root = etree.Element("qemu-caps", version=short, release=release, arch=arch)
    package = f" [{version['package'].strip()}]" if version.get("package", "").strip() else ""
    etree.SubElement(root, "source", id="PROBE").text = (
        f"virtxlate caps probe of QEMU {release}{package} ({arch}) over QMP: query-machines, "
        "qom-list-types, device-list-properties, device_add help, info qtree")
    etree.SubElement(root, "source", id="LIBVIRT").text = (
        "libvirt's behaviour the probe cannot ask QEMU: PCI placement per machine family, "
        "storage option style")
    etree.SubElement(root, "emulator").text = f"/usr/bin/qemu-system-{arch}"
    has_blockdev = "blockdev-add" in commands
    etree.SubElement(root, "command-line", {
        "drive": "yes", "blockdev": "yes" if has_blockdev else "no",
        "json-device": "yes" if has_blockdev else "no",
        "libvirt-storage": "blockdev" if has_blockdev else "drive", "libvirt-device": "keyval",
        "source": "PROBE LIBVIRT"})
    etree.SubElement(root, "qtree", {"value-style": "qom", "source": "PROBE"})
    flags = etree.SubElement(root, "flags", source="PROBE", inferred="yes",
                             note="device presence only; libvirt derives more flags")
    for name in sorted(n for n, e in probed.items() if e.creatable):
        etree.SubElement(flags, "flag", name=name)
    machines_el = etree.SubElement(root, "machines", source="PROBE")
    used_families = set()
    for machine in sorted(machines, key=lambda m: m["name"]):
        family = _family_of(machine["name"])
        if family not in families:
            family = "other"
        used_families.add(family)
        attrs = {"name": machine["name"], "family": family}
        if machine.get("alias"):
            attrs["alias"] = machine["alias"]
        if default is not None and machine["name"] == default["name"]:
            attrs["default"] = "yes"
        etree.SubElement(machines_el, "machine", attrs)
    setups = {setup.family: setup for setup in PROBE_MACHINES.get(arch, ())}
    for family in sorted(used_families):
        setup = setups.get(family)
        _family_xml(root, family, families.get(family),
                    setup.root_bus_types if setup else ("PCI", "PCIE"))
    bus_types = {e.plugs_into for e in probed.values() if e.plugs_into} | \
        {bus_type for e in probed.values() for bus_type, _ in e.buses} | \
        {b.get("type") for b in root.iter("bus")} | \
        {f.get("root-bus-type") for f in root.findall("machine-family")}
    for bus_type in list(bus_types):
        # the bus types it is a kind of (virtio-ccw-bus → virtio-bus), up to QOM's 'bus'
        parent = bus_parents.get(bus_type, (None, False))[0]
        while parent and parent != "bus" and parent not in bus_types:
            bus_types.add(parent)
            parent = bus_parents.get(parent, (None, False))[0]
    for bus_type in sorted(b for b in bus_types if b):
        parent, is_abstract = bus_parents.get(bus_type, (None, False))
        attrs = {"name": bus_type, "source": "PROBE"}
        if parent and parent != "bus":
            attrs["parent"] = parent
        if is_abstract:
            attrs["abstract"] = "yes"
        etree.SubElement(root, "bus-type", attrs)
    for name, entry in sorted(probed.items()):
        attrs = {"name": name, "source": "PROBE",
                 "abstract": "yes" if entry.abstract else "no",
                 "creatable": "yes" if entry.creatable else "no"}
        if entry.parent:
            attrs["parent"] = entry.parent
        if entry.plugs_into:
            attrs["plugs-into"] = entry.plugs_into
        if entry.aliases:
            attrs["aliases"] = " ".join(entry.aliases)
        node = etree.SubElement(root, "device-type", attrs)
        limits = _bus_limits().get(name, {})
        for bus_type, rule in entry.buses:
            provides = etree.SubElement(node, "provides", {"bus-type": bus_type, "name": rule})
            for attribute, value in limits.get(bus_type, {}).items():
                provides.set(attribute, value)
        if entry.embeds:
            etree.SubElement(node, "embeds", type=entry.embeds)
        for attrs in _props_xml(entry):
            etree.SubElement(node, "prop", attrs)
    etree.indent(root, space="  ")
    return root


def _props_xml(entry: ProbedType) -> list[dict[str, str]]:
    """Properties in `info qtree` order when the probe saw the device realized.

    A default is kept only where QEMU's static default is also what a realized device
    shows; a value computed at realize time (vectors, num_queues 'auto', geometry) has no
    default here.  Properties a realized device does not show in qtree are marked so.
    """
    props = [_prop_attrs(prop) for prop in entry.props]
    if entry.realized is None:
        return props
    shown = dict(entry.realized)
    order = {name: position for position, (name, _) in enumerate(entry.realized)}
    for attrs in props:
        name = attrs["name"]
        if name not in shown:
            attrs["qtree"] = "no"
        elif "default" in attrs and _qtree_raw(shown[name]) != attrs["default"]:
            del attrs["default"]
    return sorted(props, key=lambda a: order.get(a["name"], len(order)))


def _qtree_raw(text: str) -> str:
    """A qtree value in the table's default form: '4 (0x4)' → '4', true → 'on', '"x"' → 'x'."""
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    if text in ("true", "false"):
        return "on" if text == "true" else "off"
    return text.split(" ", 1)[0]


def _bus_limits() -> dict[str, dict[str, dict[str, str]]]:
    """data/bus-limits.tsv: type → bus type → {max-channel: …, …}."""
    limits: dict[str, dict[str, dict[str, str]]] = {}
    columns = ("max-channel", "max-target", "max-lun", "max-unit")
    for line in (CAPS_DIR / "bus-limits.tsv").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = (line.split("\t") + [""] * 7)[:7]
        values = {c: v for c, v in zip(columns, fields[2:6], strict=True) if v}
        limits.setdefault(fields[0], {})[fields[1]] = values
    return limits


def _prop_attrs(prop: dict[str, Any]) -> dict[str, str]:
    if prop["name"] == "addr" and prop.get("type") == "int32":
        # a PCI device's slot.function: -1 means "QEMU picks", not a value
        return {"name": "addr", "type": "pci-devfn"}
    attrs = {"name": prop["name"], "type": _PROP_TYPES.get(prop.get("type", ""), "string")}
    if "default-value" in prop:
        attrs["default"] = _default_text(prop["default-value"])
    return attrs


def _default_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _family_xml(root: etree._Element, family: str, tree: dict[str, Any] | None,
                root_bus_types: tuple[str, ...]) -> None:
    slots, addressing, video = _LIBVIRT_FAMILY_POLICY.get(family, ("", "none", ""))
    host_bridge, root_bus, root_bus_type = "none", "none", "System"
    builtins: list[dict[str, Any]] = []
    if tree is not None:
        for device in tree["devices"]:
            for bus in device["buses"]:
                if bus["type"] in root_bus_types and host_bridge == "none":
                    host_bridge, root_bus, root_bus_type = device["type"], bus["name"], bus["type"]
                    builtins = [d for d in bus["devices"] if not d["id"]]
    node = etree.SubElement(root, "machine-family", {
        "name": family, "host-bridge": host_bridge, "root-bus": root_bus,
        "root-bus-type": root_bus_type, "reserved-pci-slots": slots,
        "libvirt-addressing": addressing, "source": "PROBE LIBVIRT"})
    if video:
        node.set("video-slot", video)
    # built-ins in creation order: QEMU shows the newest first, so reverse
    found = [(device, None) for device in reversed(builtins)]
    if tree is not None:
        found += [(device, tree["name"]) for device in reversed(tree["devices"])
                  if device["type"] in _MAIN_BUS_BUILTINS]
    for device in reversed(builtins):
        for bus in reversed(device["buses"]):
            found.extend((child, bus["name"]) for child in reversed(bus["devices"])
                         if child["type"] in _NESTED_BUILTINS)
    for device, parent_bus in found:
        attrs = {"type": device["type"], "source": "PROBE"}
        if device["props"].get("addr"):
            attrs["addr"] = device["props"]["addr"]
        controller = _LIBVIRT_BUILTIN_CONTROLLERS.get((family, device["type"]))
        if controller:
            attrs["libvirt-controller"] = controller
        if parent_bus:
            attrs["parent-bus"] = parent_bus
        builtin = etree.SubElement(node, "builtin", attrs)
        for bus in reversed(device["buses"]):
            etree.SubElement(builtin, "bus", name=bus["name"], type=bus["type"])


_FLAG_RE = re.compile(r"<flag name=['\"]([^'\"]+)['\"]")


def with_libvirt_flags(table: etree._Element, *libvirt_caps: str) -> None:
    """Replace the probe's inferred flags by libvirt's own for the same binary.

    Each file is libvirt's capability XML (its cache in /var/cache/libvirt/qemu/
    capabilities/, or a test file such as caps_7.2.0_x86_64.xml); only its
    <flag name='…'/> entries are read, so a truncated copy works too.  With several
    files, the flags common to all of them are taken (e.g. the same release on another
    arch and another release on this one, where libvirt has no file for this binary).
    """
    sets = []
    for path in libvirt_caps:
        with open(path, encoding="utf-8", errors="replace") as handle:
            sets.append(set(_FLAG_RE.findall(handle.read())))
    listed = set.intersection(*sets)
    assumed = {line.strip() for line in
               (CAPS_DIR / "libvirt-assumed-flags.txt").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    names = sorted(listed | assumed)
    flags = table.find("flags")
    assert flags is not None
    for child in list(flags):
        flags.remove(child)
    flags.attrib.clear()
    flags.set("source", "LIBVIRT-CAPS LIBVIRT-ASSUMED")
    for name in names:
        etree.SubElement(flags, "flag", name=name)
    if any(name.startswith("device.json") for name in names):
        # libvirt writes -device as JSON once QEMU has its device.json capability
        table.find("command-line").set("libvirt-device", "json")  # type: ignore[union-attr]
    source = etree.Element("source", id="LIBVIRT-CAPS")
    source.text = ("libvirt capability flags read from " + " and ".join(libvirt_caps)
                   + (" (the flags all of them have)" if len(libvirt_caps) > 1 else ""))
    table.insert(2, source)
    assumed_source = etree.Element("source", id="LIBVIRT-ASSUMED")
    assumed_source.text = ("flags that libvirt retired and assumes for every QEMU it supports "
                           "(virtxlate/caps/data/libvirt-assumed-flags.txt): " +
                           " ".join(sorted(assumed - listed)))
    table.insert(3, assumed_source)
    etree.indent(table, space="  ")
