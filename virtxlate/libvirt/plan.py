"""What libvirt gives QEMU for a domain's storage on one release: an ordered list of options.

Mirrors libvirt's qemuBuildCommandLine for the parts virtxlate covers: the machine,
the storage controllers (controllers.py), the disks (disks.py) and the storage host
devices (hostdevs.py), in the ``-drive`` or the ``-blockdev`` style the release's table
names.  Facts that change per release come from the capability table, never from version
tests.
"""

from __future__ import annotations

from ..caps import CapsTable
from ..findings import finding_at
from ..host import Host, UnknownHost
from ..model import Domain
from ..model.fields import XmlObject
from ..placement.addresses import (
    PciSlots,
    controller_indexes,
    non_storage_device,
    trailing_pci_devices,
)
from ..placement.ccw import assign_devnos
from ..placement.pcibuses import (
    BRIDGE_SLOTS,
    DEFAULT_DEVICE,
    DeclaredBus,
    RootBusOverflow,
    declared_buses,
    referenced_buses,
    shared_root_slots,
    written_option,
)
from ..placement.pcie import PcieRootPorts, is_pci_express
from ..placement.usb import assign_usb_ports, hub_options
from ..placement.zpci import assign_zpci
from ..props import transitional
from ..props.controllers import (
    assign_controller_slots,
    controller_options,
    plan_controllers,
    usb_options,
)
from ..props.disks import SUPPORTED_BUSES, ordered_disks, plan_disks
from ..props.firmware import plan_firmware
from ..props.hostdevs import plan_hostdevs
from ..props.option import Option
from ..props.scsi import SCSI_MODEL_DEVICES, libvirt_driver_name
from .context import ControllerPlan, StoragePlan, take_slot, unsupported

__all__ = ["SUPPORTED_BUSES", "ControllerPlan", "StoragePlan", "ordered_disks", "plan_storage"]


def plan_storage(
    domain: Domain,
    caps: CapsTable,
    host: Host | None = None,
    dry_run: tuple[tuple[int, ...], int] | None = None,
    pci_bridges: int = 0,
) -> StoragePlan:
    """Translate DOMAIN's storage for the release described by CAPS (HOST: the VM's host
    libvirt would ask about CD-ROM drives and device nodes; none is asked when None).
    DRY_RUN and PCI_BRIDGES are for the second pass, when the first found that libvirt
    adds a pcie-pci-bridge (q35: the root ports and the bridge index its dry run added)
    or that many pci-bridges (pc)."""
    needs_bridge = dry_run is not None
    machine = caps.machine(domain.machine)
    plan = StoragePlan(
        host=host or UnknownHost(),
        caps=caps,
        domain=domain,
        machine=machine,
        # libvirt canonicalizes an alias such as 'pc' to the versioned type at define time.
        machine_name=machine.name if machine else (domain.machine or ""),
        family=caps.family_of(machine) if machine else None,
        accel="kvm" if domain.type == "kvm" else "tcg",
    )
    if machine is None:
        plan.findings.append(
            finding_at(
                "VX0301",
                "error",
                f"machine type '{domain.machine}' does not exist in QEMU {caps.version}",
                domain,
                domain.source,
                xpath_suffix="/os/type/@machine",
                hint="known: " + ", ".join(m.alias or m.name for m in caps.machines if m.alias),
            )
        )
        return plan
    firmware = plan_firmware(domain, caps.storage_style == "blockdev")
    plan.firmware, plan.pflash = firmware.options, firmware.pflash
    plan.findings.extend(firmware.findings)
    plan_controllers(plan)
    assert plan.family is not None
    plan.slots = PciSlots(plan.family, domain, caps.has_flag("device-video-primary"))
    if plan.family.libvirt_addressing == "ccw":
        plan.devnos = assign_devnos(domain)
        # libvirt's flag zpci is QEMU having the device type (virQEMUCapsObjectTypes)
        if caps.has_flag("zpci") or caps.device("zpci") is not None:
            plan.zpci = assign_zpci(domain)
    buses = _declared_pci_buses(plan)
    capacity = (
        _root_bus_overflow(plan, buses, pci_bridges)
        if plan.family.libvirt_addressing == "root-bus"
        else 0
    )
    if plan.family.libvirt_addressing == "bridges" and caps.has_flag("pcie-root-port"):
        plan.pcie = PcieRootPorts(
            plan.family.root_bus,
            set(plan.slots.used),
            needs_bridge=needs_bridge,
            dry_run=dry_run,
            declared=buses,
            referenced=set(referenced_buses(domain)),
            shared_slots=shared_root_slots(domain) if buses else set(),
        )
        _conventional_on_added_buses(plan, {bus.index for bus in buses})
    assign_controller_slots(plan)
    _added_virtio_serial(plan)
    # qemuBuildControllersCommandLine: USB controllers come before the SCSI ones
    plan.options.extend(usb_options(plan))
    plan.options.extend(_as_libvirt_names(controller_options(plan)))
    usb_default = "qemu-xhci" if plan.pcie is not None else "piix3-uhci"
    if any(disk.bus == "usb" for disk in domain.disks):
        plan.usb_ports = assign_usb_ports(domain, usb_default)
        plan.options.extend(hub_options(plan.usb_ports))
    elif any(
        "." in node.get("port", "")
        for node in domain.element.iterfind("devices/*/address[@type='usb']")
    ):
        # no USB storage to write, but a port behind a hub that libvirt refuses
        assign_usb_ports(domain, usb_default)
    plan_disks(plan)
    plan.options.extend(plan_hostdevs(plan))
    if plan.pcie is not None or plan.overflow is not None:
        _place_trailing_devices(plan)
    if plan.pcie is not None:
        if plan.pcie.bridge is not None and not needs_bridge:
            # a conventional PCI device needs the bridge, whose root port libvirt takes
            # first: place everything again knowing it
            return plan_storage(
                domain, caps, host, dry_run=(tuple(plan.pcie.ports), plan.pcie.bridge)
            )
        plan.options[0:0] = plan.pcie.controller_options()
        for bus in plan.pcie.unplaced_bridges:
            plan.findings.append(
                finding_at(
                    "VX0205",
                    "error",
                    f"no empty root port for the {bus.model} controller "
                    f'index {bus.index} (libvirt 9.0: "Cannot automatically add a new PCI bus")',
                    bus.controller,
                    domain.source,
                    hint="declare a pcie-root-port for it, or give it an <address>",
                )
            )
        if plan.pcie.full:
            plan.findings.append(
                finding_at(
                    "VX0205",
                    "error",
                    "more PCI Express root ports than the root bus has places for",
                    domain,
                    domain.source,
                )
            )
    else:
        if plan.overflow is not None:
            beyond = plan.slots.requested - capacity
            if beyond > 0 and not pci_bridges and caps.has_flag("pci-bridge"):
                # more devices than the dry run's places: libvirt adds a pci-bridge for
                # every 31, and its dry run plugs them into their own free slots
                bridges = -(-beyond // len(BRIDGE_SLOTS))
                if beyond + bridges > bridges * len(BRIDGE_SLOTS):
                    plan.findings.append(
                        finding_at(
                            "VX0205",
                            "error",
                            "libvirt finds no PCI slot for the pci-bridge it "
                            'adds for these devices (libvirt 9.0: "a PCI slot is needed to '
                            "connect a PCI controller model='pci-bridge', but none is "
                            'available")',
                            domain,
                            domain.source,
                            hint="declare the bridges with <controller type='pci' "
                            "model='pci-bridge'>, or give devices addresses",
                        )
                    )
                    return plan
                return plan_storage(domain, caps, host, pci_bridges=bridges)
        shared = shared_root_slots(domain) if buses else set()
        written = [
            option
            for option in (written_option(bus, plan.family.root_bus, shared) for bus in buses)
            if option is not None
        ]
        added = plan.overflow.added_options(plan.family.root_bus) if plan.overflow else []
        plan.options[0:0] = written + added  # the declared controllers, then libvirt's
    return plan


def _conventional_on_added_buses(plan: StoragePlan, declared: set[int]) -> None:
    """q35: a device written at a slot above 0 of a bus libvirt makes a root port is
    refused (below: a PCI Express one).  A conventional PCI device written on a bus above
    those the domain declares
    makes libvirt add PCI bridges for that bus (pcie-pci-bridge, pci-bridge behind it, checked
    with libvirt 9.0) where virtxlate adds a root port: at slot 0 libvirt refuses it
    ("Invalid PCI address … slot must be >= 1"), elsewhere virtxlate says its places may
    differ."""
    for node in plan.domain.element.iterfind(".//devices/*/address[@type='pci']"):
        try:
            bus = int(node.get("bus", "0"), 0)
            slot = int(node.get("slot", "0"), 0)
        except ValueError:
            continue
        device = node.getparent()
        if bus == 0 or bus in declared or device is None:
            continue
        # a gap below the highest declared bus is a root port whatever sits on it, and a
        # PCI Express device's bus above them too: a port has slot 0 only
        if bus < max(declared, default=0) or is_pci_express(_pci_device(device)):
            if slot > 0:
                plan.findings.append(
                    finding_at(
                        "VX0100",
                        "error",
                        f"libvirt adds a root port for bus {bus}, which the "
                        f"domain does not declare, and a port has no slot {slot} (libvirt: "
                        f'"Invalid PCI address 0000:{bus:02x}:{slot:02x}.{_function(node)}. '
                        'slot must be <= 0")',
                        XmlObject(node),
                        plan.domain.source,
                        xpath_suffix="/@slot",
                    )
                )
            continue
        if slot == 0:
            plan.findings.append(
                finding_at(
                    "VX0100",
                    "error",
                    f"a conventional PCI device at slot 0 of bus {bus}, which "
                    "the domain does not declare: libvirt adds a PCI bridge for that bus "
                    f'(libvirt: "Invalid PCI address 0000:{bus:02x}:00.0. slot must be >= 1")',
                    XmlObject(node),
                    plan.domain.source,
                    xpath_suffix="/@slot",
                )
            )
        else:
            plan.findings.append(
                finding_at(
                    "VX0902",
                    "warning",
                    f"libvirt adds PCI bridges for bus {bus}, which the "
                    "domain does not declare, for this conventional PCI device; virtxlate adds a "
                    "root port, so the places may differ",
                    XmlObject(node),
                    plan.domain.source,
                    hint="declare the controller of that bus",
                )
            )


def _function(node) -> str:  # type: ignore[no-untyped-def]
    """The function of an address element as libvirt prints it (hex)."""
    try:
        return f"{int(node.get('function') or '0', 0):x}"
    except ValueError:
        return "0"


def _pci_device(node) -> str:  # type: ignore[no-untyped-def]
    """The QEMU device of a device element, as far as its PCI connection goes."""
    model = node.get("model") or node.xpath("string(model/@type)")
    if node.tag == "disk":
        return "virtio-blk-pci" + transitional.model_suffix(model)
    if node.tag == "controller" and node.get("type") == "scsi":
        return SCSI_MODEL_DEVICES.get(model or "", "lsi")
    return non_storage_device(node, True)


def _added_virtio_serial(plan: StoragePlan) -> None:
    """The virtio-serial controllers libvirt adds for virtio <channel>s and <console>s
    (virDomainDefMaybeAddVirtioSerialController): one for each controller index they name
    (0 unless their address says) that the domain does not declare, appended to the
    controller array after those implied by disks; they take their PCI places before the
    virtio disks (checked with libvirt 9.0).  On s390x their devnos come after storage's."""
    assert plan.family is not None
    devices = plan.domain.element.find("devices")
    if plan.family.libvirt_addressing not in ("root-bus", "bridges") or devices is None:
        return
    have = {
        index
        for controller, index in controller_indexes(plan.domain)
        if controller.type == "virtio-serial"
    }
    for tag in ("channel", "console"):
        for node in devices.iterfind(tag):
            if node.find("target[@type='virtio']") is None:
                continue
            address = node.find("address[@type='virtio-serial']")
            try:
                index = int(address.get("controller", "0")) if address is not None else 0
            except ValueError:
                continue  # the model refuses it
            if index not in have:
                have.add(index)
                take_slot(plan, plan.domain, "virtio-serial-pci")


def _as_libvirt_names(options: list[Option]) -> list[Option]:
    """The controllers' -device drivers as libvirt writes them, also where QEMU knows the
    type by another name (LIBVIRT_DRIVER_NAMES): argv shows what libvirt really gives
    QEMU, and QEMU's refusal follows from it."""
    for option in options:
        if option.flag == "-device" and option.implied is not None:
            option.implied = libvirt_driver_name(option.implied)
    return options


def _root_bus_overflow(plan: StoragePlan, buses: list[DeclaredBus], pci_bridges: int) -> int:
    """pc: where devices go past a full root bus (plan.overflow), the unaddressed declared
    pci-bridges' and PCI_BRIDGES added bridges' root slots; the number of places
    libvirt's dry run has, one root slot kept for a possible bridge."""
    assert plan.slots is not None and plan.family is not None
    plan.overflow = RootBusOverflow(buses)
    places = plan.slots.free_at_start + sum(
        len(BRIDGE_SLOTS) - len(bus.used_slots) for bus in buses if bus.takes == "pci"
    )
    for bus in buses:
        # a declared pci-bridge without an address: libvirt gives the PCI controllers
        # their slots before any other device (checked with libvirt 9.0)
        if bus.model == "pci-bridge" and written_option(bus, "", set()) is None:
            slot = plan.slots.take()
            if slot is not None:
                bus.placed = (plan.family.root_bus, slot, 0)
    # the buses below the highest one declared or named by a written address that the
    # domain does not declare: libvirt adds a pci-bridge for each, in index order, before
    # the bridges its dry run asks for (checked with 9.0: a lone pci-bridge index 2 gets
    # pci.1 beside it)
    declared = {bus.index for bus in buses}
    referenced = {
        index: slots
        for index, slots in referenced_buses(plan.domain).items()
        if index not in declared
    }
    last = max(referenced.keys() | declared, default=0)
    for index in range(1, last + 1):
        if index in declared:
            continue
        used = referenced.get(index, set())
        places += len(BRIDGE_SLOTS) - len(used)
        slot = plan.slots.take()
        if slot is not None:
            plan.overflow.added.append((index, "", slot))
        else:  # the root bus is full: on a bridge added before (checked with 9.0)
            place = plan.overflow.take()
            if place is not None:
                plan.overflow.added.append((index, place[0], int(place[1], 16)))
        plan.overflow.added_used[index] = set(used)
    first = max(declared | {last}) + 1
    for index in range(first, first + pci_bridges):
        slot = plan.slots.take()
        if slot is not None:
            plan.overflow.added.append((index, "", slot))
    return max(places - 1, 0)


def _place_trailing_devices(plan: StoragePlan) -> None:
    """The devices libvirt places after the disks: the virtio balloon it adds unless the
    domain says model='none' (one with an address of its own needs no place), then the
    rest in its order; they take root ports or slots storage might otherwise get."""
    domain, express = plan.domain, plan.pcie is not None
    balloon = domain.element.find("devices/memballoon")
    if balloon is None:
        take_slot(plan, domain, "virtio-balloon-pci")
    elif balloon.get("model") != "none" and balloon.find("address") is None:
        take_slot(plan, domain, non_storage_device(balloon, express))
    for node in trailing_pci_devices(domain):
        take_slot(plan, XmlObject(node), non_storage_device(node, express))


def _root_port_on_root_bus(plan: StoragePlan, bus: DeclaredBus) -> None:
    """A declared root port without an address on a release whose root ports virtxlate
    does not place as libvirt does (no pcie-root-port device: ioh3420's releases): the
    first free root-bus slot, so that the devices written behind it have their bus."""
    assert plan.slots is not None and plan.family is not None
    slot = plan.slots.take()
    if slot is None:
        plan.findings.append(
            finding_at(
                "VX0205",
                "error",
                "no free PCI slot on the root bus for this root port",
                bus.controller,
                plan.domain.source,
            )
        )
        return
    bus.placed = (plan.family.root_bus, slot, 0)
    plan.findings.append(
        finding_at(
            "VX0902",
            "warning",
            f"virtxlate gives this {bus.device} root port the first free "
            "slot of the root bus; libvirt's place may differ",
            bus.controller,
            plan.domain.source,
            hint="give it the address libvirt chose (virsh dumpxml shows it)",
        )
    )


def _declared_pci_buses(plan: StoragePlan) -> list[DeclaredBus]:
    """The domain's PCI controllers; those virtxlate cannot write or place are said."""
    buses, unknown = declared_buses(plan.domain)
    for controller in unknown:
        if controller.model in DEFAULT_DEVICE:
            # written or (without an index) given index 0, the root bus's
            root = (
                "pcie-root"
                if plan.family is not None and plan.family.root_bus == "pcie.0"
                else "pci-root"
            )
            plan.findings.append(
                finding_at(
                    "VX0100",
                    "error",
                    f"the PCI controller with index 0 must be model "
                    f"'{root}' for this machine type, not '{controller.model}' (libvirt: "
                    "\"The PCI controller with index='0' must be model=…\")",
                    controller,
                    plan.domain.source,
                    hint=f"declare <controller type='pci' model='{root}'/>"
                    " before the controllers without an index, or give them indexes",
                )
            )
            continue
        plan.findings.append(
            unsupported(plan, controller, f"PCI controller model '{controller.model}'")
        )
    addressing = plan.family.libvirt_addressing if plan.family else ""
    # the controllers without an address virtxlate places as libvirt does
    placeable = {
        "root-bus": ("pci-bridge",),
        "bridges": ("pcie-root-port", "pcie-to-pci-bridge")
        if plan.caps.has_flag("pcie-root-port")
        else (),
    }
    for bus in buses:
        if (
            bus.model == "pcie-root-port"
            and bus.controller.model_name is None
            and not plan.caps.has_device("pcie-root-port")
        ):
            # qemuDomainPCIControllerSetDefaultModelName: ioh3420 before QEMU 2.9
            bus.device = "ioh3420"
        written = written_option(bus, plan.family.root_bus if plan.family else "", set())
        if (
            written is None
            and addressing == "bridges"
            and bus.is_port
            and bus.model == "pcie-root-port"
            and not plan.caps.has_flag("pcie-root-port")
        ):
            _root_port_on_root_bus(plan, bus)
            continue
        if written is None and bus.model not in placeable.get(addressing, ()):
            plan.findings.append(
                finding_at(
                    "VX0902",
                    "warning",
                    f"virtxlate does not place a {bus.model} controller "
                    "without a PCI <address>; it is left out",
                    bus.controller,
                    plan.domain.source,
                    hint="give it the address libvirt chose (virsh dumpxml shows it)",
                )
            )
    return buses
