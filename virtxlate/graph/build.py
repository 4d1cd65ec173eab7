"""Place the -device options of a command line on the buses QEMU gives them in a release.

The structure comes from the capability table: which bus type a device plugs into,
which buses it provides and how QEMU names them, and whether it is a transport
proxy embedding a virtio device (the 1.5 refactoring) or owns its buses itself.
"""

from __future__ import annotations

from typing import Any

from ..caps import CapsTable
from ..caps.tables import Builtin, BusSpec, DeviceType, MachineFamily
from ..errors import InputError
from ..option import Option
from .nodes import Bus, Device, Graph, Prop, PropValue
from .realize import (
    NO_DEFAULT,
    UNCONVERTED,
    BusLimits,
    TakenAddresses,
    TypeInfo,
    convert,
    realize,
    type_info,
)

__all__ = ["GraphError", "GraphTooDeep", "build_graph", "convert"]


class GraphError(Exception):
    """QEMU would refuse the command line while building the graph (unknown type or bus).
    (A plain class: a dataclass costs a quarter of a millisecond to define at start.)"""

    def __init__(self, message: str, option: Option | None = None) -> None:
        super().__init__(message, option)
        self.message = message
        self.option = option

    def __str__(self) -> str:
        return self.message


# How deep buses may nest (a bridge on a bridge on …): PCI has 256 bus numbers, so a
# chain of bridges libvirt accepts stays below 256 levels; a few more for what hangs
# below the last bridge.  A deeper graph is refused, not built.
MAX_BUS_DEPTH = 300


class GraphTooDeep(InputError):
    """Buses nested deeper than MAX_BUS_DEPTH: bad input (exit 3), not a QEMU refusal."""


def no_pci_bus(device: str | None) -> str:
    """What libvirt says of a PCI DEVICE on a machine with no PCI bus (isapc, microvm,
    none): it refuses the domain before QEMU could ("No PCI buses available",
    qemuDomainPCIAddressSetCreate); check (rules/graph_refusals.py) and the graph of
    libvirt's line say it."""
    return (
        f"-device {device} needs a PCI bus, and the machine has none "
        "(libvirt: No PCI buses available)"
    )


def build_graph(
    caps: CapsTable,
    machine: str,
    family: MachineFamily,
    options: list[Option],
    libvirt_line: bool = False,
) -> Graph:
    """The graph for a command line's options: -device, -global and legacy switches
    such as -usb that enable a built-in controller.  Other options are not devices.
    LIBVIRT_LINE: the options are libvirt's line for a domain, so that what libvirt
    refuses before QEMU runs is said in libvirt's words (a PCI device on a machine
    without PCI), as check says it."""
    root = Bus("main-system-bus", "System")
    pci_root = Bus(family.root_bus, family.root_bus_type)
    buses: dict[str, Bus] = {pci_root.name: pci_root, root.name: root}
    builder = _Builder(caps, family, pci_root, buses, _features_off(options))
    builder.accel = _accel(options)
    builder.libvirt_line = libvirt_line
    # the host bridge: where the table places it among the main bus's built-ins (QEMU 7.2's
    # pc creates kvmvapic and fw_cfg_io before it), else the machine's first built-in
    host = Device(family.host_bridge, None, builtin_rank=builder.host_rank)
    host.buses.append(pci_root)
    root.plug(host)
    # the machine creates its built-in devices before any -device, whether or not anything
    # is plugged into them (as pc_init1 / pc_q35_init): QEMU 7.2's `info qtree` lists q35's
    # ich9-ahci and pc's piix3-ide with empty buses too
    for index in builder.builtins:
        builder._builtin(index)
    for option in options:
        if option.flag == "-device":
            builder.add(option)
        elif option.flag == "-global":
            builder.set_global(option)
    return Graph(qemu=caps.version, machine=machine, root=root, value_style=caps.qtree_value_style)


def _features_off(options: list[Option]) -> set[str]:
    """The machine features the line turns off, as "no-FEATURE" (a built-in's needs):
    -no-acpi, -no-hpet, -machine FEATURE=off (acpi, hpet, vmport, i8042, pit, pic, smbus,
    sata …), and "no-tcg" under another accelerator (a built-in whose type under KVM the
    table does not know); the legacy switches themselves (-usb) by their flag."""
    found = {option.flag for option in options}
    for flag in ("-no-acpi", "-no-hpet"):
        if flag in found:
            found.add(flag.removeprefix("-"))
    for option in options:
        if option.flag == "-machine":
            # (a bool property also takes no/false/n, an OnOffAuto one only off)
            found.update(
                f"no-{name}"
                for name, value in option.props
                if value is False or str(value) in ("off", "no", "false", "n")
            )
    if _accel(options) != "tcg":
        found.add("no-tcg")
    return found


def _accel(options: list[Option]) -> str:
    """The accelerator of the line: -accel NAME, -machine accel=NAME or -enable-kvm."""
    for option in options:
        if option.flag == "-accel" and option.implied:
            return option.implied
        if option.flag == "-machine" and option.get("accel") is not None:
            return str(option.get("accel")).split(":", 1)[0]
        if option.flag == "-enable-kvm":
            return "kvm"
    return "tcg"


class _Builder:
    def __init__(
        self,
        caps: CapsTable,
        family: MachineFamily,
        pci_root: Bus,
        buses: dict[str, Bus],
        enabled: set[str],
    ):
        self.caps = caps
        self.family = family
        self.pci_root = pci_root
        self.buses = buses
        # The machine's built-in devices by their place in the table's list (creation
        # order; a type may come more than once: the eight smbus-eeprom, two isa-i8259);
        # one enabled by a legacy switch (-usb) only with that switch, one needing a
        # feature the line turns off not at all, nor what sits on its buses (_builtins;
        # read only, shared by the graphs of one machine with the same switches).
        self.host_rank, self.builtins, self.builtin_of_bus = _builtins(family, enabled)
        self.instances: dict[int, Device] = {}
        # each type's embedded device and buses (_embedded), asked once per type
        self.embedded: dict[str, tuple[DeviceType | None, tuple[BusSpec, ...]]] = {}
        self.accel = "tcg"
        self.libvirt_line = False  # (build_graph: libvirt's line for a domain)
        self.limits: dict[str, BusLimits] = {}  # a bus's SCSI limits, from its spec
        self.scsi_taken: TakenAddresses = {}  # the SCSI addresses on each bus (realize)
        # how many buses lie above a bus, the root's (main-system-bus) 0
        self.depth: dict[str, int] = {
            name: 0 if bus is not pci_root else 1 for name, bus in buses.items()
        }

    def add(self, option: Option) -> None:
        name = option.implied or ""
        dtype = self.caps.device(name)
        if dtype is None:
            raise GraphError(f"QEMU {self.caps.version} has no device type '{name}'", option)
        if not dtype.creatable:
            raise GraphError(
                f"device type '{dtype.name}' cannot be created with -device "
                f"in QEMU {self.caps.version}",
                option,
            )
        if dtype.plugs_into is None:
            # a device of no bus (tpm-crb, pc-dimm, nvdimm: TYPE_DEVICE without a bus type)
            # is realized outside every bus, and `info qtree` only walks buses
            return
        bus = self._bus_for(option, dtype)
        # (the options of the -device this graph reads are plain values: str, int, bool)
        given: dict[str, Any] = dict(option.props)
        device_id = given.get("id")
        device = Device(dtype.name, str(device_id) if device_id is not None else None)
        inner_type, proxy_buses = self._embedded(dtype)
        # Options given to a proxy for its embedded device (num_queues, …) belong to the latter.
        device.props = _props(dtype, given, type_info(inner_type) if inner_type else None)
        refusal = realize(
            device,
            dtype,
            bus,
            given,
            self.limits.get(bus.name),
            self.pci_root,
            inner_type.name if inner_type is not None else None,
            self.accel,
            self.scsi_taken,
        )
        if refusal is not None:
            raise GraphError(f"-device {name}: {refusal}", option)
        bus.plug(device)
        level = self.depth.get(bus.name, 1) + 1  # the depth of the buses DEVICE owns
        if level > MAX_BUS_DEPTH:
            raise GraphTooDeep(
                f"-device {name}: buses nested more than {MAX_BUS_DEPTH} "
                "deep (a chain of bridges); PCI has 256 bus numbers"
            )
        if inner_type is not None:
            # A virtio transport proxy: its one virtio bus carries the embedded device, which
            # owns the buses (named after the proxy's id, as QEMU keeps them compatible).
            for spec in proxy_buses:
                proxy_bus = Bus(spec.name_for(device.id), spec.bus_type)
                device.buses.append(proxy_bus)
                self.depth[proxy_bus.name] = level
                # (a device half the table's probe never realized: which of its
                # properties qtree prints, with what values, is unknown, so none shown)
                shown = _props(inner_type, given) if dtype.embeds else []
                inner = Device(inner_type.name, None, shown)
                proxy_bus.plug(inner)
                for inner_spec in inner_type.buses:
                    self._own(
                        inner,
                        inner_spec.name_for(None, device.id),
                        inner_spec.bus_type,
                        inner_spec,
                        level + 1,
                    )
        elif "masterbus" not in given:
            # (a USB companion given masterbus= registers its ports on its master's bus
            # and has none of its own: QEMU's usb_uhci_common_realize)
            for spec in dtype.buses or _UNPROBED_BUSES.get(dtype.name, ()):
                self._own(device, spec.name_for(device.id), spec.bus_type, spec, level)

    def _embedded(self, dtype: DeviceType) -> tuple[DeviceType | None, tuple[BusSpec, ...]]:
        found = self.embedded.get(dtype.name)
        if found is None:
            found = self.embedded[dtype.name] = _embedded_of(self.caps, dtype)
        return found

    def _own(
        self, device: Device, name: str, bus_type: str, spec: BusSpec | None = None, level: int = 2
    ) -> None:
        bus = Bus(name, bus_type)
        device.buses.append(bus)
        self.buses[name] = bus
        self.depth[name] = level
        if spec is not None:
            self.limits[name] = BusLimits(spec.max_target, spec.max_lun)

    def _bus_for(self, option: Option, dtype: DeviceType) -> Bus:
        wanted = option.get("bus")
        if wanted is None:
            if dtype.plugs_into == self.pci_root.type or (
                dtype.plugs_into == "PCI" and self.pci_root.type in ("PCI", "PCIE")
            ):
                # (isapc's root bus is its isa.0, microvm's and a machine the table has
                # no family of a System bus: a PCI device finds no bus there)
                return self.pci_root
            # QEMU takes the first bus of the right type (qbus_find_recursive), the
            # machine's own ones included (the floppy bus of the built-in isa-fdc)
            bus = next((b for b in self.buses.values() if b.type == dtype.plugs_into), None)
            if bus is None:
                builtin = next(
                    (
                        index
                        for index, b in self.builtins.items()
                        if any(t == dtype.plugs_into for _, t in b.buses)
                    ),
                    None,
                )
                if builtin is not None:
                    self._builtin(builtin)
                    bus = next((b for b in self.buses.values() if b.type == dtype.plugs_into), None)
            if bus is None and dtype.plugs_into == "PCI" and self.libvirt_line:
                raise GraphError(no_pci_bus(option.implied), option)
            if bus is None:
                raise GraphError(
                    f"-device {option.implied} needs bus= (no {dtype.plugs_into} bus to put it on)",
                    option,
                )
            return bus
        name = str(wanted)
        if name not in self.buses and name in self.builtin_of_bus:
            self._builtin(self.builtin_of_bus[name])
        bus = self.buses.get(name)
        if bus is None:
            raise GraphError(f"Bus '{name}' not found", option)
        return bus

    def set_global(self, option: Option) -> None:
        """-global DRIVER.PROP=VALUE on a built-in device (libvirt's floppy drives)."""
        target, _, value = (option.implied or "").partition("=")
        driver, _, prop_name = target.partition(".")
        # (a -global is a default of every device of that type: both isa-i8259 take it)
        found = [index for index, b in self.builtins.items() if b.type == driver]
        if not found:
            return  # a default for devices not created here: nothing in the graph changes
        dtype = self.caps.device(driver)
        spec = dtype.prop(prop_name) if dtype is not None else None
        if spec is None:
            raise GraphError(
                f"QEMU {self.caps.version}: '{driver}' has no property '{prop_name}'", option
            )
        for index in found:
            device = self._builtin(index)
            device.props = [p for p in device.props if p.name != prop_name]
            if (driver, prop_name) in _QOM_ONLY:
                continue  # set, but not a property qtree prints
            device.props.append(Prop(prop_name, spec.type, convert(spec.type, value)))
            order = type_info(dtype).order if dtype is not None else {}
            device.props.sort(key=lambda p: order.get(p.name, 99))

    def _builtin(self, index: int) -> Device:
        """The built-in device at INDEX of the table's list, created on first use with its
        parent bus."""
        if index in self.instances:
            return self.instances[index]
        builtin = self.builtins[index]
        device = Device(builtin.type, None, builtin_rank=index)
        if builtin.addr is not None:
            # a PCI function: addr is a property of every PCI device (QEMU's pci_props), also
            # where the table lists none of the type's properties (i440FX, ICH9-SMB)
            device.props.append(Prop("addr", "pci-devfn", builtin.addr))
        for name, bus_type in builtin.buses:
            self._own(device, name, bus_type)
        parent = self.pci_root
        if builtin.parent_bus is not None:
            if builtin.parent_bus not in self.buses:
                self._builtin(self.builtin_of_bus[builtin.parent_bus])
            parent = self.buses[builtin.parent_bus]
        parent.plug(device)
        self.instances[index] = device
        return device


Builtins = tuple[int, dict[int, Builtin], dict[str, int]]
# per machine family: the family, the switches its built-ins depend on, and the built-ins
# for each set of them that is on
_BUILTINS: dict[int, tuple[MachineFamily, frozenset[str], dict[frozenset[str], Builtins]]] = {}


def _builtins(family: MachineFamily, enabled: set[str]) -> Builtins:
    """(the host bridge's place in FAMILY's list, the built-ins the machine creates with
    the switches ENABLED by their places, each of their buses' built-in), kept per family
    and the switches that matter to it (the same for most lines)."""
    kept = _BUILTINS.get(id(family))
    if kept is None or kept[0] is not family:
        if len(_BUILTINS) > 256:  # (families of tables made and dropped: bounded)
            _BUILTINS.clear()
        switches = {b.enabled_by for b in family.builtins if b.enabled_by is not None}
        switches |= {f"no-{need}" for b in family.builtins for need in (b.needs or "").split()}
        kept = _BUILTINS[id(family)] = (family, frozenset(switches), {})
    key = kept[1] & enabled
    found = kept[2].get(key)
    if found is None:
        host_rank = -1
        builtins: dict[int, Builtin] = {}
        gone: set[str] = set()
        for index, builtin in enumerate(family.builtins):
            if builtin.parent_bus == "main-system-bus" and builtin.type == family.host_bridge:
                host_rank = index
                continue
            needs = (builtin.needs or "").split()
            if (
                (builtin.enabled_by is not None and builtin.enabled_by not in key)
                or any(f"no-{need}" in key for need in needs)
                or builtin.parent_bus in gone
            ):
                gone.update(name for name, _ in builtin.buses)
                continue
            builtins[index] = builtin
        of_bus = {name: index for index, b in builtins.items() for name, _ in b.buses}
        found = kept[2][key] = (host_rank, builtins, of_bus)
    return found


# Properties of built-ins that are QOM properties, not qdev ones, so `info qtree` does not
# print them even when -global sets them (set_global): ich9_pm_add_properties adds ICH9-LPC's
# disable_s3/disable_s4 with object_property_add_uint8_ptr (QEMU 7.2's qtree of libvirt's
# q35 line with -global ICH9-LPC.disable_s3=1 shows neither), where PIIX4_PM's are qdev
# properties and shown.
_QOM_ONLY = {
    ("ICH9-LPC", "disable_s3"),
    ("ICH9-LPC", "disable_s4"),
    # isa_fdc_init adds bootindexA/B with device_add_bootindex_property: QOM only too
    # (QEMU 7.2's qtree of -global isa-fdc.bootindexA=1 does not print it)
    ("isa-fdc", "bootindexA"),
    ("isa-fdc", "bootindexB"),
}

# Buses of device types the table's probe did not plug (so it has their properties, not
# their buses), as QEMU 7.2's `info qtree` shows them for libvirt's lines: an HDA
# controller's codec bus (intel_hda_realize: hda_codec_bus_init names it after the id),
# usb-ccid's card bus (ccid_realize: ccid_bus_new).  The names were the same from the
# devices' first release on.
_UNPROBED_BUSES: dict[str, tuple[BusSpec, ...]] = {
    "intel-hda": (BusSpec("HDA", "{id}.0"),),
    "ich9-intel-hda": (BusSpec("HDA", "{id}.0"),),
    "usb-ccid": (BusSpec("ccid-bus", "{id}.0"),),
}

# The transports of the 1.5 refactoring: a proxy type below one of these embeds a virtio
# device on its one virtio bus, named as QEMU's virtio_pci_bus_new / virtio_ccw_bus_new do
_TRANSPORTS = {
    "virtio-pci": BusSpec("virtio-pci-bus", "virtio-bus"),
    "virtio-ccw-device": BusSpec("virtio-ccw-bus", "virtio-bus"),
}


# each table's answers of _embedded by type name, kept with the table (a proxy's embedded
# type is looked up through its QOM parents: the same walk for every graph)
Embedded = tuple[DeviceType | None, tuple[BusSpec, ...]]
_EMBEDDED: dict[int, tuple[CapsTable, dict[str, Embedded]]] = {}


def _embedded_of(caps: CapsTable, dtype: DeviceType) -> Embedded:
    """_embedded, kept per table and type (bounded: tables made and dropped in tests)."""
    kept = _EMBEDDED.get(id(caps))
    if kept is None or kept[0] is not caps:
        if len(_EMBEDDED) > 64:
            _EMBEDDED.clear()
        kept = _EMBEDDED[id(caps)] = (caps, {})
    found = kept[1].get(dtype.name)
    if found is None:
        found = kept[1][dtype.name] = _embedded(caps, dtype)
    return found


def _embedded(caps: CapsTable, dtype: DeviceType) -> tuple[DeviceType | None, tuple[BusSpec, ...]]:
    """The virtio device a transport proxy DTYPE embeds, and the proxy's buses.

    The table names it for every proxy its probe could create; one needing a back-end the
    probe had none for (virtio-9p-pci: an fsdev, vhost-vsock-pci: /dev/vhost-vsock,
    virtio-mem-pci: a memdev) has none there, and is then read from QEMU's naming of the
    pair (virtio_instance_init: X-pci embeds X-device, or X where that is the device, as
    virtio-mem-pci and virtio-mem in QEMU 7.2's qtree)."""
    if dtype.embeds:
        return caps.device(dtype.embeds), dtype.buses
    transport = _transport(caps, dtype)
    if transport is None:
        return None, dtype.buses
    stem = dtype.name
    for suffix in ("-non-transitional", "-transitional", "-pci", "-ccw"):
        stem = stem.removesuffix(suffix)
    for name in (f"{stem}-device", stem):
        inner = caps.device(name)
        if inner is not None and _ancestor(caps, inner, "virtio-device"):
            return inner, (_TRANSPORTS[transport],)
    return None, dtype.buses


def _transport(caps: CapsTable, dtype: DeviceType) -> str | None:
    return next((t for t in _TRANSPORTS if _ancestor(caps, dtype, t)), None)


def _ancestor(caps: CapsTable, dtype: DeviceType, name: str) -> bool:
    """Whether NAME is DTYPE's type or one of its parents (bounded: QOM chains are short)."""
    current: DeviceType | None = dtype
    for _ in range(32):
        if current is None:
            return False
        if current.name == name:
            return True
        current = caps.device(current.parent) if current.parent else None
    return False


def _props(
    dtype: DeviceType, given: dict[str, PropValue], inner: TypeInfo | None = None
) -> list[Prop]:
    """The properties qtree would show that we know: set on the command line or defaulted
    (the defaults converted once per type: type_info), but those of INNER, the type a
    proxy embeds."""
    info = type_info(dtype)
    exclude = inner.order if inner is not None else None
    if info.convertible:
        # the type's defaults, with the given values put in their places (converted in
        # the type's order, so that a bad one fails as in the loop below)
        row = list(info.template(inner))
        matched: list[int] = []
        for key in given:
            if exclude is None or key not in exclude:
                places = info.positions.get(key)
                if places is not None:
                    matched += places
        matched.sort()
        for at in matched:
            name, prop_type = info.shown[at][0], info.shown[at][1]
            row[at] = Prop(name, prop_type, _given(dtype, name, prop_type, given[name]))
        return [prop for prop in row if prop is not None]
    shown = []
    for name, prop_type, default, written in info.shown:
        if exclude and name in exclude:
            continue
        if name in given:
            shown.append(Prop(name, prop_type, _given(dtype, name, prop_type, given[name])))
        elif default is NO_DEFAULT:
            continue
        elif default is UNCONVERTED:
            convert(prop_type, written or "")  # raises, as it always did
        else:  # the type's default: one Prop shared by all its devices
            shown.append(default)  # type: ignore[arg-type]
    return shown


def _given(dtype: DeviceType, name: str, prop_type: str, value: PropValue) -> PropValue:
    """A property's value from the command line as qtree shows it: a placeholder for what
    only the VM's host knows (<bus of 0x1234:0xbeef>) is shown as written (a value that is
    no number is the caller's bad input, as before)."""
    text = str(value)
    if text.startswith("<") and text.endswith(">"):
        return text
    return convert(prop_type, value)
