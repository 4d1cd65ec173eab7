"""The state libvirt's storage translation builds up, and the helpers its parts share."""

from __future__ import annotations

from ..caps import CapsTable
from ..caps.tables import Machine, MachineFamily
from ..findings import Finding, finding_at
from ..host import Host, UnknownHost
from ..model import Domain
from ..model.fields import XmlObject
from ..option import Option
from ..placement.assign import Placement, written_place
from ..placement.controllers import ControllerPlan, user_alias
from .device_table import VIRTIO_OPTIONS
from .mapping import add_props
from .mapping import on_off_text as on_off  # (props/chardev.py's name for it)

__all__ = [
    "ControllerPlan",
    "StoragePlan",
    "add_location",
    "add_virtio_options",
    "explicit_pci",
    "on_off",
    "root_bus",
    "transport_device",
    "unsupported",
    "user_alias",
]


class StoragePlan:
    """Everything the argv writer and the graph builder need, in libvirt's order: the
    finished placement, the options built from it and what was found on the way.  (A
    plain class: defining a dataclass costs a quarter of a millisecond at every start.)"""

    __slots__ = (
        "caps",
        "domain",
        "machine",
        "machine_name",
        "family",
        "accel",
        "placement",
        "options",
        "findings",
        "host",
        "pr_helper_written",
        "next_node_index",
        "firmware",
        "pflash",
    )

    def __init__(
        self,
        caps: CapsTable,
        domain: Domain,
        machine: Machine | None,
        machine_name: str,
        family: MachineFamily | None,
        accel: str,
        placement: Placement | None = None,
        options: list[Option] | None = None,
        findings: list[Finding] | None = None,
        host: Host | None = None,
    ) -> None:
        self.caps = caps
        self.domain = domain
        self.machine = machine
        self.machine_name = machine_name
        self.family = family
        self.accel = accel
        self.placement = placement if placement is not None else Placement()
        self.options: list[Option] = options if options is not None else []
        self.findings: list[Finding] = findings if findings is not None else []
        self.host: Host = host if host is not None else UnknownHost()
        self.pr_helper_written = False  # the managed pr-manager-helper object is out
        self.next_node_index = 1  # the next -blockdev node number after the disks' ones
        # UEFI: the pflash -blockdev nodes, written before -machine, and -machine's pflashN=
        self.firmware: list[Option] = []
        self.pflash: list[tuple[str, str]] = []

    @property
    def emulator(self) -> str:
        """The binary the line starts with: the domain's <emulator>, else the release's."""
        return self.domain.emulator or self.caps.emulator

    @property
    def controllers(self) -> tuple[ControllerPlan, ...]:
        """The storage controllers in libvirt's array order (the placement's)."""
        return self.placement.controllers


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
    """(bus, addr) of a written <address type='pci'>, or ('', devno) of a ccw one; a bus
    under its controller's user alias where it has one."""
    bus, addr = written_place(plan.family, address)
    return plan.placement.bus_names.get(bus, bus), addr


def root_bus(plan: StoragePlan) -> str:
    return plan.family.root_bus if plan.family else "pci.0"


def unsupported(plan: StoragePlan, obj, what: str) -> Finding:  # type: ignore[no-untyped-def]
    return finding_at(
        "VX0900",
        "warning",
        f"{what} is not translated by this version of virtxlate; it is left out",
        obj,
        plan.domain.source,
    )


def add_virtio_options(option: Option, driver: XmlObject | None) -> None:
    """<driver iommu ats packed page_per_vq> of a virtio device (its DRIVER), from the
    rows (qemuBuildVirtioOptionsProps)."""
    if driver is not None:
        add_props(option, VIRTIO_OPTIONS, driver, None, None)
