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
from ..model import Domain
from .addresses import PciSlots, non_storage_device
from .ccw import assign_devnos
from .context import ControllerPlan, StoragePlan, take_slot, unsupported
from .controllers import (
    assign_controller_slots,
    controller_options,
    plan_controllers,
    usb_options,
)
from .disks import SUPPORTED_BUSES, ordered_disks, plan_disks
from .host import Host, LocalHost
from .hostdevs import plan_hostdevs
from .pcibuses import DeclaredBus, declared_buses, shared_root_slots, written_option
from .pcie import PcieRootPorts
from .usb import assign_usb_ports, hub_options
from .zpci import assign_zpci

__all__ = ["SUPPORTED_BUSES", "ControllerPlan", "StoragePlan", "ordered_disks", "plan_storage"]


def plan_storage(domain: Domain, caps: CapsTable, host: Host | None = None,
                 needs_bridge: bool = False) -> StoragePlan:
    """Translate DOMAIN's storage for the release described by CAPS (HOST: the machine
    libvirt would ask about CD-ROM drives; this one when None)."""
    machine = caps.machine(domain.machine)
    plan = StoragePlan(
        host=host or LocalHost(),
        caps=caps, domain=domain, machine=machine,
        # libvirt canonicalizes an alias such as 'pc' to the versioned type at define time.
        machine_name=machine.name if machine else (domain.machine or ""),
        family=caps.family_of(machine) if machine else None,
        accel="kvm" if domain.type == "kvm" else "tcg",
    )
    if machine is None:
        plan.findings.append(finding_at(
            "VX0301", "error",
            f"machine type '{domain.machine}' does not exist in QEMU {caps.version}",
            domain, domain.source, xpath_suffix="/os/type/@machine",
            hint="known: " + ", ".join(m.alias or m.name for m in caps.machines if m.alias)))
        return plan
    plan_controllers(plan)
    assert plan.family is not None
    plan.slots = PciSlots(plan.family, domain, caps.has_flag("device-video-primary"))
    if plan.family.libvirt_addressing == "ccw":
        plan.devnos = assign_devnos(domain)
        # libvirt's flag zpci is QEMU having the device type (virQEMUCapsObjectTypes)
        if caps.has_flag("zpci") or caps.device("zpci") is not None:
            plan.zpci = assign_zpci(domain)
    buses = _declared_pci_buses(plan)
    if plan.family.libvirt_addressing == "bridges" and caps.has_flag("pcie-root-port"):
        plan.pcie = PcieRootPorts(plan.family.root_bus, set(plan.slots.used),
                                  needs_bridge=needs_bridge, declared=buses,
                                  shared_slots=shared_root_slots(domain))
    assign_controller_slots(plan)
    # qemuBuildControllersCommandLine: USB controllers come before the SCSI ones
    plan.options.extend(usb_options(plan))
    plan.options.extend(controller_options(plan))
    if any(disk.bus == "usb" for disk in domain.disks):
        plan.usb_ports = assign_usb_ports(
            domain, "qemu-xhci" if plan.pcie is not None else "piix3-uhci")
        plan.options.extend(hub_options(plan.usb_ports))
    plan_disks(plan)
    plan.options.extend(plan_hostdevs(plan))
    if plan.pcie is not None:
        balloon = domain.element.find("devices/memballoon")
        if balloon is None:
            # the virtio balloon libvirt adds takes a root port after the disks
            take_slot(plan, domain, "virtio-balloon-pci")
        elif balloon.get("model") != "none" and balloon.find("address") is None:
            take_slot(plan, domain, non_storage_device(balloon, True))
        if plan.pcie.bridge is not None and not needs_bridge:
            # a conventional PCI device needs the bridge, whose root port libvirt takes
            # first: place everything again knowing it
            return plan_storage(domain, caps, host, needs_bridge=True)
        plan.options[0:0] = plan.pcie.controller_options()
        if plan.pcie.full:
            plan.findings.append(finding_at(
                "VX0205", "error", "more PCI Express root ports than the root bus has "
                "places for", domain, domain.source))
    else:
        shared = shared_root_slots(domain)
        plan.options[0:0] = [option for option in (
            written_option(bus, plan.family.root_bus, shared) for bus in buses) if option]
    return plan


def _declared_pci_buses(plan: StoragePlan) -> list[DeclaredBus]:
    """The domain's PCI controllers; those virtxlate cannot write or place are said."""
    buses, unknown = declared_buses(plan.domain)
    for controller in unknown:
        plan.findings.append(unsupported(
            plan, controller, f"PCI controller model '{controller.model}'"))
    placeable = plan.family is not None and plan.family.libvirt_addressing == "bridges" \
        and plan.caps.has_flag("pcie-root-port")
    for bus in buses:
        written = written_option(bus, plan.family.root_bus if plan.family else "", set())
        if written is None and not (placeable and bus.model == "pcie-root-port"):
            plan.findings.append(finding_at(
                "VX0902", "warning", f"virtxlate does not place a {bus.model} controller "
                "without a PCI <address>; it is left out", bus.controller, plan.domain.source,
                hint="give it the address libvirt chose (virsh dumpxml shows it)"))
    return buses
