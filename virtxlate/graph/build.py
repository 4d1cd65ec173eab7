"""Place the -device options of a command line on the buses QEMU gives them in a release.

The structure comes from the capability table: which bus type a device plugs into,
which buses it provides and how QEMU names them, and whether it is a transport
proxy embedding a virtio device (the 1.5 refactoring) or owns its buses itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..caps import CapsTable
from ..caps.tables import DeviceType, MachineFamily
from ..libvirt.options import Option
from .nodes import Bus, Device, Graph, Prop, PropValue


@dataclass
class GraphError(Exception):
    """QEMU would refuse the command line while building the graph (unknown type or bus)."""

    message: str
    option: Option | None = None

    def __str__(self) -> str:
        return self.message


def build_graph(caps: CapsTable, machine: str, family: MachineFamily,
                devices: list[Option]) -> Graph:
    root = Bus("main-system-bus", "System")
    host = Device(family.host_bridge, None)
    pci_root = Bus(family.root_bus, family.root_bus_type)
    host.buses.append(pci_root)
    root.devices.append(host)
    buses: dict[str, Bus] = {pci_root.name: pci_root}
    builder = _Builder(caps, family, pci_root, buses)
    for option in devices:
        builder.add(option)
    return Graph(qemu=caps.version, machine=machine, root=root,
                 value_style=caps.qtree_value_style)


class _Builder:
    def __init__(self, caps: CapsTable, family: MachineFamily, pci_root: Bus,
                 buses: dict[str, Bus]):
        self.caps = caps
        self.family = family
        self.pci_root = pci_root
        self.buses = buses
        # Built-in controllers (piix3-ide, the q35 AHCI) appear once something uses them.
        self.builtin_bus: dict[str, tuple[str, str | None, list[tuple[str, str]]]] = {}
        for builtin in family.builtins:
            for name, _ in builtin.buses:
                self.builtin_bus[name] = (builtin.type, builtin.addr, list(builtin.buses))

    def add(self, option: Option) -> None:
        name = option.implied or ""
        dtype = self.caps.device(name)
        if dtype is None:
            raise GraphError(f"QEMU {self.caps.version} has no device type '{name}'", option)
        if not dtype.creatable:
            raise GraphError(f"device type '{dtype.name}' cannot be created with -device "
                             f"in QEMU {self.caps.version}", option)
        bus = self._bus_for(option, dtype)
        given = {key: value for key, value in option.props}
        device_id = given.get("id")
        device = Device(dtype.name, str(device_id) if device_id is not None else None)
        inner_type = self.caps.device(dtype.embeds) if dtype.embeds else None
        # Options given to a proxy for its embedded device (num_queues, …) belong to the latter.
        inner_names = {p.name for p in inner_type.props} if inner_type else set()
        device.props = _props(dtype, given, exclude=inner_names)
        bus.devices.append(device)
        if inner_type is not None:
            # A virtio transport proxy: its one virtio bus carries the embedded device, which
            # owns the buses (named after the proxy's id, as QEMU keeps them compatible).
            for spec in dtype.buses:
                proxy_bus = Bus(spec.name_for(device.id), spec.bus_type)
                device.buses.append(proxy_bus)
                inner = Device(inner_type.name, None, _props(inner_type, given))
                proxy_bus.devices.append(inner)
                for inner_spec in inner_type.buses:
                    self._own(inner, inner_spec.name_for(None, device.id), inner_spec.bus_type)
        else:
            for spec in dtype.buses:
                self._own(device, spec.name_for(device.id), spec.bus_type)

    def _own(self, device: Device, name: str, bus_type: str) -> None:
        bus = Bus(name, bus_type)
        device.buses.append(bus)
        self.buses[name] = bus

    def _bus_for(self, option: Option, dtype: DeviceType) -> Bus:
        wanted = option.get("bus")
        if wanted is None:
            if dtype.plugs_into in (self.pci_root.type, "PCI"):
                return self.pci_root
            raise GraphError(f"-device {option.implied} needs bus= (it plugs into a "
                             f"{dtype.plugs_into} bus)", option)
        name = str(wanted)
        if name not in self.buses and name in self.builtin_bus:
            self._instantiate_builtin(name)
        bus = self.buses.get(name)
        if bus is None:
            raise GraphError(f"Bus '{name}' not found", option)
        return bus

    def _instantiate_builtin(self, bus_name: str) -> None:
        type_, addr, bus_list = self.builtin_bus[bus_name]
        dtype = self.caps.device(type_)
        device = Device(type_, None)
        if addr is not None and dtype is not None and dtype.prop("addr") is not None:
            device.props.append(Prop("addr", "pci-devfn", addr))
        for name, bus_type in bus_list:
            self._own(device, name, bus_type)
        self.pci_root.devices.append(device)


def _props(dtype: DeviceType, given: dict[str, PropValue], exclude: set[str] | None = None
           ) -> list[Prop]:
    """The properties qtree would show that we know: set on the command line or defaulted."""
    shown = []
    for prop in dtype.props:
        if exclude and prop.name in exclude:
            continue
        if prop.name in given:
            value = _convert(prop.type, given[prop.name])
        elif prop.default is not None:
            value = _convert(prop.type, prop.default)
        else:
            continue
        shown.append(Prop(prop.name, prop.type, value))
    return shown


def _convert(prop_type: str, value: PropValue) -> PropValue:
    if isinstance(value, bool):
        return value
    text = str(value)
    if prop_type in ("uint8", "uint16", "uint32", "uint64", "int32"):
        return int(text, 0)
    if prop_type in ("on-off", "bool"):
        return text in ("on", "true", "yes")
    if prop_type == "pci-devfn":
        return _devfn(text)
    if prop_type == "hex64":
        return int(text, 16)
    return text


def _devfn(text: str) -> str:
    """'0x3' → '03.0', '0x4.0x1' → '04.1', as qtree prints a PCI devfn."""
    if "." in text and not text.startswith("0x") and len(text.split(".")[0]) == 2:
        return text  # already qtree style (built-ins)
    slot_text, _, function_text = text.partition(".")
    slot = int(slot_text, 0)
    function = int(function_text, 0) if function_text else 0
    return f"{slot:02x}.{function:x}"
