"""VX0302 of check: what QEMU refuses while it builds its device graph from the line.

`tree` and `argv` build the graph (graph/build.py) and say "QEMU would refuse" when a
-device names a type the release lacks or cannot create, or a bus that is not there;
check reads the same refusals from the plan's options without building the graph (no
properties, no realize), keeping only which buses exist, so that it fails exactly where
they do.  The messages are the graph's.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..caps import CapsTable
from ..caps.tables import DeviceType, MachineFamily
from ..findings import Finding, finding_at
from ..option import Option, Value


def graph_refusals(
    caps: CapsTable, family: MachineFamily, options: list[Option], source: str
) -> list[Finding]:
    """The VX0302 error QEMU gives for OPTIONS (a planned line) of CAPS's release on a
    machine of FAMILY, at the element the refused option comes from: none, or the first
    (QEMU stops at it, as build_graph does)."""
    for option, message in _refusals(caps, family, options):
        return [finding_at("VX0302", "error", message, option.origin, source)]
    return []


def _refusals(
    caps: CapsTable, family: MachineFamily, options: list[Option]
) -> Iterator[tuple[Option, str]]:
    enabled = {option.flag for option in options}
    # a machine feature turned off takes its built-ins away (as build_graph)
    no_acpi = "-machine" in enabled and any(
        option.flag == "-machine" and option.get("acpi") in ("off", False) for option in options
    )
    if no_acpi or "-no-acpi" in enabled:
        enabled.add("no-acpi")
    builtin_types, machine_buses = _machine(family, enabled)
    buses = dict(machine_buses)
    types = _types(caps)
    for option in options:
        if option.flag == "-global":
            refusal = _global(caps, builtin_types, option)
            if refusal is not None:
                yield option, refusal
            continue
        if option.flag != "-device":
            continue
        name = option.implied or ""
        known = types.get(name)
        if known is None:
            known = types[name] = _type_entry(caps, name)
        dtype, inner = known
        if dtype is None:
            yield option, f"QEMU {caps.version} has no device type '{name}'"
            continue
        if not dtype.creatable:
            yield (
                option,
                f"device type '{dtype.name}' cannot be created with -device in QEMU {caps.version}",
            )
            continue
        if dtype.plugs_into is None:
            continue  # realized outside every bus (tpm-crb, pc-dimm)
        # the properties made so far by key, the first of a key as Option.get reads them
        # (the deferred ones, a disk's frontend, name no bus, id or masterbus)
        props = dict(reversed(option.known))
        wanted = props.get("bus")
        if wanted is None or str(wanted) not in buses:  # (a bus that is there: no refusal)
            refusal = _bus_refusal(option, props, dtype, buses, family)
            if refusal is not None:
                yield option, refusal
                continue
        if dtype.buses:  # (most devices add no bus: none of their own, none embedded)
            buses.update(_own_buses(dtype, inner, props))


_MAX_MACHINES = 256  # the shipped tables' families are far fewer
# id(family) → (the family, the flags that decide which of its built-ins are there, and
# per answer to those flags what _machine gives): a check asks for the same few
_MACHINES: dict[
    int,
    tuple[MachineFamily, tuple[str, ...], dict[tuple[bool, ...], tuple[set[str], dict[str, str]]]],
] = {}


def _machine(family: MachineFamily, enabled: set[str]) -> tuple[set[str], dict[str, str]]:
    """(the types of the built-ins a machine of FAMILY creates with the options ENABLED,
    bus name → bus type of its root buses and theirs), kept per family and per the
    options that decide: the caller copies the buses before it adds to them)."""
    entry = _MACHINES.get(id(family))
    if entry is None or entry[0] is not family:
        if len(_MACHINES) >= _MAX_MACHINES:
            _MACHINES.clear()  # (tables made on the fly, as tests do: no growth)
        deciding = {b.enabled_by for b in family.builtins if b.enabled_by is not None}
        deciding |= {f"no-{b.needs}" for b in family.builtins}
        entry = _MACHINES[id(family)] = (family, tuple(sorted(deciding)), {})
    _, deciding_flags, known = entry
    key = tuple(flag in enabled for flag in deciding_flags)
    found = known.get(key)
    if found is None:
        builtins = [
            b
            for b in family.builtins
            if (b.enabled_by is None or b.enabled_by in enabled) and f"no-{b.needs}" not in enabled
        ]
        buses = {"main-system-bus": "System", family.root_bus: family.root_bus_type}
        for builtin in builtins:
            buses.update(builtin.buses)
        found = known[key] = ({b.type for b in builtins}, buses)
    return found


def _bus_refusal(
    option: Option,
    props: dict[str, Value],
    dtype: DeviceType,
    buses: dict[str, str],
    family: MachineFamily,
) -> str | None:
    """Why the bus DTYPE would go on is missing (graph/build.py _bus_for), or None;
    PROPS: OPTION's properties by key."""
    wanted = props.get("bus")
    if wanted is not None:
        return None if str(wanted) in buses else f"Bus '{wanted}' not found"
    if dtype.plugs_into == family.root_bus_type:
        return None
    if dtype.plugs_into == "PCI" and family.root_bus_type in ("PCI", "PCIE"):
        return None
    if dtype.plugs_into in buses.values():
        return None
    if dtype.plugs_into == "PCI":
        from ..graph.build import no_pci_bus  # (only when refused: check builds no graph)

        return no_pci_bus(option.implied)
    return f"-device {option.implied} needs bus= (no {dtype.plugs_into} bus to put it on)"


# id(table) → (the table, device name → (its type, the type it embeds)): a check asks
# each table for the same few device types, domain after domain
_TYPES: dict[int, tuple[CapsTable, dict[str, tuple[DeviceType | None, DeviceType | None]]]] = {}


def _types(caps: CapsTable) -> dict[str, tuple[DeviceType | None, DeviceType | None]]:
    """The device types already asked of CAPS (the table is kept with them, so that its
    id names no other table while they are)."""
    entry = _TYPES.get(id(caps))
    if entry is None or entry[0] is not caps:
        if len(_TYPES) >= _MAX_MACHINES:
            _TYPES.clear()  # (tables made on the fly, as tests do: no growth)
        entry = _TYPES[id(caps)] = (caps, {})
    return entry[1]


def _type_entry(caps: CapsTable, name: str) -> tuple[DeviceType | None, DeviceType | None]:
    """(the device type NAME names in CAPS, the type it embeds there: a virtio proxy's)."""
    dtype = caps.device(name)
    inner = caps.device(dtype.embeds) if dtype is not None and dtype.embeds else None
    return dtype, inner


def _own_buses(
    dtype: DeviceType, inner: DeviceType | None, props: dict[str, Value]
) -> dict[str, str]:
    """The buses a -device of DTYPE (with the properties PROPS) adds that bus= can name, as
    graph/build.py names them: a virtio transport proxy's are its embedded device's (after
    the proxy's id; its own virtio bus is no target), a USB companion given masterbus= has
    none of its own.  (A proxy whose table names no embedded device has none whose device
    provides buses; a device whose type has no bus adds none.)  INNER: the type DTYPE
    embeds."""
    device_id = props.get("id")
    device_id = str(device_id) if device_id is not None else None
    if inner is not None:
        return {spec.name_for(None, device_id): spec.bus_type for spec in inner.buses}
    if props.get("masterbus") is not None:
        return {}
    return {spec.name_for(device_id): spec.bus_type for spec in dtype.buses}


def _global(caps: CapsTable, builtins: set[str], option: Option) -> str | None:
    """-global DRIVER.PROP=VALUE on a built-in device whose type has no such property."""
    target = (option.implied or "").partition("=")[0]
    driver, _, prop_name = target.partition(".")
    if driver not in builtins:
        return None
    dtype = caps.device(driver)
    if dtype is None or dtype.prop(prop_name) is None:
        return f"QEMU {caps.version}: '{driver}' has no property '{prop_name}'"
    return None
