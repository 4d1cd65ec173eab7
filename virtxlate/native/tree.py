"""`virtxlate tree --argv`: the device graph QEMU builds from a command line.

The -device and -global options (and legacy switches such as -usb) go through the same
graph builder as a translated domain; the machine is the one -machine names, else the
release's default.
"""

from __future__ import annotations

from collections.abc import Callable

from ..caps import CapsTable
from ..caps.probe import recorded_kind
from ..errors import InputError, UsageError
from ..graph import Graph, GraphError, build_graph
from ..option import Option
from .options import ArgvOption, parse_options
from .words import CommandLine

# How many devices deep a bus chain may go (a bridge on a bridge on …): real topologies
# stay within a handful (root port, switch ports, PCIe-to-PCI bridge, PCI bridge); the
# graph is built and drawn recursively, so a deeper chain is refused, not followed.
MAX_BUS_DEPTH = 32


def graph_from_argv(command: CommandLine, caps: CapsTable) -> tuple[Graph, list[str]]:
    """The graph and what is left out of it ('-device TYPE' and '-global …' the tables do
    not model: not storage or virtio); GraphError when QEMU would refuse a device,
    UsageError for a machine type the release does not have."""
    options = parse_options(command.words, command.source)
    machine_option = next((o for o in options if o.flag in ("-machine", "-M")), None)
    wanted = str(machine_option.fields.get("type")) if machine_option is not None else None
    machine = caps.machine(wanted)
    if machine is None:
        raise UsageError(f"machine type '{wanted}' does not exist in QEMU {caps.version}")
    _bus_depth(options, command.source)
    devices, written, left_out = [], [], []
    # what the machine is built with: its properties (acpi=off), -no-acpi, the accelerator
    machine_wide: list[Option] = []
    for option in options:
        if option.flag in ("-machine", "-M"):
            props = [(k, v) for k, v in option.fields.items() if k != "type"]
            machine_wide.append(Option("-machine", str(option.fields.get("type")), props))
        elif option.flag in ("-no-acpi", "-no-hpet", "-enable-kvm"):
            machine_wide.append(Option(option.flag))
        elif option.flag == "-accel":
            machine_wide.append(Option("-accel", str(option.value).split(",", 1)[0]))
        elif option.flag == "-device":
            driver = str(option.fields.get("driver", ""))
            if caps.device(driver) is None and not recorded_kind(driver):
                left_out.append(f"-device {driver}")
                continue
            props = [(key, value) for key, value in option.fields.items() if key != "driver"]
            devices.append(Option("-device", driver, props))
            written.append(option)
        elif option.flag == "-global" and not _modelled_global(str(option.value), caps):
            left_out.append(f"-global {option.value}")
        elif option.flag in ("-global", "-usb"):
            devices.append(Option(option.flag, option.value))
            written.append(option)

    def build(count: int) -> Graph:
        family = caps.family_of(machine)
        return build_graph(caps, machine.name, family, machine_wide + devices[:count])

    try:
        graph = build(len(devices))
    except (ValueError, TypeError) as exc:
        # a value of the wrong kind (addr=0xZZ, port=zz, uid=zz): named as from-argv names
        # it, the first option whose graph cannot be built (found by halving)
        where = " ".join(written[_first_unreadable(build, len(devices))].words())
        where = where if len(where) <= 80 else where[:77] + "..."
        raise InputError(f"cannot read '{where}': {exc}", source=command.source, line=0) from None
    return graph, left_out


def _first_unreadable(build: Callable[[int], Graph], total: int) -> int:
    """The index of the first option whose value the graph builder cannot read: the
    smallest prefix that fails ends with it."""
    low, high = 1, total  # build(high) fails
    while low < high:
        middle = (low + high) // 2
        try:
            build(middle)
        except (ValueError, TypeError):
            high = middle
            continue
        except GraphError:
            pass  # a prefix may miss a device a later option names: readable so far
        low = middle + 1
    return high - 1


def _bus_depth(options: list[ArgvOption], source: str) -> None:
    """InputError when -device bus= references chain deeper than MAX_BUS_DEPTH; counted
    without recursion (a device's bus is another device's id, or that id with .N)."""
    depth: dict[str, int] = {}
    for option in options:
        if option.flag != "-device":
            continue
        bus = str(option.fields.get("bus") or "")
        owner = bus if bus in depth else bus.rpartition(".")[0]
        level = depth.get(owner, 0) + 1
        if level > MAX_BUS_DEPTH:
            raise InputError(
                f"the -device bus chain ending at '{bus[:40]}' is more than "
                f"{MAX_BUS_DEPTH} devices deep",
                source=source,
                line=0,
            )
        device_id = option.fields.get("id")
        if isinstance(device_id, str):
            depth[device_id] = level


def _modelled_global(text: str, caps: CapsTable) -> bool:
    """-global DRIVER.PROP=VALUE sets a property the tables know (the floppy controller's
    drives, the ICH9-LPC's noreboot); one the tables do not record (QEMU's replies answer
    only for the types asked about) is left out rather than called unknown to QEMU."""
    driver, _, prop = text.partition("=")[0].partition(".")
    dtype = caps.device(driver)
    return dtype is not None and dtype.prop(prop) is not None
