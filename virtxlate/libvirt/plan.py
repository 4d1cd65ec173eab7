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
from ..props import chardev, display, fs, machine_devices, net, platform, virtio
from ..props import domain as domain_wide
from ..props.context import ControllerPlan, StoragePlan
from ..props.controllers import ccid_options, controller_options, usb_bus, usb_options
from ..props.disks import SUPPORTED_BUSES, ordered_disks, plan_disks
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


# The whole command line in the order libvirt 9.0's qemuBuildCommandLine writes it, each
# phase with its builder (props/*, reading the finished placement).  What exists only in
# a libvirt-run process (the master-key secret, the monitor, passed fds) has no phase.
PHASES: tuple[tuple[str, Phase], ...] = (
    ("name", domain_wide.name_options),  # qemuBuildNameCommandLine, then -S
    ("pflash", lambda plan: list(plan.firmware)),  # qemuBuildPflashBlockdevCommandLine
    ("machine", domain_wide.machine_options),  # qemuBuildMachineCommandLine, -accel
    ("cpu", domain_wide.cpu_options),  # qemuBuildCpuCommandLine
    ("bios", domain_wide.bios_options),  # qemuBuildDomainLoaderCommandLine (-bios)
    ("memory", domain_wide.memory_options),  # qemuBuildMemCommandLine, -overcommit
    ("smp", domain_wide.smp_options),  # qemuBuildSmpCommandLine
    ("iothreads", domain_wide.iothread_options),  # qemuBuildIOThreadCommandLine
    ("numa", domain_wide.numa_options),  # qemuBuildNumaCommandLine
    ("uuid", domain_wide.uuid_options),
    ("smbios", domain_wide.smbios_options),  # qemuBuildSmbiosCommandLine
    ("vmgenid", machine_devices.vmgenid_options),  # qemuBuildVMGenIDCommandLine
    ("display", domain_wide.display_options),  # -display none without <graphics>
    ("defaults", domain_wide.default_options),  # -no-user-config -nodefaults
    ("clock", domain_wide.clock_options),  # qemuBuildClockCommandLine
    ("pm", domain_wide.pm_options),  # qemuBuildPMCommandLine
    ("boot", domain_wide.boot_options),  # qemuBuildBootCommandLine, -kernel …
    ("iommu", virtio.iommu_options),  # qemuBuildIOMMUCommandLine
    ("pci-controllers", lambda plan: list(plan.placement.pci_controllers)),
    ("usb-controllers", usb_options),  # qemuBuildControllersCommandLine: pci, usb,
    ("controllers", lambda plan: _as_libvirt_names(controller_options(plan))),  # the rest
    ("memory-devices", platform.memory_device_options),  # qemuBuildMemoryDeviceCommandLine
    (
        "hubs",
        lambda plan: (
            hub_options(plan.placement.usb_ports, usb_bus(plan, 0))
            if plan.placement.usb_ports
            else []
        ),
    ),
    ("ccid", ccid_options),  # after the hubs: on the USB bus (qemuBuildCommandLine)
    ("disks", _disk_options),  # qemuBuildDisksCommandLine
    ("filesystems", fs.filesystem_options),  # qemuBuildFilesystemCommandLine
    ("net", net.net_options),  # qemuBuildNetCommandLine
    ("smartcards", chardev.smartcard_options),  # qemuBuildSmartcardCommandLine
    ("serials", chardev.serial_options),  # qemuBuildSerialCommandLine
    ("parallels", chardev.parallel_options),  # qemuBuildParallelsCommandLine
    ("channels", chardev.channel_options),  # qemuBuildChannelsCommandLine
    ("consoles", chardev.console_options),  # qemuBuildConsoleCommandLine
    ("tpms", chardev.tpm_options),  # qemuBuildTPMsCommandLine
    ("inputs", display.input_options),  # qemuBuildInputCommandLine
    ("audio", display.audio_options),  # qemuBuildAudioCommandLine
    ("graphics", display.graphics_options),  # qemuBuildGraphicsCommandLine
    ("videos", display.video_options),  # qemuBuildVideoCommandLine
    ("sounds", display.sound_options),  # qemuBuildSoundCommandLine
    ("watchdogs", platform.watchdog_options),  # qemuBuildWatchdogCommandLine
    ("redirdevs", chardev.redirdev_options),  # qemuBuildRedirdevCommandLine
    ("hostdevs", plan_hostdevs),  # qemuBuildHostdevCommandLine, all kinds in the domain's order
    ("memballoon", virtio.memballoon_options),  # qemuBuildMemballoonCommandLine
    ("rngs", virtio.rng_options),  # qemuBuildRNGCommandLine
    ("vmcoreinfo", machine_devices.vmcoreinfo_options),  # qemuBuildVMCoreInfoCommandLine
    ("launch-security", domain_wide.launch_security_options),  # qemuBuildSecCommandLine
    ("sandbox", domain_wide.sandbox_options),  # qemuBuildSeccompSandboxCommandLine
    ("panic", platform.panic_options),  # qemuBuildPanicCommandLine
    ("shmem", platform.shmem_options),  # qemuBuildShmemCommandLine
    ("vsock", virtio.vsock_options),  # qemuBuildVsockCommandLine
    ("msg", domain_wide.msg_options),  # -msg timestamp=on
)
_NAMES = [name for name, _ in PHASES]
DEVICE_PHASES = frozenset(_NAMES[_NAMES.index("iommu") :])  # placed devices, from iommu on


# the builders of every phase, and of the domain-wide ones, in PHASES' order
_BUILDERS = tuple(build for _, build in PHASES)
_DOMAIN_WIDE_BUILDERS = tuple(build for name, build in PHASES if name not in DEVICE_PHASES)


def _ordered(plan: StoragePlan, devices: bool) -> list[Option]:
    """Every phase's options in PHASES' order; without DEVICES (no machine: nothing is
    placed) only the domain-wide ones."""
    options: list[Option] = []
    for build in _BUILDERS if devices else _DOMAIN_WIDE_BUILDERS:
        options += build(plan)
    return options


def plan_storage(domain: Domain, caps: CapsTable, host: Host | None = None) -> StoragePlan:
    """Translate DOMAIN's storage for the release described by CAPS (HOST: the VM's host
    libvirt would ask about CD-ROM drives and device nodes; none is asked when None).
    What only the written line shows is made when an option's props are first read
    (Option.defer), from the domain as it is then: write to DOMAIN only after."""
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
        plan.options = _ordered(plan, devices=False)
        return plan
    firmware = plan_firmware(domain, caps.storage_style == "blockdev")
    plan.firmware, plan.pflash = firmware.options, firmware.pflash
    plan.findings.extend(firmware.findings)
    plan.placement = assign(domain, caps, plan.host)
    plan.findings.extend(plan.placement.findings)
    plan.options = _ordered(plan, devices=True)
    return plan
