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

from collections.abc import Callable

from ..caps import CapsTable
from ..findings import finding_at
from ..host import Host, UnknownHost
from ..model import Domain
from ..names.scsi import libvirt_driver_name
from ..option import Option
from ..placement.assign import assign
from ..placement.usb import hub_options
from ..props.context import ControllerPlan, StoragePlan
from ..props.controllers import controller_options, usb_options
from ..props.disks import SUPPORTED_BUSES, ordered_disks, plan_disks
from ..props.domain import (
    default_options,
    display_options,
    iothread_objects,
    machine_options,
    memory_options,
    name_options,
    smp_options,
    uuid_options,
)
from ..props.firmware import plan_firmware
from ..props.hostdevs import plan_hostdevs

__all__ = [
    "PHASES",
    "SUPPORTED_BUSES",
    "ControllerPlan",
    "StoragePlan",
    "ordered_disks",
    "plan_storage",
]

Phase = Callable[[StoragePlan], list[Option]]


def _device_phases(plan: StoragePlan) -> dict[str, list[Option]]:
    """The devices' options by phase, built from the finished placement; the host devices
    after the disks, whose -blockdev nodes they number on."""
    placement = plan.placement
    phases = {
        "pci-controllers": list(placement.pci_controllers),
        "usb-controllers": usb_options(plan),
        "controllers": _as_libvirt_names(controller_options(plan)),
        "hubs": hub_options(placement.usb_ports) if placement.usb_ports else [],
    }
    phases["disks"] = _disk_options(plan)
    phases["hostdevs"] = plan_hostdevs(plan)
    return phases


# The whole command line in the order qemuBuildCommandLine writes it: each entry a phase
# name and its builder, or None for the device phases _device_phases builds together.
PHASES: tuple[tuple[str, Phase | None], ...] = (
    ("name", name_options),  # qemuBuildNameCommandLine, then -S
    ("pflash", lambda plan: list(plan.firmware)),  # qemuBuildPflashBlockdevCommandLine
    ("machine", machine_options),  # qemuBuildMachineCommandLine
    ("memory", memory_options),  # qemuBuildMemCommandLine
    ("smp", smp_options),  # qemuBuildSmpCommandLine
    ("uuid", uuid_options),
    ("display", lambda plan: display_options(plan.domain, plan.caps)),  # no <graphics>
    ("defaults", default_options),  # -no-user-config -nodefaults
    ("iothreads", lambda plan: iothread_objects(plan.domain, plan.caps)),
    ("pci-controllers", None),  # qemuBuildControllersCommandLine: type 'pci' first,
    ("usb-controllers", None),  # then USB,
    ("controllers", None),  # then the others
    ("hubs", None),  # qemuBuildHubCommandLine
    ("disks", None),  # qemuBuildDisksCommandLine
    ("hostdevs", None),  # qemuBuildHostdevCommandLine (the storage ones)
)


def _ordered(plan: StoragePlan, devices: dict[str, list[Option]]) -> list[Option]:
    """Every phase's options in PHASES' order; the device phases from DEVICES."""
    options: list[Option] = []
    for name, build in PHASES:
        options.extend(devices.get(name, ()) if build is None else build(plan))
    return options


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
        plan.options = _ordered(plan, {})
        return plan
    firmware = plan_firmware(domain, caps.storage_style == "blockdev")
    plan.firmware, plan.pflash = firmware.options, firmware.pflash
    plan.findings.extend(firmware.findings)
    plan.placement = assign(domain, caps, plan.host)
    plan.findings.extend(plan.placement.findings)
    plan.options = _ordered(plan, _device_phases(plan))
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
