"""The domain-wide options libvirt writes before any device: name, machine, memory, CPUs,
display, defaults and the iothread objects; libvirt/plan.py's PHASES orders them.

Built from the model, the release's table and what placement decided (machine type, accel,
UEFI pflash nodes); the argv writer only turns them into words.
"""

from __future__ import annotations

from typing import Protocol

from ..caps import CapsTable
from ..model import Domain
from ..option import Option


class DomainPlan(Protocol):
    """What the domain-wide options read of a translation (libvirt.plan's StoragePlan)."""

    caps: CapsTable
    domain: Domain
    machine_name: str
    accel: str
    firmware: list[Option]
    pflash: list[tuple[str, str]]


def name_options(plan: DomainPlan) -> list[Option]:
    """-name, then -S: libvirt always starts QEMU paused and lets the guest run after
    setup."""
    name = [name_option(plan.domain.name, plan.caps)] if plan.domain.name else []
    return [*name, Option("-S")]


def machine_options(plan: DomainPlan) -> list[Option]:
    """-machine TYPE with the UEFI pflash nodes it names and the accelerator."""
    machine = Option("-machine", plan.machine_name)
    for key, node in plan.pflash:
        machine.add(key, node)
    machine.add("accel", plan.accel)
    return [machine]


def memory_options(plan: DomainPlan) -> list[Option]:
    memory = plan.domain.memory_mib
    return [] if memory is None else [Option("-m", str(memory))]


def smp_options(plan: DomainPlan) -> list[Option]:
    vcpus = plan.domain.vcpu or 1
    smp = Option("-smp", str(vcpus))
    smp.props += [("sockets", vcpus), ("cores", 1), ("threads", 1)]
    return [smp]


def uuid_options(plan: DomainPlan) -> list[Option]:
    return [Option("-uuid", plan.domain.uuid)] if plan.domain.uuid else []


def default_options(plan: DomainPlan) -> list[Option]:
    """No configuration file, no default devices (-nodefconfig before -no-user-config)."""
    user_config = "-no-user-config" if plan.caps.has_flag("no-user-config") else "-nodefconfig"
    return [Option(user_config), Option("-nodefaults")]


def name_option(name: str, caps: CapsTable) -> Option:
    """-name as qemuBuildNameCommandLine writes it: the name under QEMU's 'guest' key
    (never as the option's first token, where 'process=…' or 'web,id=1' would be read
    as keys) and debug-threads=on where QEMU has them (libvirt's name-guest and
    debug-threads flags, which the tables of 1.x lack: the name is the whole value there)."""
    if not caps.has_flag("name-guest"):
        return Option("-name", name)
    option = Option("-name", None, [("guest", name)])
    if caps.has_flag("debug-threads"):
        option.add("debug-threads", True)
    return option


def display_options(plan: DomainPlan) -> list[Option]:
    """-display none when the domain has no <graphics> and QEMU has -display, as
    qemuBuildGraphicsCommandLine leaves it (no graphics: no display at all)."""
    if plan.caps.has_flag("display") and not plan.domain.graphics:
        return [Option("-display", "none")]
    return []


def iothread_options(plan: DomainPlan) -> list[Option]:
    """One -object iothread per <iothreadids> entry (or <iothreads> count), as
    qemuBuildIOThreadCommandLine writes them, where QEMU has iothreads."""
    domain, caps = plan.domain, plan.caps
    if not caps.has_flag("iothread"):
        return []
    return [
        Option("-object", "iothread", [("id", f"iothread{number}")])
        for number in sorted(domain.iothread_id_set())
    ]


def cpu_options(plan: DomainPlan) -> list[Option]:
    """-cpu (qemuBuildCpuCommandLine; issue 17)."""
    return []


def bios_options(plan: DomainPlan) -> list[Option]:
    """-bios for a <loader> that is not pflash (issue 17)."""
    return []


def numa_options(plan: DomainPlan) -> list[Option]:
    """-numa and the memory back-ends of <cpu><numa> (issue 17)."""
    return []


def smbios_options(plan: DomainPlan) -> list[Option]:
    """-smbios (issue 17)."""
    return []


def clock_options(plan: DomainPlan) -> list[Option]:
    """-rtc, the timers' -global and -no-hpet (qemuBuildClockCommandLine; issue 17)."""
    return []


def pm_options(plan: DomainPlan) -> list[Option]:
    """-no-shutdown, -no-acpi and the PM -globals (qemuBuildPMCommandLine; issue 17)."""
    return []


def boot_options(plan: DomainPlan) -> list[Option]:
    """-boot, -kernel, -initrd, -append, -dtb (qemuBuildBootCommandLine; issue 17)."""
    return []


def sandbox_options(plan: DomainPlan) -> list[Option]:
    """-sandbox (qemuBuildSeccompSandboxCommandLine; issue 17)."""
    return []


def msg_options(plan: DomainPlan) -> list[Option]:
    """-msg timestamp=on (issue 17)."""
    return []
