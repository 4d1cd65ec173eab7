"""libvirt's placement of PCI devices on a PCI Express machine (q35): a pcie-root-port
for each PCI Express device, a pcie-pci-bridge for conventional PCI ones.

What libvirt 9.0 does (qemuDomainAssignPCIAddresses, checked against its
domxml-to-native): a dry run over the devices in libvirt's order gives each PCI Express
device an empty root port or a new one, and at the first conventional device adds a root
port and the pcie-pci-bridge behind it (the next two indexes); one spare root port
follows for hot-plug.  Then the real pass: the bridge, placed before any device, takes
the first empty root port (pci.1 when the domain declares none), and the devices take the
empty root ports in index order, the conventional ones the bridge's slots 1, 2, ….
Root ports sit on pcie.0 from the first free slot, eight functions a slot (port =
slot * 8 + function, chassis = index).
"""

from __future__ import annotations

from ..option import Option, Value
from .pcibuses import DeclaredBus, bus_option, by_index, written_option

# Devices libvirt connects as PCI Express (qemuDomainDeviceCalculatePCIConnectFlags):
# virtio devices in their modern or non-transitional form, the xHCI controllers, e1000e,
# and host devices (vfio-pci: one libvirt cannot read on the host, and every mdev).
_PCIE_PREFIXES = ("virtio-", "vhost-")
_PCIE_DEVICES = ("qemu-xhci", "nec-usb-xhci", "e1000e", "vfio-pci")


def is_pci_express(device: str) -> bool:
    if device in _PCIE_DEVICES:
        return True
    transitional = device.endswith("-transitional") and not device.endswith("-non-transitional")
    return device.startswith(_PCIE_PREFIXES) and not transitional


class PcieRootPorts:
    """Root ports and the bridge libvirt adds, filled in as devices are placed, beside the
    PCI controllers the domain declares (pcibuses.py).

    With declared controllers (libvirt 9.0, checked with its domxml-to-native): devices
    take empty declared root ports and free declared bridge slots first, in index order;
    libvirt adds new controllers from the next index up (an index left out is a root port
    it adds), no spare root port, and gives the declared root ports without an address
    their places on the root bus before the ones it adds.  (A plain class, not a
    dataclass: one costs ~0.4 ms to define at every start of the CLI.)
    """

    def __init__(
        self,
        root_bus: str,
        used_slots: set[int],
        needs_bridge: bool,
        declared: list[DeclaredBus] | None = None,
        shared_slots: set[int] | None = None,
        referenced: set[int] | None = None,
        dry_run: tuple[tuple[int, ...], int] | None = None,
    ) -> None:
        self.root_bus, self.used_slots, self.needs_bridge = root_bus, used_slots, needs_bridge
        self.declared = declared if declared is not None else []
        # written multi-function slots
        self.shared_slots = shared_slots if shared_slots is not None else set()
        # buses written addresses name: those not declared are root ports libvirt adds,
        # not empty (pcibuses.referenced_buses)
        self.referenced = referenced if referenced is not None else set()
        # the second pass: (root ports, bridge index) libvirt's dry run added
        self.dry_run = dry_run
        self.bridge_port: int | None = None  # the root port holding the bridge
        self.bridge: int | None = None
        self.bridge_slots = 0
        self.full = False  # some root port found no place on the root bus
        indexes = {bus.index for bus in self.declared}
        self.next_index = max(indexes | self.referenced, default=0) + 1
        # root ports libvirt adds
        self.ports = [i for i in range(1, self.next_index) if i not in indexes]
        if self.dry_run is not None:
            # the controllers the dry run added exist from the start of the real pass
            self.ports, self.bridge = sorted(self.dry_run[0]), self.dry_run[1]
            self.next_index = max([self.next_index - 1, self.bridge, *self.ports]) + 1
        # root ports nothing is written on yet, in index order (libvirt's gaps included)
        self.empty_ports = sorted(
            [bus.index for bus in self.declared if bus.is_port and not bus.used_slots]
            + [i for i in self.ports if i not in self.referenced]
        )
        # a declared pcie-to-pci-bridge without an address: libvirt gives the PCI
        # controllers their places first, it takes the first empty root port; with none
        # libvirt refuses ("Cannot automatically add a new PCI bus")
        self.unplaced_bridges: list[DeclaredBus] = []
        for bus in self.declared:
            if bus.model == "pcie-to-pci-bridge" and bus.controller.address is None:
                if self.empty_ports:
                    bus.placed = (f"pci.{self.empty_ports.pop(0)}", 0, 0)
                else:
                    self.unplaced_bridges.append(bus)
        if self.needs_bridge:
            self.bridge_port = self._empty_port()

    def _new_index(self) -> int:
        index = self.next_index
        self.next_index += 1
        return index

    def _empty_port(self) -> int:
        if self.empty_ports:
            return self.empty_ports.pop(0)
        port = self._new_index()
        self.ports.append(port)
        return port

    def place(self, device: str) -> tuple[str, str]:
        """(bus, addr) for the next device of type DEVICE."""
        if is_pci_express(device):
            return f"pci.{self._empty_port()}", "0x0"
        for bus in by_index(self.declared):
            if bus.takes == "pci":
                slot = bus.take()
                if slot is not None:
                    return f"pci.{bus.index}", f"{slot:#x}"
        if self.bridge is None:
            # the dry run (virDomainPCIAddressSetGrow) adds a root port and the bridge
            # behind it, even where a root port is empty; in the real pass the bridge,
            # placed before any device, takes the first empty root port instead
            self.ports.append(self._new_index())
            self.bridge = self._new_index()
        self.bridge_slots += 1
        return f"pci.{self.bridge}", f"{self.bridge_slots:#x}"

    def controller_options(self) -> list[Option]:
        """-device options of the declared controllers, then of the root ports (with the
        spare for hot-plug on a domain that declares none) and bridge libvirt adds."""
        if not self.declared:  # (most domains: only the ports and bridge libvirt adds)
            if self.ports or self.bridge is not None:
                # the spare is one more place the dry run asks for: a root port left empty
                # (one added for a bus an address names) serves, else a new one
                self._empty_port()
            per_slot = _root_port_functions(sorted(self.ports), self.used_slots)
            self.full = len(per_slot) < len(self.ports)
            return self._added_options(per_slot)
        written = {
            bus.index: written_option(bus, self.root_bus, self.shared_slots)
            for bus in self.declared
        }
        unplaced = [
            bus.index
            for bus in self.declared
            if bus.model == "pcie-root-port" and written[bus.index] is None
        ]
        root_port_slots: dict[int, set[int]] = {}
        for bus in self.declared:
            address = bus.controller.address
            if (
                bus.model == "pcie-root-port"
                and written[bus.index] is not None
                and address is not None
                and not address.bus
            ):
                root_port_slots.setdefault(address.slot or 0, set()).add(address.function or 0)
        per_slot = _root_port_functions(
            unplaced + sorted(self.ports), self.used_slots, root_port_slots
        )
        self.full = len(per_slot) < len(unplaced) + len(self.ports)
        # a written root port whose slot the added ones join gets multifunction=on too
        # (virDomainPCIAddressSetAllMulti runs once every place is taken; checked with
        # libvirt 9.0: a declared port alone at 00:02.0 beside a port added at 00:02.1)
        joined = {slot for slot, _, shared in per_slot.values() if shared} - self.shared_slots
        if joined:
            written.update(
                {
                    bus.index: written_option(bus, self.root_bus, self.shared_slots | joined)
                    for bus in self.declared
                    if written[bus.index] is not None
                }
            )
        options = []
        for bus in self.declared:
            option = written[bus.index]
            if option is None and bus.index in per_slot:
                slot, function, shared = per_slot[bus.index]
                option = bus_option(
                    bus, (self.root_bus, slot, function), True if function == 0 and shared else None
                )
            if option is not None:  # else said by the plan (VX0902)
                options.append(option)
        return options + self._added_options(per_slot)

    def _added_options(self, per_slot: dict[int, tuple[int, int, bool]]) -> list[Option]:
        """-device options of the root ports (at their PER_SLOT places) and the bridge
        libvirt adds, in index order."""
        options = []
        for index in sorted(self.ports + ([self.bridge] if self.bridge is not None else [])):
            if index == self.bridge:
                options.append(
                    Option(
                        "-device",
                        "pcie-pci-bridge",
                        [
                            ("id", f"pci.{index}"),
                            ("bus", f"pci.{self.bridge_port}"),
                            ("addr", "0x0"),
                        ],
                    )
                )
                continue
            if index not in per_slot:
                continue  # no place on the root bus: said by the plan (VX0205)
            slot, function, shared = per_slot[index]
            props: list[tuple[str, Value]] = [
                ("port", slot * 8 + function),
                ("chassis", index),
                ("id", f"pci.{index}"),
                ("bus", self.root_bus),
            ]
            if function == 0 and shared:
                props.append(("multifunction", True))
            props.append(("addr", f"{slot:#x}" if function == 0 else f"{slot:#x}.{function:#x}"))
            options.append(Option("-device", "pcie-root-port", props))
        return options


def _root_port_functions(
    ports: list[int], used_slots: set[int], root_port_slots: dict[int, set[int]] | None = None
) -> dict[int, tuple[int, int, bool]]:
    """index → (slot, function, slot shared by several ports) on the root bus: the first
    slot that is free or holds root ports with a function to spare (libvirt aggregates
    root ports into multi-function slots, those the domain declares included).  Ports
    beyond a full root bus are left out of the result."""
    functions = {slot: set(used) for slot, used in (root_port_slots or {}).items()}
    placed: dict[int, tuple[int, int]] = {}
    slot = 1  # slots before it are full
    for index in ports:
        used: set[int] | None = None
        while slot < 32:
            used = functions.get(slot)
            if used is None:
                if slot not in used_slots:
                    used = functions[slot] = set()
                    break
            elif len(used) < 8:
                break
            slot += 1
        if slot == 32 or used is None:
            break  # the root bus is full: the rest have no place
        function = 0  # the lowest free (fewer than eight are taken)
        while function in used:
            function += 1
        used.add(function)
        placed[index] = (slot, function)
    return {index: (s, f, len(functions[s]) > 1) for index, (s, f) in placed.items()}
