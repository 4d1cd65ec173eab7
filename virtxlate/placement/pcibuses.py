"""PCI controllers a domain declares (<controller type='pci' index='1' …>): the -device
options libvirt writes for them (qemuBuildControllerPCIProps, libvirt 9.0's order) and the
places they leave for devices libvirt addresses itself.

A domain libvirt has defined once (virsh dumpxml) declares every root port and bridge with
its address, and every device with its place on them; libvirt then adds nothing.  A
device without an address goes to the first empty root port (PCI Express devices) or the
first free slot of a bridge (conventional PCI ones), in controller index order, as
virDomainPCIAddressGetNextAddr searches.
"""

from __future__ import annotations

from ..model import Controller, Domain
from ..option import Option
from .addresses import controller_indexes, pci_address_text, written_pci

# libvirt model → (QEMU device, what libvirt plugs into it itself: 'pcie' for a PCI
# Express port's one slot, 'pci' for a bridge's slots 1-31, None for neither)
_MODELS: dict[str, tuple[str, str | None]] = {
    "pcie-root-port": ("pcie-root-port", "pcie"),
    "pcie-switch-downstream-port": ("xio3130-downstream", "pcie"),
    "pcie-to-pci-bridge": ("pcie-pci-bridge", "pci"),
    "pci-bridge": ("pci-bridge", "pci"),
    "pcie-switch-upstream-port": ("x3130-upstream", None),
    "dmi-to-pci-bridge": ("i82801b11-bridge", None),
}
BUILT_IN_MODELS = ("pci-root", "pcie-root")
# QEMU device → libvirt model (ioh3420: the root port's <model name> before QEMU 2.9)
MODEL_OF_DEVICE = {device: model for model, (device, _) in _MODELS.items()}
MODEL_OF_DEVICE["ioh3420"] = "pcie-root-port"
DEFAULT_DEVICE = {model: device for model, (device, _) in _MODELS.items()}
BRIDGE_SLOTS = range(1, 32)  # a bridge's slots for devices


# The placement's working state is kept in plain classes: a dataclass costs 0.2–0.4 ms to
# define at every start of the CLI (issue 18), and none of these is compared or printed.


class DeclaredBus:
    """One <controller type='pci'> beyond the machine's root bus."""

    __slots__ = ("controller", "index", "model", "device", "takes", "used_slots", "placed")

    def __init__(
        self, controller: Controller, index: int, model: str, device: str, takes: str | None
    ) -> None:
        self.controller, self.index, self.model = controller, index, model
        self.device, self.takes = device, takes
        self.used_slots: set[int] = set()  # slots devices name on this bus
        # (bus, slot, function) libvirt gives it
        self.placed: tuple[str, int, int] | None = None

    @property
    def is_port(self) -> bool:
        return self.takes == "pcie"

    def take(self) -> int | None:
        """The next place libvirt gives a device here, or None when there is none."""
        free = [0] if self.is_port else BRIDGE_SLOTS
        slot = next((s for s in free if s not in self.used_slots), None)
        if slot is not None:
            self.used_slots.add(slot)
        return slot


def declared_buses(domain: Domain) -> tuple[list[DeclaredBus], list[Controller]]:
    """The domain's PCI controllers in libvirt's array order (by index, those written
    without one after, with the index libvirt gives them: virt-install writes its root
    ports so), and those of a model virtxlate does not write (expander buses) or that
    sit at index 0, the root bus's (libvirt refuses them: plan.py says so)."""
    buses: list[DeclaredBus] = []
    unknown: list[Controller] = []
    if not any(controller.type == "pci" for controller in domain.controllers):
        return buses, unknown  # most domains declare none
    for controller, index in controller_indexes(domain):
        if controller.type != "pci" or controller.model in BUILT_IN_MODELS:
            continue
        if controller.model not in _MODELS or index == 0:
            unknown.append(controller)
            continue
        device, takes = _MODELS[controller.model]
        buses.append(
            DeclaredBus(controller, index, controller.model, controller.model_name or device, takes)
        )
    at_index = {bus.index: bus for bus in buses}
    for written in written_pci(domain) if buses else ():
        bus = at_index.get(written.bus)
        if bus is not None and written.slot is not None:
            bus.used_slots.add(written.slot)
    return buses, unknown


MAX_BUS = 0xFF  # the highest PCI bus number an address can name


def referenced_buses(domain: Domain) -> dict[int, set[int]]:
    """PCI bus numbers above 0 that devices' written addresses name → the slots they name
    there.  libvirt makes its address set that large and adds a controller of the
    machine's default kind (pci-bridge, pcie-root-port) for each bus up to the highest
    that the domain does not declare (qemuDomainAssignPCIAddresses; checked with libvirt
    9.0: a disk at bus 0x04 of a pc without bridges gets pci-bridges pci.1 to pci.4)."""
    found: dict[int, set[int]] = {}
    for written in written_pci(domain):
        if 0 < written.bus <= MAX_BUS:
            slots = found.setdefault(written.bus, set())
            slots.update({written.slot} if written.slot is not None else set())
    return found


def by_index(buses: list[DeclaredBus]) -> list[DeclaredBus]:
    """BUSES in index order: the order libvirt searches them for a free place
    (virDomainPCIAddressGetNextAddr walks the buses by index)."""
    return sorted(buses, key=lambda bus: bus.index)


def shared_root_slots(domain: Domain) -> set[int]:
    """Root-bus slots written with more than one function: libvirt sets multifunction=on
    on function 0 of each (virDomainPCIAddressSetAllMulti)."""
    functions: dict[int, set[int]] = {}
    for written in written_pci(domain):
        if written.bus == 0 and written.slot is not None:
            functions.setdefault(written.slot, set()).add(written.function)
    return {slot for slot, used in functions.items() if len(used) > 1}


def bus_option(bus: DeclaredBus, place: tuple[str, int, int], multifunction: bool | None) -> Option:
    """-device of a declared controller at PLACE (bus name, slot, function)."""
    controller = bus.controller
    on_bus, slot, function = place
    option = Option("-device", bus.device, origin=controller)
    if bus.model == "pci-bridge":
        option.add(
            "chassis_nr", controller.chassis_nr if controller.chassis_nr is not None else bus.index
        )
    elif bus.takes == "pcie":
        port = controller.port
        if port is None:  # libvirt: a root port's own devfn, a downstream port's slot
            port = slot * 8 + function if bus.model == "pcie-root-port" else slot
        option.add("port", port)
        option.add("chassis", controller.chassis if controller.chassis is not None else bus.index)
    option.add("id", f"pci.{bus.index}")
    if bus.takes == "pcie":
        option.add("hotplug", controller.hotplug)
    option.add("bus", on_bus)
    option.add("multifunction", multifunction)
    option.add("addr", pci_address_text(slot, function))
    return option


def written_option(bus: DeclaredBus, root_bus: str, shared_slots: set[int]) -> Option | None:
    """-device of a declared controller at the address the XML gives it, or the one
    libvirt gave it (None without either)."""
    address = bus.controller.address
    if bus.placed is not None and (address is None or address.slot is None):
        return bus_option(bus, bus.placed, None)
    if address is None or address.type != "pci" or address.slot is None:
        return None
    multifunction = address.multifunction
    if (
        multifunction is None
        and not address.bus
        and not address.function
        and address.slot in shared_slots
    ):
        multifunction = True
    on_bus = root_bus if not address.bus else f"pci.{address.bus}"
    return bus_option(bus, (on_bus, address.slot, address.function or 0), multifunction)


class RootBusOverflow:
    """Where libvirt puts a PCI device once the root bus of a pci-root machine (pc) is
    full: the free slots of the bridges the domain declares, then pci-bridges it adds.
    libvirt's dry run (qemuDomainAssignPCIAddresses) keeps one root slot for a possible
    bridge and adds a bridge for every 31 devices beyond its places; the bridges then take
    the first free root slots before any device (checked with libvirt 9.0's
    domxml-to-native: 29 virtio disks and the balloon on pc add pci.1 at slot 2)."""

    __slots__ = ("declared", "added", "added_used")

    def __init__(self, declared: list[DeclaredBus]) -> None:
        self.declared = declared
        # (index, bus, slot): a bridge libvirt adds, on the root bus or, once that is
        # full, on a bridge added before it
        self.added: list[tuple[int, str, int]] = []
        self.added_used: dict[int, set[int]] = {}  # index → slots taken

    def take(self) -> tuple[str, str] | None:
        for bus in by_index(self.declared):
            if bus.takes == "pci":
                slot = bus.take()
                if slot is not None:
                    return f"pci.{bus.index}", f"{slot:#x}"
        for index, _, _ in sorted(self.added):
            used = self.added_used.setdefault(index, set())
            slot = next((s for s in BRIDGE_SLOTS if s not in used), None)
            if slot is not None:
                used.add(slot)
                return f"pci.{index}", f"{slot:#x}"
        return None

    def added_options(self, root_bus: str) -> list[Option]:
        return [
            Option(
                "-device",
                "pci-bridge",
                [
                    ("chassis_nr", index),
                    ("id", f"pci.{index}"),
                    ("bus", bus or root_bus),
                    ("addr", pci_address_text(slot)),
                ],
            )
            for index, bus, slot in sorted(self.added)
        ]
