"""Every device's place, decided before any option is written (as qemuDomainAssignAddresses).

``assign(domain, caps, host)`` walks the domain in libvirt's order (the PCI controllers,
the implicit controllers, USB ports and hubs, the disks, the host devices, the
virtio-serial controllers libvirt adds, the balloon and the trailing PCI devices, ccw
devnos, zPCI ids) and returns a ``Placement`` that the option builders only read.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from types import MappingProxyType
from typing import NamedTuple

from ..caps import CapsTable
from ..caps.tables import Machine, MachineFamily
from ..errors import InvalidValue
from ..findings import Finding, finding_at
from ..host import Host
from ..model import Address, Controller, Disk, Domain
from ..model.devices import Device
from ..names import transitional
from ..names.scsi import SCSI_MODEL_DEVICES
from ..option import Option
from .addresses import (
    Q35_SOUND_SLOT,
    PciSlots,
    addressed,
    controller_indexes,
    disk_index,
    disks_in_order,
    non_storage_device,
    non_storage_pci_devices,
    pci_address_text,
    primary_video,
    q35_sound,
    trailing_pci_devices,
    written_root_slots,
)
from .ccw import assign_devnos, ccw_text
from .controllers import (
    ControllerPlan,
    added_ccid_controllers,
    controller_device,
    needs_device,
    storage_controllers,
)
from .pcibuses import (
    BRIDGE_SLOTS,
    DEFAULT_DEVICE,
    DeclaredBus,
    RootBusOverflow,
    declared_buses,
    referenced_buses,
    shared_root_slots,
    written_option,
)
from .pcie import PcieRootPorts, is_pci_express
from .usb import UsbPorts, assign_usb_ports
from .zpci import assign_zpci, pci_bus

# Names of the devices libvirt adds without an element of the domain's: the keys
# Placement.place_of knows them by (an implied storage controller: its alias)
IMPLICIT_USB = "usb"  # the USB controller libvirt adds at index 0 (q35: qemu-xhci)


def q35_default_usb(caps: CapsTable) -> tuple[str, str] | None:
    """(model, QEMU device) of the USB controller libvirt adds to a q35 domain that names
    none (qemuDomainDefAddDefaultDevices): qemu-xhci where QEMU has it (2.9 on), else
    nec-xhci; ICH9's EHCI with its UHCI companions only without both, which no q35
    release of the tables is."""
    if caps.has_flag("qemu-xhci"):
        return "qemu-xhci", "qemu-xhci"
    if caps.has_flag("nec-usb-xhci"):
        return "nec-xhci", "nec-usb-xhci"
    return None


IMPLICIT_BALLOON = "balloon"  # the virtio balloon of a domain without <memballoon>
IMPLICIT_VIDEO = "video"  # the video card libvirt adds for <graphics> without <video>

# the ich9 USB2 set shares one slot: the EHCI master at function 7, its UHCI companions
# at 0-2 (virDomainPCIAddressReserveNextAddr for IS_USB2_CONTROLLER); q35 has the set's
# slot 00:1d (qemuDomainValidateDevicePCISlotsQ35)
_ICH9_FUNCTIONS = {"ich9-ehci1": 7, "ich9-uhci1": 0, "ich9-uhci2": 1, "ich9-uhci3": 2}
_Q35_USB2_SLOT = 0x1D
# the highest PCI controller index libvirt takes: PCI has 256 bus numbers
PCI_MAX_INDEX = 255


def implicit_virtio_serial(index: int) -> str:
    """The key of the virtio-serial controller libvirt adds for index INDEX."""
    return f"virtio-serial{index}"


class Place(NamedTuple):
    """A device's place: a PCI bus and addr (slot, or slot.function), or a ccw devno
    (bus '')."""

    bus: str
    addr: str
    multifunction: bool | None = None

    @property
    def location(self) -> tuple[str, str]:
        return self.bus, self.addr


class Placement:
    """The finished placement of a domain: nothing changes it once assign returns (a
    plain class, not a frozen dataclass: importing dataclasses costs ~4 ms at every start
    of the CLI; setting an attribute raises dataclasses' FrozenInstanceError all the same).
    """

    machine: Machine | None
    family: MachineFamily | None
    # the storage controllers in libvirt's array order, implied ones included
    controllers: tuple[ControllerPlan, ...]
    # device element (or the name of a device libvirt adds: IMPLICIT_*, an implied
    # controller's alias) → its place
    places: Mapping[object, Place]
    usb0: tuple[str, str] | None  # where usb.0's controller sits, when placed
    usb_ports: UsbPorts | None  # the USB devices' ports and the hubs
    added_ccid: tuple[Controller, ...]  # the CCID controllers libvirt adds for smartcards
    zpci: Mapping[object, tuple[int, int]]
    # the -device options of the PCI controllers: the declared ones at their places,
    # then the root ports, bridges and pci-bridges libvirt adds
    pci_controllers: tuple[Option, ...]
    findings: tuple[Finding, ...]
    # 'pci.N' → the name libvirt gives bus N instead: its controller's user alias
    bus_names: Mapping[str, str]

    _FIELDS = (
        "machine",
        "family",
        "controllers",
        "places",
        "usb0",
        "usb_ports",
        "added_ccid",
        "zpci",
        "pci_controllers",
        "findings",
        "bus_names",
    )

    def __init__(
        self,
        machine: Machine | None = None,
        family: MachineFamily | None = None,
        controllers: tuple[ControllerPlan, ...] = (),
        places: Mapping[object, Place] | None = None,
        usb0: tuple[str, str] | None = None,
        usb_ports: UsbPorts | None = None,
        added_ccid: tuple[Controller, ...] = (),
        zpci: Mapping[object, tuple[int, int]] | None = None,
        pci_controllers: tuple[Option, ...] = (),
        findings: tuple[Finding, ...] = (),
        bus_names: Mapping[str, str] | None = None,
    ) -> None:
        values = self.__dict__
        values["machine"], values["family"] = machine, family
        values["controllers"] = controllers
        values["places"] = places if places is not None else MappingProxyType({})
        values["usb0"], values["usb_ports"] = usb0, usb_ports
        values["added_ccid"] = added_ccid
        values["zpci"] = zpci if zpci is not None else MappingProxyType({})
        values["pci_controllers"], values["findings"] = pci_controllers, findings
        values["bus_names"] = bus_names if bus_names is not None else MappingProxyType({})

    def __setattr__(self, name: str, value: object) -> None:
        from dataclasses import FrozenInstanceError  # only when someone tries

        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._FIELDS)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, name) for name in self._FIELDS))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._FIELDS)
        return f"Placement({shown})"

    @cached_property
    def _controller_at(self) -> dict[tuple[str, int], ControllerPlan]:
        found: dict[tuple[str, int], ControllerPlan] = {}
        for controller in self.controllers:
            found.setdefault((controller.type, controller.index), controller)
        return found

    def controller(self, type_: str, index: int) -> ControllerPlan | None:
        """The first storage controller of TYPE_ and INDEX (a look-up, not a scan: a
        domain of 1,000 disks asks it 1,000 times)."""
        return self._controller_at.get((type_, index))

    def place_of(self, device: object) -> Place | None:
        """The place of DEVICE (an element, a model object, or an implicit device's name)."""
        return self.places.get(getattr(device, "element", device))

    def location_of(self, device: object) -> tuple[str, str] | None:
        """(bus, addr) of DEVICE's place, or ('', devno) of a ccw one; None without one."""
        place = self.place_of(device)
        return place.location if place is not None else None


# bounded second passes: libvirt's dry run may add a pcie-pci-bridge (q35) or pci-bridges
# (pc) that the real pass must know from the start; a second pass never asks for a third
_MAX_PASSES = 2


def assign(domain: Domain, caps: CapsTable, host: Host | None = None) -> Placement:
    """Every device's place in DOMAIN for the release CAPS describes (HOST: the VM's host,
    not asked when None), in libvirt's order (qemuDomainAssignAddresses)."""
    del host  # libvirt asks the host nothing while it assigns addresses
    machine = caps.machine(domain.machine)
    if machine is None:
        return Placement()  # the plan says the machine is unknown
    family = caps.family_of(machine)
    again: tuple[tuple[tuple[int, ...], int] | None, int] = (None, 0)
    first: _Pass | None = None
    for _ in range(_MAX_PASSES):
        state = _Pass(domain, caps, machine, family, *again, first=first)
        state.run()
        if state.again is None:
            break
        again, first = state.again, state
    return state.result()


def written_place(family: MachineFamily | None, address: Address) -> tuple[str, str]:
    """(bus, addr) of a written <address type='pci'>, or ('', devno) of a ccw one;
    libvirt names PCI bus N 'pci.N' (the s390x root: its PCI host's bus)."""
    if address.type == "ccw":
        return "", ccw_text(address.cssid or 0, address.ssid or 0, address.devno or 0)
    bus = address.bus or 0
    root = family.root_bus if family else "pci.0"
    if bus == 0 and family is not None and family.libvirt_addressing == "ccw":
        root = pci_bus(family)
    return (
        root if bus == 0 else f"pci.{bus}",
        pci_address_text(address.slot or 0, address.function or 0),
    )


class _Pass:
    """One pass over the devices: the mutable state while places are taken."""

    def __init__(
        self,
        domain: Domain,
        caps: CapsTable,
        machine: Machine,
        family: MachineFamily,
        dry_run: tuple[tuple[int, ...], int] | None,
        pci_bridges: int,
        first: _Pass | None = None,
    ) -> None:
        """FIRST: the pass before this one, whose steps that do not depend on the PCI
        places (the storage controllers, the written places, the USB ports) this one
        takes over instead of doing them again."""
        self.domain, self.caps = domain, caps
        self.machine, self.family = machine, family
        self.dry_run, self.pci_bridges = dry_run, pci_bridges
        self.findings: list[Finding] = []
        self.places: dict[object, Place] = {}
        self.controllers: list[ControllerPlan] = []
        self.pcie: PcieRootPorts | None = None
        self.overflow: RootBusOverflow | None = None
        self.devnos: dict[object, str] = {}
        self.zpci: dict[object, tuple[int, int]] = {}
        self.usb0: tuple[str, str] | None = None
        self.usb_ports: UsbPorts | None = None
        self.added_ccid: list[Controller] = []
        self.pci_controllers: list[Option] = []
        # the next pass's (dry run, pci bridges), when this one found libvirt adds some
        self.again: tuple[tuple[tuple[int, ...], int] | None, int] | None = None
        self.first = first
        # what the steps a second pass takes over gave: the controllers' findings, the
        # places written in the XML
        self.controller_findings: list[Finding] = []
        self.written: dict[object, Place] = {}
        # the places taken on a PCI Express machine, in order: (key, QEMU device), and
        # the key whose place became usb0's, for a second pass that replays them
        self.taken: list[tuple[object, str]] = []
        self.usb0_key: object = None
        # the root-bus slots in use when the root ports were made (the same in a replay)
        self.root_used: set[int] = set()

    @cached_property
    def slots(self) -> PciSlots:
        """The root bus's slots (made when first asked: a q35 replay needs none)."""
        return PciSlots(self.family, self.domain, self.caps.has_flag("device-video-primary"))

    def result(self) -> Placement:
        renamed = _user_bus_names(self.domain)
        places, pci_controllers, usb0 = self.places, self.pci_controllers, self.usb0
        if renamed:
            places = {key: _renamed_place(place, renamed) for key, place in places.items()}
            pci_controllers = [_renamed_option(option, renamed) for option in pci_controllers]
            if usb0 is not None:
                usb0 = (renamed.get(usb0[0], usb0[0]), usb0[1])
        return Placement(
            machine=self.machine,
            family=self.family,
            controllers=tuple(self.controllers),
            places=MappingProxyType(dict(places)),
            usb0=usb0,
            usb_ports=self.usb_ports,
            added_ccid=tuple(self.added_ccid),
            zpci=MappingProxyType(dict(self.zpci)),
            pci_controllers=tuple(pci_controllers),
            findings=tuple(self.findings),
            bus_names=MappingProxyType(renamed),
        )

    @property
    def root_bus(self) -> str:
        return self.family.root_bus

    def run(self) -> None:
        """qemuDomainAssignAddresses' order, one step per kind of place."""
        domain, caps, family, first = self.domain, self.caps, self.family, self.first
        if first is not None and first.pcie is not None:
            self._replay(first)
            return
        self.slots  # noqa: B018 (read first, as before: a bad address is said at once)
        if first is not None:
            self.controllers = first.controllers
            self.controller_findings = first.controller_findings
            self.findings.extend(self.controller_findings)
            self.devnos, self.zpci = first.devnos, first.zpci
            self.written = first.written
            self.places.update(self.written)
        else:
            self.controllers = storage_controllers(domain, caps, family, self.findings)
            self.controller_findings = list(self.findings)
            if family.libvirt_addressing == "ccw":
                # the balloon libvirt adds unless the domain has a <memballoon>
                added = () if domain.memballoons else (IMPLICIT_BALLOON,)
                self.devnos = assign_devnos(domain, added)
                # libvirt's flag zpci is QEMU having the device type
                # (virQEMUCapsObjectTypes)
                if caps.has_flag("zpci") or caps.device("zpci") is not None:
                    self.zpci = assign_zpci(domain)
            self._written_places()
            self.written = dict(self.places)
        buses = self._declared_pci_buses()
        capacity = self._root_bus_overflow(buses) if family.libvirt_addressing == "root-bus" else 0
        if family.libvirt_addressing == "bridges" and caps.has_flag("pcie-root-port"):
            self.root_used = set(self.slots.used)
            self.pcie = PcieRootPorts(
                self.root_bus,
                set(self.root_used),
                needs_bridge=self.dry_run is not None,
                dry_run=self.dry_run,
                declared=buses,
                referenced=set(referenced_buses(domain)),
                shared_slots=shared_root_slots(domain) if buses else set(),
            )
            self._conventional_on_added_buses({bus.index for bus in buses})
        self._fixed_slots()
        self._controller_slots()
        self._usb0_controllers()
        self._added_virtio_serial()
        self._usb_ports()
        self._disk_slots()
        self._hostdev_slots()
        if self.pcie is not None or self.overflow is not None:
            self._trailing_devices()
        if self.pcie is not None:
            self._pcie_controllers()
        else:
            self._root_bus_controllers(buses, capacity)

    # --- the places themselves ------------------------------------------------------------

    def take(self, obj, device: str, key: object = None) -> tuple[str, str] | None:  # type: ignore[no-untyped-def]
        """(bus, addr) libvirt gives DEVICE (obj: its model object or element, for the
        findings) without a PCI address of its own; recorded under KEY (default: obj's
        element)."""
        pcie = self.pcie  # (set only where addressing is "bridges": _take would ask it)
        placed = pcie.place(device) if pcie is not None else self._take(obj, device)
        if placed is not None:
            key = getattr(obj, "element", obj) if key is None else key
            self.places[key] = Place(*placed)
            if pcie is not None:
                self.taken.append((key, device))
        return placed

    def _replay(self, first: _Pass) -> None:
        """q35's second pass, once the first found that libvirt adds a pcie-pci-bridge:
        the same steps in the same order, whose only difference is where the root ports
        put the devices (the bridge's port is taken first).  Everything else the first
        pass found stays (its findings: it said nothing after asking for this pass; the
        places not taken from the root ports; the controllers, the USB ports), so only
        the places taken are asked again, of new root ports, in the order they were
        taken; then usb.0's controllers (placed after its own) and the controllers'
        options, as the steps do."""
        self.findings = list(first.findings)
        self.controllers, self.controller_findings = first.controllers, first.controller_findings
        self.devnos, self.zpci = first.devnos, first.zpci
        self.added_ccid, self.usb_ports = first.added_ccid, first.usb_ports
        self.places = dict(first.places)  # the same keys in the same order
        said, self.findings = self.findings, []
        buses = self._declared_pci_buses()  # new buses (places are taken of them)
        self.findings = said  # (what it says, the first pass said)
        self.root_used = first.root_used  # (its declared buses took no root-bus slot)
        self.pcie = PcieRootPorts(
            self.root_bus,
            set(self.root_used),
            needs_bridge=True,
            dry_run=self.dry_run,
            declared=buses,
            referenced=set(referenced_buses(self.domain)),
            shared_slots=shared_root_slots(self.domain) if buses else set(),
        )
        for key, device in first.taken:
            placed = self.pcie.place(device)
            self.places[key] = Place(*placed)
            if key is first.usb0_key:
                self.usb0 = placed
        self._usb0_controllers()
        self._pcie_controllers()

    def _take(self, obj, device: str) -> tuple[str, str] | None:  # type: ignore[no-untyped-def]
        addressing = self.family.libvirt_addressing
        if addressing == "ccw":
            devno = self.devnos.get(getattr(obj, "element", None))
            if devno is None:
                self.findings.append(
                    finding_at(
                        "VX0900",
                        "error",
                        "this device has no channel-subsystem (ccw) address virtxlate can give it",
                        obj,
                        self.domain.source,
                    )
                )
                return None
            return "", devno
        if addressing == "none":
            self.findings.append(
                finding_at(
                    "VX0205",
                    "error",
                    f"machine '{self.machine.name}' has no PCI bus for this device",
                    obj,
                    self.domain.source,
                )
            )
            return None
        if self.pcie is not None:
            return self.pcie.place(device)
        if addressing == "bridges":
            self.findings.append(
                finding_at(
                    "VX0902",
                    "warning",
                    f"libvirt places PCI devices of a {self.family.name} machine behind bridges "
                    "it adds; virtxlate puts this one on the root bus, so its address may differ",
                    obj,
                    self.domain.source,
                    hint="give the device an explicit <address type='pci'>",
                )
            )
        slot = self.slots.take()
        if slot is not None:
            return self.root_bus, pci_address_text(slot)
        place = self.overflow.take() if self.overflow is not None else None
        if place is None:
            self.findings.append(
                finding_at(
                    "VX0205", "error", "no free PCI slot on the root bus", obj, self.domain.source
                )
            )
        return place

    def _written_places(self) -> None:
        """The places written in the XML (a PCI slot, a ccw devno), and the devnos
        libvirt gives on a channel-I/O machine: every device has its answer."""
        pci, ccw = addressed(self.domain, "pci"), addressed(self.domain, "ccw")
        # in document order: a domain has one kind or the other, else both are read again
        if pci and ccw:
            written = [
                (device, device.address)
                for device in self.domain.devices
                if device.address is not None and device.address.type in ("pci", "ccw")
            ]
        else:
            written = pci or ccw
        for device, address in written:
            try:
                if address.type == "pci" and address.slot is None:
                    continue  # libvirt gives it its place
                self.places[device.element] = Place(
                    *written_place(self.family, address), address.multifunction
                )
            except InvalidValue:
                continue  # the writer of that device says so
        for element, devno in self.devnos.items():
            self.places.setdefault(element, Place("", devno))

    # --- PCI controllers ----------------------------------------------------------------

    def _declared_pci_buses(self) -> list[DeclaredBus]:
        """The domain's PCI controllers; those virtxlate cannot write or place are said."""
        domain, caps = self.domain, self.caps
        buses, unknown = declared_buses(domain)
        for controller in unknown:
            if controller.model in DEFAULT_DEVICE:
                # written or (without an index) given index 0, the root bus's
                root = "pcie-root" if self.root_bus == "pcie.0" else "pci-root"
                self.findings.append(
                    finding_at(
                        "VX0100",
                        "error",
                        f"the PCI controller with index 0 must be model "
                        f"'{root}' for this machine type, not '{controller.model}' (libvirt: "
                        "\"The PCI controller with index='0' must be model=…\")",
                        controller,
                        domain.source,
                        hint=f"declare <controller type='pci' model='{root}'/>"
                        " before the controllers without an index, or give them indexes",
                    )
                )
                continue
            self.findings.append(
                finding_at(
                    "VX0900",
                    "warning",
                    f"PCI controller model '{controller.model}' is not translated by this "
                    "version of virtxlate; it is left out",
                    controller,
                    domain.source,
                )
            )
        addressing = self.family.libvirt_addressing
        # the controllers without an address virtxlate places as libvirt does
        placeable = {
            "root-bus": ("pci-bridge",),
            "bridges": ("pcie-root-port", "pcie-to-pci-bridge")
            if caps.has_flag("pcie-root-port")
            else (),
        }
        for bus in buses:
            if (
                bus.model == "pcie-root-port"
                and bus.controller.model_name is None
                and not caps.has_device("pcie-root-port")
            ):
                # qemuDomainPCIControllerSetDefaultModelName: ioh3420 before QEMU 2.9
                bus.device = "ioh3420"
            written = written_option(bus, self.root_bus, set())
            if (
                written is None
                and addressing == "bridges"
                and bus.is_port
                and bus.model == "pcie-root-port"
                and not caps.has_flag("pcie-root-port")
            ):
                self._root_port_on_root_bus(bus)
                continue
            if written is None and bus.model not in placeable.get(addressing, ()):
                self.findings.append(
                    finding_at(
                        "VX0902",
                        "warning",
                        f"virtxlate does not place a {bus.model} controller "
                        "without a PCI <address>; it is left out",
                        bus.controller,
                        domain.source,
                        hint="give it the address libvirt chose (virsh dumpxml shows it)",
                    )
                )
        return buses

    def _root_port_on_root_bus(self, bus: DeclaredBus) -> None:
        """A declared root port without an address on a release whose root ports virtxlate
        does not place as libvirt does (no pcie-root-port device: ioh3420's releases): the
        first free root-bus slot, so that the devices written behind it have their bus."""
        slot = self.slots.take()
        if slot is None:
            self.findings.append(
                finding_at(
                    "VX0205",
                    "error",
                    "no free PCI slot on the root bus for this root port",
                    bus.controller,
                    self.domain.source,
                )
            )
            return
        bus.placed = (self.root_bus, slot, 0)
        self.findings.append(
            finding_at(
                "VX0902",
                "warning",
                f"virtxlate gives this {bus.device} root port the first free "
                "slot of the root bus; libvirt's place may differ",
                bus.controller,
                self.domain.source,
                hint="give it the address libvirt chose (virsh dumpxml shows it)",
            )
        )

    def _root_bus_overflow(self, buses: list[DeclaredBus]) -> int:
        """pc: where devices go past a full root bus (self.overflow), the unaddressed
        declared pci-bridges' and the added bridges' root slots; the number of places
        libvirt's dry run has, one root slot kept for a possible bridge."""
        self.overflow = RootBusOverflow(buses)
        places = self.slots.free_at_start + sum(
            len(BRIDGE_SLOTS) - len(bus.used_slots) for bus in buses if bus.takes == "pci"
        )
        for bus in buses:
            # a declared pci-bridge without an address: libvirt gives the PCI controllers
            # their slots before any other device (checked with libvirt 9.0)
            if bus.model == "pci-bridge" and written_option(bus, "", set()) is None:
                slot = self.slots.take()
                if slot is not None:
                    bus.placed = (self.root_bus, slot, 0)
        too_high = next((bus for bus in buses if bus.index > PCI_MAX_INDEX), None)
        if too_high is not None:
            # libvirt's addressing gives a bridge to every bus number below it, then its
            # validation refuses the index (qemuValidateDomainDeviceDefControllerPCI;
            # checked with 9.0): no bridges added here, so that the answer comes at once
            self.findings.append(
                finding_at(
                    "VX0100",
                    "error",
                    f"PCI controller index {too_high.index} too high, maximum is "
                    f"{PCI_MAX_INDEX} (libvirt)",
                    too_high.controller,
                    self.domain.source,
                    xpath_suffix="/@index",
                )
            )
            return max(places - 1, 0)
        # the buses below the highest one declared or named by a written address that the
        # domain does not declare: libvirt adds a pci-bridge for each, in index order,
        # before the bridges its dry run asks for (checked with 9.0: a lone pci-bridge
        # index 2 gets pci.1 beside it)
        declared = {bus.index for bus in buses}
        referenced = {
            index: slots
            for index, slots in referenced_buses(self.domain).items()
            if index not in declared
        }
        last = max(referenced.keys() | declared, default=0)
        for index in range(1, last + 1):
            if index in declared:
                continue
            used = referenced.get(index, set())
            places += len(BRIDGE_SLOTS) - len(used)
            slot = self.slots.take()
            if slot is not None:
                self.overflow.added.append((index, "", slot))
            else:  # the root bus is full: on a bridge added before (checked with 9.0)
                place = self.overflow.take()
                if place is not None:
                    self.overflow.added.append((index, place[0], int(place[1], 16)))
            self.overflow.added_used[index] = set(used)
        first = max(declared | {last}) + 1
        for index in range(first, first + self.pci_bridges):
            slot = self.slots.take()
            if slot is not None:
                self.overflow.added.append((index, "", slot))
        return max(places - 1, 0)

    def _conventional_on_added_buses(self, declared: set[int]) -> None:
        """q35: a device written at a slot above 0 of a bus libvirt makes a root port is
        refused (below: a PCI Express one).  A conventional PCI device written on a bus
        above those the domain declares makes libvirt add PCI bridges for that bus
        (pcie-pci-bridge, pci-bridge behind it, checked with libvirt 9.0) where virtxlate
        adds a root port: at slot 0 libvirt refuses it ("Invalid PCI address … slot must
        be >= 1"), elsewhere virtxlate says its places may differ."""
        source = self.domain.source
        for device, address in addressed(self.domain, "pci"):
            try:
                bus, slot = address.bus or 0, address.slot or 0
                function = address.function or 0
            except InvalidValue:
                continue
            if bus == 0 or bus in declared:
                continue
            # a gap below the highest declared bus is a root port whatever sits on it, and
            # a PCI Express device's bus above them too: a port has slot 0 only
            if bus < max(declared, default=0) or is_pci_express(_pci_device(device)):
                if slot > 0:
                    self.findings.append(
                        finding_at(
                            "VX0100",
                            "error",
                            f"libvirt adds a root port for bus {bus}, which the "
                            f"domain does not declare, and a port has no slot {slot} (libvirt: "
                            f'"Invalid PCI address 0000:{bus:02x}:{slot:02x}.{function:x}. '
                            'slot must be <= 0")',
                            address,
                            source,
                            xpath_suffix="/@slot",
                        )
                    )
                continue
            if slot == 0:
                self.findings.append(
                    finding_at(
                        "VX0100",
                        "error",
                        f"a conventional PCI device at slot 0 of bus {bus}, which "
                        "the domain does not declare: libvirt adds a PCI bridge for that bus "
                        f'(libvirt: "Invalid PCI address 0000:{bus:02x}:00.0. slot must be >= 1")',
                        address,
                        source,
                        xpath_suffix="/@slot",
                    )
                )
            else:
                self.findings.append(
                    finding_at(
                        "VX0902",
                        "warning",
                        f"libvirt adds PCI bridges for bus {bus}, which the "
                        "domain does not declare, for this conventional PCI device; virtxlate "
                        "adds a root port, so the places may differ",
                        address,
                        source,
                        hint="declare the controller of that bus",
                    )
                )

    def _pcie_controllers(self) -> None:
        """q35: a second pass when a conventional device needs the bridge libvirt adds
        (its root port is taken first); else the controllers' options and what has no
        place."""
        assert self.pcie is not None
        if self.pcie.bridge is not None and self.dry_run is None:
            self.again = ((tuple(self.pcie.ports), self.pcie.bridge), 0)
            return
        self.pci_controllers = self.pcie.controller_options()
        for bus in self.pcie.unplaced_bridges:
            self.findings.append(
                finding_at(
                    "VX0205",
                    "error",
                    f"no empty root port for the {bus.model} controller "
                    f'index {bus.index} (libvirt 9.0: "Cannot automatically add a new PCI bus")',
                    bus.controller,
                    self.domain.source,
                    hint="declare a pcie-root-port for it, or give it an <address>",
                )
            )
        if self.pcie.full:
            self.findings.append(
                finding_at(
                    "VX0205",
                    "error",
                    "more PCI Express root ports than the root bus has places for",
                    self.domain,
                    self.domain.source,
                )
            )

    def _root_bus_controllers(self, buses: list[DeclaredBus], capacity: int) -> None:
        """pc: a second pass when the devices outnumber the dry run's places (libvirt
        adds a pci-bridge for every 31, plugged into their own free slots); else the
        declared controllers' options, then the bridges libvirt adds."""
        if self.overflow is not None:
            beyond = self.slots.requested - capacity
            if beyond > 0 and not self.pci_bridges and self.caps.has_flag("pci-bridge"):
                bridges = -(-beyond // len(BRIDGE_SLOTS))
                if beyond + bridges > bridges * len(BRIDGE_SLOTS):
                    self.findings.append(
                        finding_at(
                            "VX0205",
                            "error",
                            "libvirt finds no PCI slot for the pci-bridge it "
                            'adds for these devices (libvirt 9.0: "a PCI slot is needed to '
                            "connect a PCI controller model='pci-bridge', but none is "
                            'available")',
                            self.domain,
                            self.domain.source,
                            hint="declare the bridges with <controller type='pci' "
                            "model='pci-bridge'>, or give devices addresses",
                        )
                    )
                    return
                self.again = (None, bridges)
                return
        shared = shared_root_slots(self.domain) if buses else set()
        written = [
            option
            for option in (written_option(bus, self.root_bus, shared) for bus in buses)
            if option is not None
        ]
        added = self.overflow.added_options(self.root_bus) if self.overflow else []
        self.pci_controllers = written + added  # the declared controllers, then libvirt's

    # --- devices, in qemuDomainAssignDevicePCISlots' order ---------------------------------

    def _fixed_slots(self) -> None:
        """The devices at the slots the machine keeps for them (PciSlots reserves them):
        the primary video card (qemuDomainValidateDevicePCISlotsPIIX3/Q35; libvirt adds
        one for <graphics> without <video>) and the first ich9 sound card of q35."""
        root = self.root_bus
        sound = q35_sound(self.domain, self.family)
        if sound is not None:
            self.places[sound.element] = Place(root, pci_address_text(Q35_SOUND_SLOT))
        slot = self.family.video_slot
        if slot is None or slot in written_root_slots(self.domain):
            return  # (a written device there: libvirt places the card like any other)
        primary = primary_video(self.domain)
        if primary is None:
            if self.domain.graphics:
                self.places[IMPLICIT_VIDEO] = Place(root, pci_address_text(slot))
            return
        if primary.address is None and primary.model_name not in ("none", "ramfb"):
            self.places[primary.element] = Place(root, pci_address_text(slot))

    def _usb0_controllers(self) -> None:
        """The places of usb.0's controllers (libvirt's index 0: one controller, or an
        ich9 EHCI with its UHCI companions): the written one, the ich9 set's slot, the
        PIIX3's own UHCI (pc), or the slot the controller took."""
        at_zero = self._usb_at_zero
        q35 = self.family.name == "q35"
        unaddressed_ich9 = [
            c
            for c in at_zero
            if c.model in _ICH9_FUNCTIONS and (c.address is None or c.address.slot is None)
        ]
        for controller in at_zero:
            model = controller.model or "piix3-uhci"
            address = controller.address
            if (
                address is not None
                and address.type in ("pci", "ccw")
                and (address.type == "ccw" or address.slot is not None)
            ):
                multifunction = address.multifunction
                if (
                    multifunction is None
                    and address.type == "pci"
                    and not address.function
                    and sum(
                        1
                        for c in at_zero
                        if c.address is not None and c.address.slot == address.slot
                    )
                    > 1
                ):
                    multifunction = True  # virDomainPCIAddressSetAllMulti
                self.places[controller.element] = Place(
                    *written_place(self.family, address), multifunction
                )
            elif model in _ICH9_FUNCTIONS:
                if q35:
                    bus, slot = self.root_bus, _Q35_USB2_SLOT
                elif self.usb0 is not None:
                    bus, slot = self.usb0[0], int(self.usb0[1].split(".")[0], 16)
                else:
                    continue
                function = _ICH9_FUNCTIONS[model]
                shared = function == 0 and len(unaddressed_ich9) > 1
                self.places[controller.element] = Place(
                    bus, pci_address_text(slot, function), True if shared else None
                )
            elif model == "piix3-uhci" and not q35:
                if self.caps.has_flag("piix3-usb-uhci"):  # the PIIX3's own UHCI
                    self.places[controller.element] = Place(self.root_bus, pci_address_text(1, 2))
            elif self.usb0 is not None:
                self.places[controller.element] = Place(*self.usb0)

    def _controller_slots(self) -> None:
        """Slots in libvirt 9.0's order (checked with its domxml-to-native): filesystems,
        interfaces and sound first; then every controller that needs one, storage or not,
        in the controller array's order: the domain's own, then the USB controller libvirt
        adds to a q35 domain without one, then the storage controllers it implies.  The
        virtio disks come after."""
        express = self.pcie is not None
        others = non_storage_pci_devices(self.domain, self.family)
        for device in others["other"]:
            self.take(device, non_storage_device(device, express))
        by_element = {
            id(c.element.element): c
            for c in self.controllers
            if c.element is not None and needs_device(c)
        }
        wanted = set(by_element) | {id(device.element) for device in others["controller"]}
        # (type, index, what): the domain's controllers as libvirt's parser keeps them
        # (grouped by type, by index), then the USB controller libvirt adds and the
        # storage controllers it implies, appended in that order
        # (virDomainDefAddController appends; checked with libvirt 9.0: an implied lsi
        # comes after the added qemu-xhci); the groups' order comes from every controller,
        # those that take no slot included; controller_indexes: one without an index
        # takes the lowest its type has free
        for controller, index in controller_indexes(self.domain):
            if id(controller.element) not in wanted:
                continue
            if id(controller.element) in by_element:
                self._controller_slot(by_element[id(controller.element)], controller.address)
                continue
            # a non-storage controller
            placed = self.take(controller, non_storage_device(controller, express))
            if controller.type == "usb" and index == 0:
                self.usb0, self.usb0_key = placed, controller.element
        q35 = self.family.name == "q35"  # the machine type decides, not its addressing
        default_usb = q35_default_usb(self.caps) if q35 else None
        if default_usb is not None and self._implicit_usb():
            # libvirt adds a USB controller to a q35 domain that names none
            self.usb0 = self.take(self.domain, default_usb[1], IMPLICIT_USB)
            self.usb0_key = IMPLICIT_USB
        self._piix3_uhci()
        for implied in self.controllers:
            if implied.element is None and needs_device(implied):
                self._controller_slot(implied, None)

    def _piix3_uhci(self) -> None:
        """pc: the PIIX3's own UHCI at 00:01.2 (qemuDomainValidateDevicePCISlotsPIIX3),
        which libvirt adds at index 0 of a domain without one (its default model there)."""
        if (
            self.family.libvirt_addressing == "root-bus"
            and self.caps.has_flag("piix3-usb-uhci")
            and self._implicit_usb()
        ):
            self.places[IMPLICIT_USB] = Place(self.root_bus, pci_address_text(1, 2))

    def _controller_slot(self, controller: ControllerPlan, explicit) -> None:  # type: ignore[no-untyped-def]
        """A storage controller's place: its written PCI or ccw address, else libvirt's."""
        if explicit is not None and explicit.type in ("pci", "ccw"):
            self.places[controller.key] = Place(*written_place(self.family, explicit))
            return
        self.take(controller.element or self.domain, controller_device(controller), controller.key)

    def _implicit_usb(self) -> bool:
        """libvirt adds its default USB controller when none has index 0
        (virDomainDefAddImplicitControllers; checked with libvirt 9.0: a q35 domain with
        only a qemu-xhci of index 1 gets a qemu-xhci 'usb' beside it)."""
        return not self._usb_at_zero

    @cached_property
    def _usb_at_zero(self) -> list[Controller]:
        """The domain's USB controllers of index 0 (usb.0's: one, or an ich9 set)."""
        return [c for c, index in controller_indexes(self.domain) if c.type == "usb" and index == 0]

    def _added_virtio_serial(self) -> None:
        """The virtio-serial controllers libvirt adds for virtio <channel>s and <console>s
        (virDomainDefMaybeAddVirtioSerialController): one for each controller index they
        name (0 unless their address says) that the domain does not declare, appended to
        the controller array after those implied by disks; they take their PCI places
        before the virtio disks (checked with libvirt 9.0).  On s390x their devnos come
        after storage's."""
        if self.family.libvirt_addressing not in ("root-bus", "bridges"):
            return
        have = {
            index
            for controller, index in controller_indexes(self.domain)
            if controller.type == "virtio-serial"
        }
        for device in [*self.domain.channels, *self.domain.consoles]:
            if device.target_type != "virtio":
                continue
            address = device.address
            try:
                on_serial = address is not None and address.type == "virtio-serial"
                index = (address.controller or 0) if on_serial and address else 0
            except InvalidValue:
                continue  # the model refuses it
            if index not in have:
                have.add(index)
                self.take(self.domain, "virtio-serial-pci", implicit_virtio_serial(index))

    def _usb_ports(self) -> None:
        """qemuDomainAssignUSBAddresses: the ports of usb.0's devices (disks, inputs,
        sound cards, redirected and host devices) and the hubs, written or added."""
        if self.first is not None:  # the same in every pass
            self.added_ccid, self.usb_ports = self.first.added_ccid, self.first.usb_ports
            return
        q35 = q35_default_usb(self.caps) if self.family.name == "q35" else None
        default = q35[0] if q35 is not None else "piix3-uhci"
        self.added_ccid = added_ccid_controllers(self.domain)
        self.usb_ports = assign_usb_ports(self.domain, default, self.added_ccid)

    def _disk_slots(self) -> None:
        """The virtio disks without a written PCI or ccw address, in libvirt's disk order
        (virDomainDiskInsertPreAlloced), after the controllers."""
        for disk in disks_in_order(self.domain):
            if disk.bus != "virtio" or disk_index(disk.dev) is None:
                continue  # not on PCI, or refused for its target name (VX0204)
            written = disk.address
            if written is not None and written.type in ("pci", "ccw"):
                continue
            self.take(disk, f"virtio-blk-pci{transitional.model_suffix(disk.model)}")

    def _hostdev_slots(self) -> None:
        """The host devices on PCI without a written address, after the disks, in the
        domain's order (qemuDomainAssignDevicePCISlots): vhost-scsi, PCI (vfio-pci) and
        mediated vfio-pci devices."""
        for hostdev in self.domain.hostdevs:
            kind, source = hostdev.type, hostdev.source
            if kind == "scsi_host" and source is not None and source.protocol == "vhost":
                device = f"vhost-scsi-pci{transitional.model_suffix(hostdev.model)}"
            elif kind == "pci" or (kind == "mdev" and hostdev.model == "vfio-pci"):
                # libvirt connects one it cannot read on the host (and every mdev) as
                # PCI Express (qemuDomainDeviceCalculatePCIConnectFlags)
                device = "vfio-pci"
            else:
                continue
            address = hostdev.address
            if address is not None and address.type in ("pci", "ccw"):
                continue
            self.take(hostdev, device)

    def _trailing_devices(self) -> None:
        """The devices libvirt places after the disks: the virtio balloon it adds unless
        the domain says model='none' (one with an address of its own needs no place),
        then the rest in its order; they take root ports or slots storage might
        otherwise get."""
        express = self.pcie is not None
        balloon = self.domain.memballoon
        if balloon is None:
            self.take(self.domain, "virtio-balloon-pci", IMPLICIT_BALLOON)
        elif balloon.model != "none" and balloon.address is None:
            self.take(self.domain, non_storage_device(balloon, express), balloon.element)
        for device in trailing_pci_devices(self.domain):
            self.take(device, non_storage_device(device, express))
        # then the virtio memory devices (checked with libvirt 9.0: after the RNGs)
        for memory in self.domain.memory_devices:
            if memory.model in ("virtio-pmem", "virtio-mem") and memory.address is None:
                self.take(memory, f"{memory.model}-pci")


def _pci_device(device: Device) -> str:
    """The QEMU device of a device, as far as its PCI connection goes."""
    model = device.model if isinstance(device, Disk | Controller) else device.model_name
    if isinstance(device, Disk):
        return "virtio-blk-pci" + transitional.model_suffix(model)
    if isinstance(device, Controller) and device.type == "scsi":
        return SCSI_MODEL_DEVICES.get(model or "", "lsi")
    return non_storage_device(device, True)


def _user_bus_names(domain: Domain) -> dict[str, str]:
    """'pci.N' → the user alias of the PCI controller of index N, where it has one: libvirt
    names the bus after the controller's alias, as its id and in every bus= behind it
    (qemuBuildControllerDevProps; checked with libvirt 9.0)."""
    return {
        f"pci.{index}": controller.user_alias
        for controller, index in controller_indexes(domain)
        if controller.type == "pci" and index > 0 and controller.user_alias is not None
    }


def _renamed_place(place: Place, renamed: dict[str, str]) -> Place:
    return place._replace(bus=renamed.get(place.bus, place.bus))


def _renamed_option(option: Option, renamed: dict[str, str]) -> Option:
    """A PCI controller's -device with its id and bus under their user names."""
    option.props = [
        (
            key,
            renamed.get(value, value) if key in ("id", "bus") and isinstance(value, str) else value,
        )
        for key, value in option.props
    ]
    return option
