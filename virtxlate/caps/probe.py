"""`virtxlate caps probe`, the recording half: ask a real QEMU binary over QMP, keep its answers.

Asked of QEMU: query-version, query-target, query-machines, qom-list-types (with
abstract types and parents), query-commands, `device_add help`, device-list-properties
of the recorded kinds (data/probe-selection.txt); then the controllers are plugged
into paused machines and `info qtree` shows which buses they provide.  Every command
and answer is kept in the shape of libvirt's captured .replies files (answers.py); the
pure step interpret.py turns them into a table, the same step that builds the shipped
tables from libvirt's captures.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from lxml import etree

from ..errors import UsageError
from ..qemu import QemuError, QemuProcess
from ..resources import CAPS_DIR
from .answers import Answers, Exchange
from .interpret import PROBE_MACHINES, ProbeMachine, family_of, interpret, parse_device_help

# OpenGL display devices live in a module that QEMU loads on demand; where the module
# cannot load (a host without GL), asking for their properties ends QEMU (Debian 7.2)
_GL_TYPE = re.compile(r"-gl(-|$)")


def _selection() -> list[str]:
    lines = (CAPS_DIR / "probe-selection.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def recorded_kind(name: str) -> bool:
    """Whether the tables record the properties and structure of device type NAME when QEMU
    has it (the probe's selection: storage, virtio and what libvirt asks about); a type
    outside it is not modelled in the graph."""
    return bool(_selected([name], _selection()))


def _selected(names: Iterable[str], patterns: list[str]) -> set[str]:
    return {name for name in names if any(fnmatch.fnmatchcase(name, p) for p in patterns)}


def _ancestors(name: str, parents: dict[str, str | None]) -> list[str]:
    chain: list[str] = []
    current = parents.get(name)
    while current and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return chain


class _Recording:
    """One QEMU process whose every command and answer is kept."""

    def __init__(self, qemu: QemuProcess, answers: Answers, session: int):
        self.qemu, self.answers, self.session = qemu, answers, session

    def execute(self, command: str, **arguments: Any) -> Any:
        try:
            value = self.qemu.execute(command, **arguments)
        except QemuError as exc:
            self.answers.exchanges.append(
                Exchange(
                    command,
                    arguments,
                    {"error": {"class": "GenericError", "desc": str(exc)}},
                    self.session,
                )
            )
            raise
        self.answers.exchanges.append(Exchange(command, arguments, {"return": value}, self.session))
        return value

    def hmp(self, command_line: str) -> str:
        return str(self.execute("human-monitor-command", **{"command-line": command_line}))


@contextmanager
def _session(
    binary: str, args: list[str], answers: Answers, timeout: float
) -> Iterator[_Recording]:
    with QemuProcess(binary, args, timeout=timeout) as qemu:
        session = max((e.session for e in answers.exchanges), default=-1) + 1
        # QemuProcess has negotiated QMP; kept as libvirt's files keep it, with the
        # command line this session's QEMU was started with
        answers.exchanges.append(Exchange("qmp_capabilities", {}, {"return": {}}, session, [*args]))
        recording = _Recording(qemu, answers, session)
        recording.execute("qom-get", path="/machine", property="type")
        yield recording


def record(binary: str, timeout: float = 30.0, machine: str | None = None) -> Answers:
    """Everything the probe asks BINARY, with the answers.

    MACHINE, when given, is the one machine whose structure is probed (instead of the
    arch's usual ones: pc and q35 on x86_64, s390-ccw-virtio, virt)."""
    answers = Answers(origin=f"virtxlate caps probe of {binary}")
    with _session(binary, ["-machine", "none"], answers, timeout) as qemu:
        qemu.execute("query-version")
        arch = qemu.execute("query-target")["arch"]
        machines = qemu.execute("query-machines")
        type_list = qemu.execute("qom-list-types", abstract=True)
        qemu.execute("query-commands")
        creatable = parse_device_help(qemu.hmp("device_add help"))
        parents = {t["name"]: t.get("parent") for t in type_list}
        abstract = {t["name"] for t in type_list if t.get("abstract")}
        devices = {name for name in parents if "device" in _ancestors(name, parents)}
        chosen = _selected(devices, _selection())
        for name in sorted(chosen - abstract):
            if _GL_TYPE.search(name):
                continue
            try:
                qemu.execute("device-list-properties", typename=name)
            except QemuError:
                continue
    setups = PROBE_MACHINES.get(arch, ())
    known = {m["name"] for m in machines} | {m.get("alias") for m in machines}
    if machine is not None and machine not in known:
        raise UsageError(f"{binary} has no machine type '{machine}'")
    if machine is not None:
        base = (
            setups[0] if setups else ProbeMachine("other", machine, ("PCI",), True, ("PCI", "PCIE"))
        )
        family = family_of(machine)
        setups = (
            ProbeMachine(
                family,
                machine,
                base.plug_into,
                base.hotplug,
                ("PCI", "PCIE") if family != base.family else base.root_bus_types,
                base.frontends if family == base.family else (),
            ),
        )
    plugs = {name: creatable[name][0] for name in chosen if name in creatable}
    _record_structure(binary, answers, plugs, known, timeout, setups)
    return answers


def probe(binary: str, timeout: float = 30.0, machine: str | None = None) -> etree._Element:
    """The table of BINARY as an XML element in the schemas/caps.xsd format."""
    return interpret(record(binary, timeout, machine))


def _record_structure(
    binary: str,
    answers: Answers,
    plugs: dict[str, str | None],
    known: set[str | None],
    timeout: float,
    setups: tuple[ProbeMachine, ...],
) -> None:
    """Plug the creatable recorded controllers into paused machines and keep `info qtree`:
    the buses each provides, their names, the device a proxy embeds."""
    seen: set[str] = set()
    for setup in setups:
        if setup.machine not in known:
            continue
        candidates = [
            name
            for name, bus in sorted(plugs.items())
            if bus in setup.plug_into and name not in seen
        ]
        ids = {name: f"probe{number}" for number, name in enumerate(candidates)}
        args = ["-machine", f"{setup.machine},accel=tcg"]
        with _session(binary, args, answers, timeout) as qemu:
            qemu.hmp("info qtree")
        front_args = _frontend_args(setup, set(plugs))
        if setup.hotplug:
            with _session(binary, args + front_args, answers, timeout) as qemu:
                plugged = False
                for name in candidates:
                    try:
                        qemu.execute(
                            "device_add",
                            driver=name,
                            id=ids[name],
                            **_backend_for(qemu, name, ids[name]),
                        )
                    except QemuError:
                        continue
                    plugged = True
                    seen.add(name)
                if plugged:
                    _plug_frontends(qemu, ids)
                    qemu.hmp("info qtree")
        else:
            # the root bus takes no hot-plug: devices go on the command line, a few at a
            # time, alone when a group is refused (root ports clash over their slots)
            for start in range(0, len(candidates), 8):
                group = candidates[start : start + 8]
                if not _plug_on_command_line(binary, args, group, ids, answers, timeout):
                    for name in group:
                        _plug_on_command_line(binary, args, [name], ids, answers, timeout)
            seen.update(candidates)


def _frontend_args(setup: ProbeMachine, present: set[str]) -> list[str]:
    """-blockdev null nodes and -device options for the setup's disk frontends."""
    args: list[str] = []
    for number, (name, bus, read_only, size) in enumerate(setup.frontends):
        if name not in present:
            continue
        node, device_id = f"front-null{number}", f"front{number}"
        blockdev: dict[str, Any] = {"driver": "null-co", "node-name": node, "read-only": read_only}
        if size:
            blockdev["size"] = size
        device = f"{name},id={device_id},drive={node}" + (f",bus={bus}" if bus else "")
        args += ["-blockdev", json.dumps(blockdev), "-device", device]
    return args


# devices QEMU refuses to create without a property ("Bridge chassis not specified")
_REQUIRED_PROPS: dict[str, dict[str, Any]] = {"pci-bridge": {"chassis_nr": 1}}


def _needs_drive(name: str) -> bool:
    # block devices refuse to start without a backend: the probe gives them a null one
    return "-blk" in name and not name.startswith("vhost-")


def _backend_for(qemu: _Recording, name: str, device_id: str) -> dict[str, Any]:
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


def _plug_on_command_line(
    binary: str,
    args: list[str],
    names: list[str],
    ids: dict[str, str],
    answers: Answers,
    timeout: float,
) -> bool:
    devices: list[str] = []
    for name in names:
        if _needs_drive(name):
            node = f"null-{ids[name]}"
            devices += [
                "-blockdev",
                f'{{"driver":"null-co","node-name":"{node}"}}',
                "-device",
                f"{name},id={ids[name]},drive={node}",
            ]
        else:
            extra = "".join(
                f",{key}={value}" for key, value in _REQUIRED_PROPS.get(name, {}).items()
            )
            devices += ["-device", f"{name},id={ids[name]}{extra}"]
    try:
        with _session(binary, args + devices, answers, timeout) as qemu:
            _plug_frontends(qemu, {name: ids[name] for name in names})
            qemu.hmp("info qtree")
    except QemuError:
        return False
    return True


# Disk frontends that can be hot-plugged onto a virtio-scsi bus of the probe machine,
# each with a null-co block node of its own, so that `info qtree` shows their properties.
_SCSI_FRONTENDS = ("scsi-hd", "scsi-cd")


def _plug_frontends(qemu: _Recording, ids: dict[str, str]) -> None:
    usb = ids.get("piix3-usb-uhci")
    if usb is not None:
        try:
            qemu.execute("blockdev-add", driver="null-co", **{"node-name": "probe-null-usb"})
            qemu.execute(
                "device_add",
                driver="usb-storage",
                id="probe-usb-storage",
                bus=f"{usb}.0",
                drive="probe-null-usb",
            )
        except QemuError:
            pass
    host = ids.get("virtio-scsi-pci") or ids.get("virtio-scsi-ccw")
    if host is None:
        return
    for number, name in enumerate(_SCSI_FRONTENDS):
        node, device_id = f"probe-null{number}", f"probe-{name}"
        try:
            qemu.execute(
                "blockdev-add",
                driver="null-co",
                **{"node-name": node, "read-only": name == "scsi-cd"},
            )
            qemu.execute("device_add", driver=name, id=device_id, bus=f"{host}.0", drive=node)
        except QemuError:
            continue


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
    set_flags(
        table,
        set.intersection(*sets),
        "libvirt capability flags read from "
        + " and ".join(libvirt_caps)
        + (" (the flags all of them have)" if len(libvirt_caps) > 1 else ""),
    )


def retired_flags() -> set[str]:
    """data/libvirt-assumed-flags.txt: the flags newer libvirt retired."""
    return {
        line.strip()
        for line in (CAPS_DIR / "libvirt-assumed-flags.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }


def set_flags(
    table: etree._Element, listed: set[str], text: str, assumed: set[str] | None = None
) -> None:
    """TABLE's flags: LISTED (from libvirt's caps, described by TEXT) and ASSUMED, the
    flags the libvirt that wrote them retired and assumes for every QEMU it supports (by
    default every flag of data/libvirt-assumed-flags.txt)."""
    if assumed is None:
        assumed = retired_flags()
    assume = bool(assumed - listed)
    names = sorted(listed | assumed)
    flags = table.find("flags")
    assert flags is not None
    for child in list(flags):
        flags.remove(child)
    flags.attrib.clear()
    flags.set("source", "LIBVIRT-CAPS LIBVIRT-ASSUMED" if assume else "LIBVIRT-CAPS")
    for name in names:
        etree.SubElement(flags, "flag", name=name)
    if any(name.startswith("device.json") for name in names):
        # libvirt writes -device as JSON once QEMU has its device.json capability
        table.find("command-line").set("libvirt-device", "json")  # type: ignore[union-attr]
    for old in table.findall("source"):
        if old.get("id") in ("LIBVIRT-CAPS", "LIBVIRT-ASSUMED"):
            table.remove(old)
    last = max((i for i, child in enumerate(table) if child.tag == "source"), default=-1)
    source = etree.Element("source", id="LIBVIRT-CAPS")
    source.text = text
    table.insert(last + 1, source)
    if not assume:
        return
    assumed_source = etree.Element("source", id="LIBVIRT-ASSUMED")
    assumed_source.text = (
        "flags that libvirt retired and assumes for every QEMU it supports "
        "(virtxlate/caps/data/libvirt-assumed-flags.txt): " + " ".join(sorted(assumed - listed))
    )
    table.insert(last + 2, assumed_source)
    etree.indent(table, space="  ")
