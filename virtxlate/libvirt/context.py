"""The state libvirt's storage translation builds up, and the helpers its parts share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..caps import CapsTable
from ..caps.tables import Machine, MachineFamily
from ..findings import Finding, finding_at
from ..host import Host, UnknownHost
from ..model import Controller, Domain
from ..placement.addresses import PciSlots, pci_address_text
from ..placement.pcibuses import RootBusOverflow
from ..placement.pcie import PcieRootPorts
from ..placement.usb import UsbPorts
from ..placement.zpci import pci_bus
from ..props.option import Option


@dataclass
class ControllerPlan:
    """A storage controller as libvirt sees it after adding implicit ones."""

    type: str
    index: int
    model: str | None
    element: Controller | None  # None for one libvirt added implicitly
    alias: str
    builtin: str | None = None  # QEMU type when the machine already has it
    pci_bus: str | None = None
    pci_addr: str | None = None


@dataclass
class StoragePlan:
    """Everything the argv writer and the graph builder need, in libvirt's order."""

    caps: CapsTable
    domain: Domain
    machine: Machine | None
    machine_name: str
    family: MachineFamily | None
    accel: str
    controllers: list[ControllerPlan] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    host: Host = field(default_factory=UnknownHost)
    slots: PciSlots | None = None
    pcie: PcieRootPorts | None = None
    overflow: RootBusOverflow | None = None  # pc: bridges beyond a full root bus
    usb_address: tuple[str, str] | None = None
    usb_ports: UsbPorts | None = None
    devnos: dict[object, str] | None = None  # s390x: device element → its devno
    zpci: dict[object, tuple[int, int]] | None = None  # s390x PCI: element → (uid, fid)
    pr_helper_written: bool = False  # the managed pr-manager-helper object is out
    next_node_index: int = 1  # the next -blockdev node number after the disks' ones
    # UEFI: the pflash -blockdev nodes, written before -machine, and -machine's pflashN=
    firmware: list[Option] = field(default_factory=list)
    pflash: list[tuple[str, str]] = field(default_factory=list)


# A user alias libvirt keeps and writes as the device's id: "ua-" and ASCII letters,
# digits, '_' and '-' (checked with libvirt 9.0: any other alias, e.g. 'ua-a,b' or
# 'ua-a.b', is dropped without a word and the device gets its own alias)
_USER_ALIAS = re.compile(r"ua-[A-Za-z0-9_-]*")


def user_alias(node) -> str | None:  # type: ignore[no-untyped-def]
    """The user alias (<alias name='ua-…'/>) of a device element, when libvirt keeps it."""
    alias = node.find("alias")
    name = alias.get("name") if alias is not None else None
    return name if name is not None and _USER_ALIAS.fullmatch(name) else None


def take_slot(plan: StoragePlan, obj, device: str) -> tuple[str, str] | None:  # type: ignore[no-untyped-def]
    """(bus, addr) libvirt gives a DEVICE without a PCI address of its own."""
    addressing = plan.family.libvirt_addressing if plan.family else "root-bus"
    if addressing == "ccw":
        element = getattr(obj, "element", None)
        devno = (plan.devnos or {}).get(element)
        if devno is None:
            plan.findings.append(
                finding_at(
                    "VX0900",
                    "error",
                    "this device has no channel-subsystem (ccw) address virtxlate can give it",
                    obj,
                    plan.domain.source,
                )
            )
            return None
        return "", devno
    if addressing == "none":
        plan.findings.append(
            finding_at(
                "VX0205",
                "error",
                f"machine '{plan.machine_name}' has no PCI bus for this device",
                obj,
                plan.domain.source,
            )
        )
        return None
    if plan.pcie is not None:
        return plan.pcie.place(device)
    if addressing == "bridges" and plan.family is not None:
        plan.findings.append(
            finding_at(
                "VX0902",
                "warning",
                f"libvirt places PCI devices of a {plan.family.name} machine behind bridges it "
                "adds; virtxlate puts this one on the root bus, so its address may differ",
                obj,
                plan.domain.source,
                hint="give the device an explicit <address type='pci'>",
            )
        )
    assert plan.slots is not None
    slot = plan.slots.take()
    if slot is not None:
        return root_bus(plan), pci_address_text(slot)
    place = plan.overflow.take() if plan.overflow is not None else None
    if place is None:
        plan.findings.append(
            finding_at(
                "VX0205", "error", "no free PCI slot on the root bus", obj, plan.domain.source
            )
        )
    return place


def transport_device(plan: StoragePlan, device: str, address=None) -> str:  # type: ignore[no-untyped-def]
    """virtio-*-pci becomes virtio-*-ccw on a channel-subsystem machine (s390x), unless
    ADDRESS puts the device on the machine's PCI bus (zPCI)."""
    if (
        plan.family is not None
        and plan.family.libvirt_addressing == "ccw"
        and (address is None or address.type != "pci")
    ):
        return device.replace("-pci", "-ccw", 1) if "-pci" in device else device
    return device


def add_location(
    option: Option, placed: tuple[str, str], multifunction: bool | None = None
) -> None:
    """bus= (multifunction=) and addr= of a PCI place, or devno= of a ccw one (bus '')."""
    bus, addr = placed
    if bus:
        option.add("bus", bus)
        option.add("multifunction", multifunction)
        option.add("addr", addr)
    else:
        option.add("devno", addr)


def explicit_pci(plan: StoragePlan, address) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(bus, addr) of a written <address type='pci'>, or ('', devno) of a ccw one;
    libvirt names PCI bus N 'pci.N'."""
    if address.type == "ccw":
        return "", f"{address.cssid or 0:x}.{address.ssid or 0:x}.{address.devno or 0:04x}"
    bus = address.bus or 0
    if bus == 0 and plan.family is not None and plan.family.libvirt_addressing == "ccw":
        return pci_bus(plan), pci_address_text(address.slot or 0, address.function or 0)
    return (
        root_bus(plan) if bus == 0 else f"pci.{bus}",
        pci_address_text(address.slot or 0, address.function or 0),
    )


def root_bus(plan: StoragePlan) -> str:
    return plan.family.root_bus if plan.family else "pci.0"


def on_off(value: bool | None) -> str | None:
    return None if value is None else ("on" if value else "off")


def unsupported(plan: StoragePlan, obj, what: str) -> Finding:  # type: ignore[no-untyped-def]
    return finding_at(
        "VX0900",
        "warning",
        f"{what} is not translated by this version of virtxlate; it is left out",
        obj,
        plan.domain.source,
    )


def add_virtio_options(option: Option, driver) -> None:  # type: ignore[no-untyped-def]
    """<driver iommu ats packed> of a virtio device (qemuBuildVirtioOptionsProps)."""
    if driver is None:
        return
    option.add("iommu_platform", driver.iommu)
    option.add("ats", driver.ats)
    option.add("packed", driver.packed)
