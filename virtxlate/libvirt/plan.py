"""What libvirt gives QEMU for a domain's storage on one release: an ordered list of options.

Mirrors libvirt's qemuBuildCommandLine for the parts virtxlate covers: every device's
place first (placement.assign, as qemuDomainAssignAddresses), then the options of the
PCI controllers, the storage controllers (props/controllers.py), the disks
(props/disks.py) and the storage host devices (props/hostdevs.py), built from that
finished placement in the ``-drive`` or the ``-blockdev`` style the release's table
names, and put in the order of PHASES.  Facts that change per release come from the
capability table, never from version tests.
"""

from __future__ import annotations

from ..caps import CapsTable
from ..findings import finding_at
from ..host import Host, UnknownHost
from ..model import Domain
from ..placement.assign import assign
from ..placement.usb import hub_options
from ..props.controllers import controller_options, usb_options
from ..props.disks import SUPPORTED_BUSES, ordered_disks, plan_disks
from ..props.firmware import plan_firmware
from ..props.hostdevs import plan_hostdevs
from ..props.option import Option
from ..props.scsi import libvirt_driver_name
from .context import ControllerPlan, StoragePlan

__all__ = [
    "PHASES",
    "SUPPORTED_BUSES",
    "ControllerPlan",
    "StoragePlan",
    "ordered_disks",
    "plan_storage",
]

# The order libvirt writes the options virtxlate covers (qemuBuildCommandLine; the machine
# and the firmware are the argv writer's): the PCI controllers, declared and added
# (qemuBuildControllersCommandLine writes type 'pci' first), the USB controllers, the
# other controllers, the USB hubs (qemuBuildHubCommandLine), the disks
# (qemuBuildDisksCommandLine), the host devices (qemuBuildHostdevCommandLine).
PHASES = ("pci-controllers", "usb-controllers", "controllers", "hubs", "disks", "hostdevs")


def plan_storage(domain: Domain, caps: CapsTable, host: Host | None = None) -> StoragePlan:
    """Translate DOMAIN's storage for the release described by CAPS (HOST: the VM's host
    libvirt would ask about CD-ROM drives and device nodes; none is asked when None)."""
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
    plan.placement = assign(domain, caps, plan.host)
    plan.findings.extend(plan.placement.findings)
    phases: dict[str, list[Option]] = {
        "pci-controllers": list(plan.placement.pci_controllers),
        "usb-controllers": usb_options(plan),
        "controllers": _as_libvirt_names(controller_options(plan)),
        "hubs": hub_options(plan.placement.usb_ports) if plan.placement.usb_ports else [],
    }
    phases["disks"] = _disk_options(plan)
    phases["hostdevs"] = plan_hostdevs(plan)  # after the disks: it numbers nodes on
    plan.options = [option for phase in PHASES for option in phases[phase]]
    return plan


def _disk_options(plan: StoragePlan) -> list[Option]:
    """The disks' options: plan_disks writes them into plan.options, the floppy
    controller's at the start of its own (the -blockdev era's place for it)."""
    plan.options = []
    plan_disks(plan)
    return plan.options


def _as_libvirt_names(options: list[Option]) -> list[Option]:
    """The controllers' -device drivers as libvirt writes them, also where QEMU knows the
    type by another name (LIBVIRT_DRIVER_NAMES): argv shows what libvirt really gives
    QEMU, and QEMU's refusal follows from it."""
    for option in options:
        if option.flag == "-device" and option.implied is not None:
            option.implied = libvirt_driver_name(option.implied)
    return options
