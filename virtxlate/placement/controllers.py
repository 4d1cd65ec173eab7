"""The controller array as libvirt completes it: the domain's controllers, the storage
controllers their drive addresses imply, their aliases (virDomainDefAddImplicitControllers,
qemuAssignDeviceControllerAlias).

Placement only: which controllers exist and what they are called.  Their slots are taken
by assign.py in libvirt's order; their -device options are built by props/controllers.py.
"""

from __future__ import annotations

from lxml import etree

from ..caps import CapsTable
from ..caps import index as caps_index
from ..caps.tables import MachineFamily
from ..errors import InvalidValue
from ..findings import Finding, finding_at
from ..model import Controller, Domain
from ..model.devices import Device
from ..names.scsi import SCSI_MODEL_DEVICES, default_scsi_model
from .addresses import controller_indexes, drive_address
from .pcibuses import DEFAULT_DEVICE


class ControllerPlan:
    """A storage controller as libvirt sees it after adding implicit ones (a plain class,
    not a frozen dataclass: one costs ~0.25 ms to define at every start, and importing
    dataclasses ~4 ms); nothing changes one once it is made."""

    __slots__ = ("type", "index", "model", "element", "alias", "builtin")

    def __init__(
        self,
        type: str,  # noqa: A002 (the controller's type attribute, as the model names it)
        index: int,
        model: str | None,
        element: Controller | None,  # None for one libvirt added implicitly
        alias: str,
        builtin: str | None = None,  # QEMU type when the machine already has it
    ) -> None:
        self.type, self.index, self.model = type, index, model
        self.element, self.alias, self.builtin = element, alias, builtin

    def _values(self) -> tuple[object, ...]:
        return self.type, self.index, self.model, self.element, self.alias, self.builtin

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={value!r}" for name, value in zip(self.__slots__, self._values(), strict=True)
        )
        return f"ControllerPlan({shown})"

    @property
    def key(self) -> object:
        """What the placement knows this controller by: its element, or its alias when
        libvirt added it."""
        return self.element.element if self.element is not None else self.alias


# A user alias libvirt keeps and writes as the device's id: "ua-" and ASCII letters,
# digits, '_' and '-' (checked with libvirt 9.0: any other alias, e.g. 'ua-a,b' or
# 'ua-a.b', is dropped without a word and the device gets its own alias)
def user_alias(node) -> str | None:  # type: ignore[no-untyped-def]
    """The user alias (<alias name='ua-…'/>) of a device element or model object, when
    libvirt keeps it: the model's rule (Device.user_alias), for callers holding elements
    (a model object answers from its kept reads)."""
    if isinstance(node, Device):
        return node.user_alias
    return Device(getattr(node, "element", node)).user_alias


# libvirt's qemuBuildControllersCommandLine emits controllers grouped by type in this order.
_CONTROLLER_ORDER = ("pci", "usb", "scsi", "ide", "sata", "fdc", "virtio-serial", "ccid")

# Each implied controller takes a PCI slot: 32 buses' worth of slots is more than any
# machine libvirt builds can give (libvirt itself gives up placing them, slowly).
MAX_IMPLIED_CONTROLLERS = 32 * 32


# id(family) → (the family, its _builtin_controllers): a check asks the same few
_BUILTINS: dict[int, tuple[MachineFamily, dict[tuple[str, int], str]]] = {}
_MAX_FAMILIES = 256  # the shipped tables' families are far fewer


def _builtin_controllers(family: MachineFamily | None) -> dict[tuple[str, int], str]:
    """(type, index) → QEMU type of the controllers a machine of FAMILY already has
    ("ide:0" in the table), kept per family (with it: its id names no other meanwhile)."""
    if family is None:
        return {}
    entry = _BUILTINS.get(id(family))
    if entry is None or entry[0] is not family:
        if len(_BUILTINS) >= _MAX_FAMILIES:
            _BUILTINS.clear()  # (tables made on the fly, as tests do: no growth)
        builtin_of: dict[tuple[str, int], str] = {}
        for builtin in family.builtins:
            if builtin.libvirt_controller:
                kind, _, number = builtin.libvirt_controller.partition(":")
                builtin_of[(kind, int(number or 0))] = builtin.type
        entry = _BUILTINS[id(family)] = (family, builtin_of)
    return entry[1]


def storage_controllers(
    domain: Domain, caps: CapsTable, family: MachineFamily | None, findings: list[Finding]
) -> list[ControllerPlan]:
    """The storage controllers in libvirt's array order, the implied ones added
    (virDomainDefAddImplicitControllers); what libvirt refuses goes to FINDINGS."""
    builtin_of = _builtin_controllers(family)
    seen: set[tuple[str, int]] = set()
    grouped: dict[str, list[ControllerPlan]] = {}
    for controller in domain.controllers:
        type_ = controller.type or ""
        index = controller.index or 0
        seen.add((type_, index))
        model = controller.model
        if type_ == "scsi" and model in (None, "auto"):
            model = default_scsi_model(caps)
        grouped.setdefault(type_, []).append(
            ControllerPlan(
                type=type_,
                index=index,
                model=model,
                element=controller,
                alias=controller.user_alias or _controller_alias(type_, index, family),
                builtin=builtin_of.get((type_, index)),
            )
        )
    # virDomainDefAddImplicitControllers: the highest controller index a drive address
    # names (of a disk, or of a SCSI host device) implies every controller of that type
    # from 0 up to it (virDomainDefAddDiskControllersForType,
    # virDomainDefMaybeAddHostdevSCSIcontroller; checked with libvirt 9.0).
    highest: dict[str, int] = {}
    for disk in domain.disks:
        address = drive_address(disk)
        if address is not None and disk.bus in ("scsi", "ide", "sata", "fdc"):
            highest[disk.bus] = max(highest.get(disk.bus, -1), address.controller)
    for hostdev in domain.hostdevs:
        written = hostdev.address
        if hostdev.type != "scsi" or written is None or written.type != "drive":
            continue
        try:
            index = written.controller or 0
        except InvalidValue:
            continue
        highest["scsi"] = max(highest.get("scsi", -1), index)
    for bus, top in highest.items():
        if top >= MAX_IMPLIED_CONTROLLERS:
            findings.append(
                finding_at(
                    "VX0205",
                    "error",
                    f"{bus} controller index {top} implies {top + 1} "
                    "controllers, more than the machine has PCI slots for",
                    domain,
                    domain.source,
                    hint="use a lower controller index in <address type='drive'>",
                )
            )
            continue
        for index in range(top + 1):
            if (bus, index) in seen:
                continue
            seen.add((bus, index))
            model = default_scsi_model(caps) if bus == "scsi" else None
            grouped.setdefault(bus, []).append(
                ControllerPlan(
                    type=bus,
                    index=index,
                    model=model,
                    element=None,
                    alias=_controller_alias(bus, index, family),
                    builtin=builtin_of.get((bus, index)),
                )
            )
    controllers: list[ControllerPlan] = []
    for type_ in sorted(
        grouped, key=lambda t: _CONTROLLER_ORDER.index(t) if t in _CONTROLLER_ORDER else 99
    ):
        controllers.extend(sorted(grouped[type_], key=lambda c: c.index))
    findings.extend(_pci_devices_in_release(domain, caps))
    return controllers


def _pci_devices_in_release(domain: Domain, caps: CapsTable) -> list[Finding]:
    """A PCI controller's QEMU device (its <model name>, else the model's default) must be
    in the release: qemuValidateDomainDeviceDefControllerPCI refuses one the binary lacks
    ("the PCI controller with model name '…' isn't supported by this QEMU binary")."""
    found = []
    for controller in domain.controllers:
        if controller.type != "pci" or controller.model not in DEFAULT_DEVICE:
            continue
        device = controller.model_name or DEFAULT_DEVICE[controller.model]
        if (
            controller.model_name is None
            and device == "pcie-root-port"
            and not caps.has_device(device)
        ):
            device = "ioh3420"  # qemuDomainPCIControllerSetDefaultModelName's fallback
        if caps.has_device(device):
            continue
        since = caps_index.first_with("devices", device, caps.arch, after=caps.version)
        found.append(
            finding_at(
                "VX0303",
                "error",
                f"the PCI controller with model name '{device}' needs QEMU "
                f"device '{device}', which QEMU {caps.version} does not have",
                controller,
                domain.source,
                since=since,
                hint=None if since else "no release virtxlate knows has it",
            )
        )
    return found


def _controller_alias(type_: str, index: int, family: MachineFamily | None) -> str:
    # qemuAssignDeviceControllerAlias: the q35 built-in AHCI is 'ide', the
    # i440fx built-in IDE is 'ide' too; others are TYPE + index.
    if family is not None and family.name == "q35" and type_ == "sata" and index == 0:
        return "ide"
    if type_ == "ide" and index == 0:
        return "ide"
    return f"{type_}{index}"


def needs_device(controller: ControllerPlan) -> bool:
    """A storage controller that libvirt writes a -device for (the machine lacks it)."""
    return controller.builtin is None and controller.type in ("scsi", "sata")


def controller_device(controller: ControllerPlan) -> str:
    """The QEMU device of a storage controller that needs one."""
    if controller.type == "scsi":
        return SCSI_MODEL_DEVICES.get(controller.model or "", "lsi")
    return "ahci"


def added_ccid_controllers(domain: Domain) -> list[Controller]:
    """The CCID controllers libvirt adds for smartcards
    (virDomainDefMaybeAddSmartcardController): one for each controller index a <smartcard>
    names (0 unless its ccid address says) that the domain does not declare; each a USB
    device (usb-ccid) with its own port."""
    have = {index for controller, index in controller_indexes(domain) if controller.type == "ccid"}
    added = []
    for card in domain.smartcards:
        address = card.address
        try:
            on_ccid = address is not None and address.type == "ccid"
            index = (address.controller or 0) if on_ccid and address is not None else 0
        except InvalidValue:
            continue  # the model's own finding says so
        if index not in have:
            have.add(index)
            added.append(Controller(etree.Element("controller", type="ccid", index=str(index))))
    return added
