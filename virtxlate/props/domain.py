"""The domain-wide options libvirt writes before any device: name, machine, memory, CPUs,
display, defaults and the iothread objects, as qemuBuildCommandLine orders them.

Built from the model, the release's table and what placement decided (machine type, accel,
UEFI pflash nodes); the argv writer only turns them into words.
"""

from __future__ import annotations

from typing import Protocol

from ..caps import CapsTable
from ..model import Domain
from .option import Option


class DomainPlan(Protocol):
    """What the domain-wide options read of a translation (libvirt.plan's StoragePlan)."""

    caps: CapsTable
    domain: Domain
    machine_name: str
    accel: str
    firmware: list[Option]
    pflash: list[tuple[str, str]]


def emulator(domain: Domain, caps: CapsTable) -> str:
    """The binary the line starts with: the domain's <emulator>, else the release's own."""
    return domain.emulator or caps.emulator


def domain_options(plan: DomainPlan) -> list[Option]:
    """-name … -object iothread, in the order qemuBuildCommandLine writes them."""
    domain, caps = plan.domain, plan.caps
    options: list[Option] = []
    if domain.name:
        options.append(name_option(domain.name, caps))
    # libvirt always starts QEMU paused and lets the guest run after setup.
    options.append(Option("-S"))
    # UEFI: the pflash nodes before -machine, which names them (as
    # qemuBuildPflashBlockdevCommandLine and qemuBuildMachineCommandLine write them)
    options.extend(plan.firmware)
    machine = Option("-machine", plan.machine_name)
    for key, node in plan.pflash:
        machine.add(key, node)
    machine.add("accel", plan.accel)
    options.append(machine)
    if domain.memory_mib is not None:
        options.append(Option("-m", str(domain.memory_mib)))
    vcpus = domain.vcpu or 1
    smp = Option("-smp", str(vcpus))
    smp.props += [("sockets", vcpus), ("cores", 1), ("threads", 1)]
    options.append(smp)
    if domain.uuid:
        options.append(Option("-uuid", domain.uuid))
    options.extend(display_options(domain, caps))
    options.append(Option("-no-user-config" if caps.has_flag("no-user-config") else "-nodefconfig"))
    options.append(Option("-nodefaults"))
    options.extend(iothread_objects(domain, caps))
    return options


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


def display_options(domain: Domain, caps: CapsTable) -> list[Option]:
    """-display none when the domain has no <graphics> and QEMU has -display, as
    qemuBuildGraphicsCommandLine leaves it (no graphics: no display at all)."""
    # the model has no graphics device yet: its element is looked at directly
    if caps.has_flag("display") and domain.element.find("devices/graphics") is None:
        return [Option("-display", "none")]
    return []


def iothread_objects(domain: Domain, caps: CapsTable) -> list[Option]:
    """One -object iothread per <iothreadids> entry (or <iothreads> count), as
    qemuBuildIOThreadCommandLine writes them, where QEMU has iothreads."""
    if not caps.has_flag("iothread"):
        return []
    return [
        Option("-object", "iothread", [("id", f"iothread{number}")])
        for number in sorted(domain.iothread_id_set())
    ]
