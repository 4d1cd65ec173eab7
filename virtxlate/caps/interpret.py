"""The pure step of a capability table: what a QEMU binary answered → the table.

One function, `interpret`, reads a QMP conversation (answers.py) — recorded by `caps
probe` from a live binary or captured by libvirt's tests — and writes the table in the
schemas/caps.xsd format.  What the answers do not hold (libvirt's captures carry no
`device_add help` and no `info qtree`, so neither which buses a device provides nor the
machines' built-ins) is taken from a BASE table, usually the probe of another release;
every fact says where it came from (`source`), and one copied from another release is
marked `inferred="yes"`.
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from ..qemu.qtree import parse_qtree
from ..resources import CAPS_DIR
from .answers import Answers, Exchange

_HELP_RE = re.compile(
    r'^name "(?P<name>[^"]+)"(?:, bus (?P<bus>[^,]+))?'
    r'(?:, alias "(?P<alias>[^"]+)")?'
)
# Which bus a device plugs into, from the abstract type it descends from.
_BUS_OF_ANCESTOR = {
    "pci-device": "PCI",
    "scsi-device": "SCSI",
    "ide-device": "IDE",
    "usb-device": "usb-bus",
    "virtio-device": "virtio-bus",
    "isa-device": "ISA",
    "sys-bus-device": "System",
    "floppy": "floppy-bus",
    "nvme-ns": "nvme-bus",
}
# QMP property types as the table names them.
_PROP_TYPES = {
    "bool": "bool",
    "str": "string",
    "uint8": "uint8",
    "uint16": "uint16",
    "uint32": "uint32",
    "uint64": "uint64",
    "int32": "int32",
    "int64": "int32",
    "size": "size",
    "OnOffAuto": "string",
    "link<iothread>": "link",
    "zpci_fid": "uint32",
    # the names QEMU 1.x and 2.x gave (qdev property types)
    "on/off": "on-off",
    "pci-devfn": "pci-devfn",
    "drive": "drive",
    "hex64": "hex64",
    "blocksize": "blocksize",
    "int": "int32",
    "uint4": "uint8",
}


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
    "x86_64": (
        ProbeMachine(
            "i440fx",
            "pc",
            ("PCI",),
            True,
            ("PCI",),
            (
                ("ide-hd", "ide.0", False, 0),
                ("ide-cd", "ide.1", True, 0),
                ("floppy", None, False, 1474560),
            ),
        ),
        # q35's pcie.0 takes no hot-plug: what pc could not realize (root ports)
        # goes on its command line, with the ISA devices it has no built-in of
        ProbeMachine("q35", "q35", ("PCI", "ISA"), False, ("PCIE",)),
    ),
    # s390x: channel I/O, and PCI functions that each need a zpci device beside them
    "s390x": (
        ProbeMachine(
            "s390-ccw",
            "s390-ccw-virtio",
            ("virtual-css-bus", "PCI", "s390-pcibus"),
            True,
            ("virtual-css-bus",),
        ),
    ),
    "aarch64": (ProbeMachine("virt", "virt", ("PCI",), False, ("PCIE",)),),
}


@dataclass
class _Type:
    name: str
    parent: str | None
    abstract: bool
    parent_inferred: bool = False
    creatable: bool = False
    plugs_into: str | None = None
    aliases: list[str] = field(default_factory=list)
    props: list[dict[str, Any]] | None = None  # device-list-properties, when asked
    buses: list[tuple[str, str]] = field(default_factory=list)  # (bus type, naming rule)
    embeds: str | None = None
    realized: list[tuple[str, str]] | None = None  # props as `info qtree` showed them


def parse_device_help(text: str) -> dict[str, tuple[str | None, str | None]]:
    """`device_add help`: the types -device can create, with their bus and alias."""
    creatable = {}
    for line in text.splitlines():
        match = _HELP_RE.match(line.strip())
        if match:
            creatable[match.group("name")] = (match.group("bus"), match.group("alias"))
    return creatable


def family_of(machine: str) -> str:
    """The machine family (placement and built-ins) a machine type belongs to."""
    # (QEMU 1.3 named its one q35 machine type "q35-next", libvirt's 1.3.1 replies show)
    if machine.startswith("pc-q35") or machine in ("q35", "q35-next"):
        return "q35"
    if machine.startswith("s390-ccw-virtio"):
        return "s390-ccw"
    if machine == "virt" or machine.startswith("virt-"):
        return "virt"
    if machine.startswith("pc-") or machine == "pc":
        return "i440fx"
    return machine


def _ancestors(name: str, parents: dict[str, str | None]) -> list[str]:
    chain: list[str] = []
    current = parents.get(name)
    while current and current not in chain and len(chain) < 64:
        chain.append(current)
        current = parents.get(current)
    return chain


def interpret(
    answers: Answers,
    base: etree._Element | None = None,
    parent_hints: dict[str, str] | None = None,
    source: tuple[str, str] | None = None,
    listed_props_partial: bool = False,
) -> etree._Element:
    """The table of what ANSWERS say, in the schemas/caps.xsd format.

    BASE supplies what the answers do not hold (structure, built-ins, properties of types
    not asked, placement policy); PARENT_HINTS the QOM parents a listing without them
    (QEMU before 2.10) lacks.  SOURCE is (id, text) naming the answers; by default a
    probe's own description.  LISTED_PROPS_PARTIAL: the answers' device-list-properties
    omit properties the base has (QEMU 1.x listed qdev properties only, not bootindex),
    which are then kept from the base as inferred."""
    version = answers.value("query-version") or {}
    target = (answers.value("query-target") or {}).get("arch", "")
    # libvirt names the arm target by the guest architecture (virQEMUCapsArchFromString)
    arch = {"arm": "armv7l"}.get(target, target)
    short = f"{version['qemu']['major']}.{version['qemu']['minor']}"
    release = f"{short}.{version['qemu']['micro']}"
    help_text = next(
        (
            e.value
            for e in answers.all("human-monitor-command")
            if e.ok and e.arguments.get("command-line") == "device_add help"
        ),
        None,
    )
    probed = help_text is not None
    if source is None:
        package = str(version.get("package", "")).strip()
        source = (
            "PROBE",
            f"virtxlate caps probe of QEMU {release}"
            + (f" [{package}]" if package else "")
            + f" ({arch}) over QMP: "
            "query-machines, qom-list-types, device-list-properties, device_add help, "
            "info qtree",
        )
    # the base probed the same release (another build of it): its facts hold as they are
    same_release = base is not None and base.get("version") == short
    types = _types(answers, base, parent_hints or {})
    if probed:
        for name, (bus, alias) in parse_device_help(str(help_text)).items():
            if name in types:
                types[name].creatable, types[name].plugs_into = True, bus
                types[name].aliases = [alias] if alias else []
    families = _structure(answers, types)
    root = etree.Element("qemu-caps", version=short, release=release, arch=arch)
    etree.SubElement(root, "source", id=source[0]).text = source[1]
    base_ids = set()
    if base is not None:
        for node in base.findall("source"):
            if node.get("id") not in (source[0], "LIBVIRT-CAPS", "LIBVIRT-ASSUMED"):
                root.append(copy.deepcopy(node))
                base_ids.add(node.get("id"))
    if "LIBVIRT" not in base_ids:
        etree.SubElement(root, "source", id="LIBVIRT").text = (
            "libvirt's behaviour that QEMU cannot be asked: PCI placement per machine family "
            "(virtxlate/caps/data/libvirt-families.tsv, each row with its source), storage "
            "option style"
        )
    etree.SubElement(root, "emulator").text = f"/usr/bin/qemu-system-{target}"
    commands = _commands(answers)
    has_blockdev = "blockdev-add" in commands
    etree.SubElement(
        root,
        "command-line",
        {
            "drive": "yes",
            "blockdev": "yes" if has_blockdev else "no",
            "json-device": "yes" if has_blockdev else "no",
            "libvirt-storage": "blockdev" if has_blockdev else "drive",
            "libvirt-device": "keyval",
            "source": f"{source[0]} LIBVIRT",
        },
    )
    etree.SubElement(root, "qtree", {"value-style": "qom", "source": source[0]})
    flags = etree.SubElement(
        root,
        "flags",
        source=source[0],
        inferred="yes",
        note="device presence only; libvirt derives more flags",
    )
    for name in sorted(n for n, t in types.items() if t.creatable and not t.abstract):
        etree.SubElement(flags, "flag", name=name)
    machines = answers.value("query-machines") or []
    machines_el = etree.SubElement(root, "machines", source=source[0])
    base_families = (
        {f.get("name"): f for f in base.findall("machine-family")}
        if base is not None and not probed
        else {}
    )
    known_families = set(families) | set(base_families)
    used_families = set()
    for machine in sorted(machines, key=lambda m: m["name"]):
        family = family_of(machine["name"])
        if family not in known_families:
            family = "other"
        used_families.add(family)
        attrs = {"name": machine["name"], "family": family}
        if machine.get("alias"):
            attrs["alias"] = machine["alias"]
        if machine.get("is-default"):
            attrs["default"] = "yes"
        if "acpi" in machine:
            # query-machines reports it from QEMU 8.0; libvirt then writes -machine acpi=
            # instead of -no-acpi (qemuBuildMachineCommandLine, virQEMUCapsMachineSupportsACPI)
            attrs["acpi"] = "yes" if machine["acpi"] else "no"
        if machine.get("default-ram-id"):
            # QEMU 5.2 on: libvirt 9.0 names it in -machine memory-backend= and backs the
            # guest RAM with an -object of that id (qemuBuildMemCommandLine)
            attrs["default-ram-id"] = machine["default-ram-id"]
        if machine.get("default-cpu-type"):
            # QEMU 4.2 on: libvirt gives a domain without a CPU model this one
            # (qemuDomainDefSetDefaultCPU), written as -cpu with the type's model name
            attrs["default-cpu-type"] = machine["default-cpu-type"]
        etree.SubElement(machines_el, "machine", attrs)
    setups = {setup.family: setup for setup in PROBE_MACHINES.get(arch, ())}
    for family in sorted(used_families):
        if family in base_families:
            node = copy.deepcopy(base_families[family])
            if not same_release:
                node.set("inferred", "yes")
            root.append(node)
        else:
            setup = setups.get(family)
            _family_xml(
                root,
                family,
                families.get(family),
                setup.root_bus_types if setup else ("PCI", "PCIE"),
                source[0],
            )
    # device types, not CPU models (QOM devices too, but chosen with -cpu, never -device)
    all_parents = {n: t.parent for n, t in types.items()}
    devices = {
        name: t
        for name, t in types.items()
        if "device" in (chain := _ancestors(name, all_parents))
        and "cpu" not in chain
        and name != "cpu"
    }
    base_types = {n.get("name"): n for n in base.findall("device-type")} if base is not None else {}
    if probed:
        parents = {n: t.parent for n, t in devices.items()}
        for name, entry in devices.items():
            if not entry.creatable:
                entry.plugs_into = _bus_of_ancestor(name, parents)
    else:
        _structure_from_base(devices, base_types)
    _bus_types_xml(root, devices, types, base, source[0])
    for name, entry in sorted(devices.items()):
        _device_xml(
            root, entry, base_types.get(name), source[0], probed, same_release, listed_props_partial
        )
    etree.indent(root, space="  ")
    return root


def _types(
    answers: Answers, base: etree._Element | None, hints: dict[str, str]
) -> dict[str, _Type]:
    """Every QOM type the listing names (with the abstract parents it only mentions)."""
    with_abstract = answers.first("qom-list-types", abstract=True)
    exchange: Exchange | None = with_abstract or answers.first("qom-list-types")
    listing = exchange.value if exchange is not None and exchange.ok else []
    base_parents: dict[str, str | None] = {}
    if base is not None:
        for node in base.iter("device-type", "bus-type"):
            base_parents[node.get("name", "")] = node.get("parent") or (
                "bus" if node.tag == "bus-type" else None
            )
    types: dict[str, _Type] = {}
    for entry in listing:
        types[entry["name"]] = _Type(
            entry["name"], entry.get("parent"), bool(entry.get("abstract"))
        )
    # a listing without abstract types names them only as parents; one without parents
    # (QEMU before 2.10) takes them from the hints or the base (marked as inferred)
    for name in list(types):
        chain = [name]
        while chain[-1] in types and len(chain) < 64:
            entry = types[chain[-1]]
            if entry.parent is None:
                hinted = hints.get(entry.name) or base_parents.get(entry.name)
                if hinted is None:
                    break
                entry.parent, entry.parent_inferred = hinted, True
            if entry.parent in types or entry.parent in ("object", "device", "bus"):
                break
            types[entry.parent] = _Type(entry.parent, None, True)
            chain.append(entry.parent)
    return types


def _commands(answers: Answers) -> set[str]:
    listed = answers.value("query-commands")
    if listed:
        return {c["name"] for c in listed}
    schema = answers.value("query-qmp-schema") or []
    return {e["name"] for e in schema if e.get("meta-type") == "command"}


def _structure(answers: Answers, types: dict[str, _Type]) -> dict[str, dict[str, Any]]:
    """From the probe's `info qtree` sessions: each family's bare tree, and the buses,
    embedded devices and realized properties of the devices it plugged (those with ids)."""
    families: dict[str, dict[str, Any]] = {}
    for session in answers.sessions():
        text = answers.hmp(session, "info qtree")
        if text is None:
            continue
        machine = next((e.value for e in session if e.execute == "qom-get" and e.ok), "")
        family = family_of(str(machine).removesuffix("-machine"))
        tree = parse_qtree(text)
        ids = _plugged_ids(session)
        if not ids:
            families.setdefault(family, tree)
            continue
        plugged = [d for d in _walk_devices(tree) if d["id"] in ids]
        for node in plugged:
            entry = types.get(node["type"])
            if entry is None or entry.realized is not None:
                continue  # seen already on another machine of this arch
            entry.realized = list(node["props"].items())
            # qtree shows a device's buses newest first; the table keeps creation order
            for bus in reversed(node["buses"]):
                entry.buses.append((bus["type"], _rule(bus["name"], node["id"], None)))
                for inner in bus["devices"]:
                    if inner["id"]:
                        continue
                    entry.embeds = inner["type"]
                    inner_entry = types.get(inner["type"])
                    if inner_entry is not None and inner_entry.realized is None:
                        inner_entry.realized = list(inner["props"].items())
                    if inner_entry is not None and not inner_entry.buses:
                        inner_entry.buses = [
                            (b["type"], _rule(b["name"], None, node["id"]))
                            for b in reversed(inner["buses"])
                        ]
    for exchange in answers.all("device-list-properties"):
        entry = types.get(str(exchange.arguments.get("typename")))
        if entry is not None and exchange.ok:
            entry.props = list(exchange.value)
    return families


def _plugged_ids(session: list[Exchange]) -> set[str]:
    """The ids of the devices the probe put into SESSION's machine: -device options of its
    command line and device_add commands (a machine's built-ins may have ids of their own,
    such as virt's platform-bus-device)."""
    ids = {
        str(e.arguments["id"])
        for e in session
        if e.execute == "device_add" and e.ok and "id" in e.arguments
    }
    args = session[0].args or []
    for flag, value in zip(args, args[1:], strict=False):
        if flag == "-device":
            ids.update(part[3:] for part in value.split(",") if part.startswith("id="))
    return ids


def _structure_from_base(devices: dict[str, _Type], base_types: dict[str, Any]) -> None:
    """Creatable, bus and aliases of types the answers do not describe: from the base, else
    from the abstract type they descend from."""
    parents = {n: t.parent for n, t in devices.items()}
    for name, entry in devices.items():
        node = base_types.get(name)
        if node is not None:
            entry.creatable = node.get("creatable", "yes") == "yes" and not entry.abstract
            entry.plugs_into = node.get("plugs-into")
            entry.aliases = (node.get("aliases") or "").split()
        else:
            entry.creatable = not entry.abstract
            entry.plugs_into = _bus_of_ancestor(name, parents)


def _bus_of_ancestor(name: str, parents: dict[str, str | None]) -> str | None:
    return next(
        (_BUS_OF_ANCESTOR[a] for a in [name, *_ancestors(name, parents)] if a in _BUS_OF_ANCESTOR),
        None,
    )


def _bus_types_xml(
    root: etree._Element,
    devices: dict[str, _Type],
    types: dict[str, _Type],
    base: etree._Element | None,
    source_id: str,
) -> None:
    base_buses = {n.get("name"): n for n in base.findall("bus-type")} if base is not None else {}
    bus_types = (
        {e.plugs_into for e in devices.values() if e.plugs_into}
        | {bus_type for e in devices.values() for bus_type, _ in e.buses}
        | {b.get("type") for b in root.iter("bus")}
        | {f.get("root-bus-type") for f in root.findall("machine-family")}
    )
    for node in base_buses.values():
        if node.get("name") in types:
            bus_types.add(node.get("name"))
    if base is not None:
        for node in root.iter("device-type"):
            bus_types.update(p.get("bus-type") for p in node.findall("provides"))

    def parent_of(name: str) -> tuple[str | None, bool]:
        if name in types:
            return types[name].parent, types[name].abstract
        node = base_buses.get(name)
        return (
            (node.get("parent"), node.get("abstract") == "yes")
            if node is not None
            else (None, False)
        )

    for bus_type in list(bus_types):
        # the bus types it is a kind of (virtio-ccw-bus → virtio-bus), up to QOM's 'bus'
        parent = parent_of(bus_type or "")[0]
        while parent and parent != "bus" and parent not in bus_types:
            bus_types.add(parent)
            parent = parent_of(parent)[0]
    for bus_type in sorted(b for b in bus_types if b):
        parent, is_abstract = parent_of(bus_type)
        attrs = {
            "name": bus_type,
            "source": source_id
            if bus_type in types or base is None
            else base_buses[bus_type].get("source", source_id)
            if bus_type in base_buses
            else source_id,
        }
        if parent and parent != "bus":
            attrs["parent"] = parent
        if is_abstract:
            attrs["abstract"] = "yes"
        if bus_type in base_buses and base_buses[bus_type].get("since"):
            attrs["since"] = base_buses[bus_type].get("since", "")  # a dated fact
        etree.SubElement(root, "bus-type", attrs)


def _device_xml(
    root: etree._Element,
    entry: _Type,
    base_node: Any,
    source_id: str,
    probed: bool,
    same_release: bool,
    keep_base_props: bool,
) -> None:
    attrs = {
        "name": entry.name,
        "source": source_id,
        "abstract": "yes" if entry.abstract else "no",
        "creatable": "yes" if entry.creatable and not entry.abstract else "no",
    }
    if entry.parent:
        attrs["parent"] = entry.parent
    if entry.plugs_into:
        attrs["plugs-into"] = entry.plugs_into
    if entry.aliases:
        attrs["aliases"] = " ".join(entry.aliases)
    if entry.parent_inferred:
        attrs["parent-inferred"] = "yes"
    if not probed:
        # what -device makes of it and where it plugs in: the base's (another release's
        # probe, so inferred), or a guess from its parent when the base lacks it
        attrs["structure-source"] = (
            base_node.get("source", source_id).split()[0] if base_node is not None else source_id
        )
        if base_node is None or not same_release:
            attrs["structure-inferred"] = "yes"
    node = etree.SubElement(root, "device-type", attrs)
    limits = _bus_limits().get(entry.name, {})
    if probed:
        for bus_type, rule in entry.buses:
            provides = etree.SubElement(node, "provides", {"bus-type": bus_type, "name": rule})
            for attribute, value in limits.get(bus_type, {}).items():
                provides.set(attribute, value)
        if entry.embeds:
            etree.SubElement(node, "embeds", type=entry.embeds)
        for prop in _props_xml(entry):
            etree.SubElement(node, "prop", prop)
        return
    if base_node is not None:
        for child in base_node.findall("provides") + base_node.findall("embeds"):
            node.append(copy.deepcopy(child))
    base_props = (
        {p.get("name"): p for p in base_node.findall("prop")} if base_node is not None else {}
    )
    if entry.props is None:
        for prop in base_props.values():
            copied = copy.deepcopy(prop)
            if not same_release:
                copied.set("inferred", "yes")
            copied.set("source", base_node.get("source", "").split()[0] or source_id)
            node.append(copied)
        return
    order = list(base_props)
    answered = [_prop_attrs(p) for p in entry.props]
    if keep_base_props:
        names = {a["name"] for a in answered}
        answered += [
            {
                **dict(p.attrib),
                "inferred": "yes",
                "source": base_node.get("source", "").split()[0] or source_id,
            }
            for name, p in base_props.items()
            if name not in names
        ]
    answered.sort(key=lambda a: order.index(a["name"]) if a["name"] in order else len(order))
    for attrs in answered:
        known = base_props.get(attrs["name"])
        if attrs.get("inferred") == "yes":
            etree.SubElement(node, "prop", attrs)
            continue
        if known is not None and known.get("qtree") == "no":
            attrs["qtree"] = "no"
        if (
            "default" in attrs
            and known is not None
            and known.get("default") is None
            and known.get("type") == attrs["type"]
        ):
            # the probe saw a realized device show another value: computed at realize
            # time (num_queues 'auto', vectors), not a default
            del attrs["default"]
        elif (
            "default" not in attrs
            and known is not None
            and known.get("default") is not None
            and known.get("type") == attrs["type"]
        ):
            # QEMU before 5.0 did not report defaults: the base's, as a guess
            attrs["default"] = known.get("default", "")
            attrs["default-inferred"] = "yes"
        etree.SubElement(node, "prop", attrs)


def _walk_devices(bus: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for device in bus["devices"]:
        found.append(device)
        for child in device["buses"]:
            found.extend(_walk_devices(child))
    return found


def _rule(bus_name: str, device_id: str | None, proxy_id: str | None) -> str:
    """QEMU's naming rule for a bus seen under a device with a known id."""
    for key, placeholder in ((device_id, "{id}"), (proxy_id, "{proxy-id}")):
        if key and (bus_name == key or bus_name.startswith(key + ".")):
            return placeholder + bus_name[len(key) :]
    return bus_name


def _props_xml(entry: _Type) -> list[dict[str, str]]:
    """Properties in `info qtree` order when the probe saw the device realized.

    A default is kept only where QEMU's static default is also what a realized device
    shows; a value computed at realize time (vectors, num_queues 'auto', geometry) has no
    default here.  Properties a realized device does not show in qtree are marked so.
    """
    props = [_prop_attrs(prop) for prop in entry.props or []]
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


@functools.cache
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


@functools.cache
def _libvirt_families() -> dict[str, dict[str, str]]:
    """data/libvirt-families.tsv: libvirt's placement policy per machine family."""
    rows: dict[str, dict[str, str]] = {}
    columns = ("family", "slots", "addressing", "video", "controllers", "source")
    for line in (CAPS_DIR / "libvirt-families.tsv").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            row = dict(zip(columns, (line.split("\t") + [""] * 6)[:6], strict=True))
            rows[row["family"]] = row
    return rows


def _family_xml(
    root: etree._Element,
    family: str,
    tree: dict[str, Any] | None,
    root_bus_types: tuple[str, ...],
    source_id: str,
) -> None:
    policy = _libvirt_families().get(family, {})
    slots, addressing, video = (
        policy.get("slots", ""),
        policy.get("addressing") or "none",
        policy.get("video", ""),
    )
    controllers = dict(pair.split("=", 1) for pair in policy.get("controllers", "").split())
    host_bridge, root_bus, root_bus_type = "none", "none", "System"
    builtins: list[dict[str, Any]] = []
    if tree is not None:
        for device in tree["devices"]:
            for bus in device["buses"]:
                if bus["type"] in root_bus_types and host_bridge == "none":
                    host_bridge, root_bus, root_bus_type = device["type"], bus["name"], bus["type"]
                    builtins = [d for d in bus["devices"] if not d["id"]]
    node = etree.SubElement(
        root,
        "machine-family",
        {
            "name": family,
            "host-bridge": host_bridge,
            "root-bus": root_bus,
            "root-bus-type": root_bus_type,
            "reserved-pci-slots": slots,
            "libvirt-addressing": addressing,
            "source": f"{source_id} LIBVIRT",
        },
    )
    if video:
        node.set("video-slot", video)
    tree_root = tree["name"] if tree is not None else None
    for device, parent_bus in _builtins_in_order(tree, builtins, host_bridge):
        attrs = {"type": device["type"], "source": source_id}
        if device["props"].get("addr"):
            attrs["addr"] = device["props"]["addr"]
        controller = controllers.get(device["type"])
        if controller:
            attrs["libvirt-controller"] = controller
        if parent_bus:
            attrs["parent-bus"] = parent_bus
        builtin = etree.SubElement(node, "builtin", attrs)
        if parent_bus == tree_root and device["type"] == host_bridge:
            continue  # (its place only: the family's root-bus says which bus it provides)
        for bus in reversed(device["buses"]):
            etree.SubElement(builtin, "bus", name=bus["name"], type=bus["type"])


def family_from_qtree(
    root: etree._Element, family: str, text: str, root_bus_types: tuple[str, ...], source_id: str
) -> None:
    """A machine family the probe did not start, from `info qtree` of that bare machine as
    real QEMU printed it (tools/caps-facts/qtree): its host bridge, root bus and built-ins,
    as _structure's families give them for the probed ones."""
    _family_xml(root, family, parse_qtree(text), root_bus_types, source_id)


def _builtins_in_order(
    tree: dict[str, Any] | None, root_builtins: list[dict[str, Any]], host_bridge: str
) -> list[tuple[dict[str, Any], str | None]]:
    """Every device of the bare machine's tree that has no id (a built-in), with the bus it
    sits on (None: the root PCI bus), in creation order: QEMU shows a bus's newest device
    first (bus_add_child inserts at the head), so each bus's list is read backwards.  The
    host bridge has an entry of its own on the main bus: where it stands among the main
    bus's built-ins (QEMU 7.2's pc creates kvmvapic and fw_cfg_io before i440FX-pcihost,
    ioapic and hpet after).  Walked with a queue, bounded by the tree's size."""
    if tree is None:
        return []
    found: list[tuple[dict[str, Any], str | None]] = []
    queue: list[tuple[dict[str, Any], str | None]] = [
        (device, tree["name"]) for device in reversed(tree["devices"]) if not device["id"]
    ]
    queue += [(device, None) for device in reversed(root_builtins)]
    while queue:
        device, parent_bus = queue.pop(0)
        found.append((device, parent_bus))
        if parent_bus == tree["name"] and device["type"] == host_bridge:
            continue  # its root bus's built-ins are queued already
        for bus in reversed(device["buses"]):
            queue += [(child, bus["name"]) for child in reversed(bus["devices"]) if not child["id"]]
    return found
