"""A QEMU command line's storage as libvirt domain XML.

Controllers (model, driver, PCI address on the root bus), disks (source, format, target
bus and dev, drive address, driver attributes, serial, wwn, boot order, readonly,
shareable) and iothreads.  Target names are chosen as libvirt would from the drive
address (sda…, hda…, vda… in order).  Options libvirt itself writes for any domain
(data/libvirt-managed.txt) are implied by the domain; every other option that does not
map is reported as a warning and kept in <qemu:commandline>, never dropped.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from ..errors import InputError
from ..findings import Finding
from ..host import Host, UnknownHost
from ..model import Address, Controller, Disk, DiskSource, Domain, Memballoon
from ..model.devices import BackingStore
from ..names import transitional
from ..names.scsi import NARROW_SCSI_MODELS, SCSI_DISK_DEVICES, scsi_model_of
from ..placement.addresses import disk_index, disk_name
from ..placement.pcibuses import DEFAULT_DEVICE, MODEL_OF_DEVICE
from ..props import disk_table
from ..props.mapping import BadValue, Row, number, on_off, on_off_text, read_props, text
from ..resources import PACKAGE_DIR
from .backends import (
    MAX_BACKING_DEPTH,
    Backend,
    device_cache,
    error_policy,
    from_blockdev,
    from_drive,
    set_source,
)
from .build import append, new, set_path
from .devices import VIRTIO_OPTIONS, Devices, read_devices, virtio_driver
from .domainwide import Wide, read_domain_wide
from .options import ArgvOption, number_of, parse_options, text_of
from .words import CommandLine

QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
_DISK_DEVICES: dict[str, tuple[str, str | None]] = {
    **{device: ("scsi", kind) for kind, device in SCSI_DISK_DEVICES.items()},
    "scsi-disk": ("scsi", None),
    "ide-hd": ("ide", "disk"),
    "ide-cd": ("ide", "cdrom"),
    "ide-drive": ("ide", None),
    "virtio-blk-pci": ("virtio", "disk"),
    "virtio-blk-ccw": ("virtio", "disk"),
    "virtio-blk-device": ("virtio", "disk"),
    "virtio-blk-pci-transitional": ("virtio", "disk"),
    "virtio-blk-pci-non-transitional": ("virtio", "disk"),
    "usb-storage": ("usb", "disk"),
    "floppy": ("fdc", "floppy"),
}
_LEGACY_DISKS = {
    "-hda": ("ide", 0, "disk"),
    "-hdb": ("ide", 1, "disk"),
    "-hdc": ("ide", 2, "disk"),
    "-hdd": ("ide", 3, "disk"),
    "-cdrom": ("ide", 2, "cdrom"),
    "-fda": ("fdc", 0, "floppy"),
    "-fdb": ("fdc", 1, "floppy"),
}
_INTERFACE_BUS = {"virtio": "virtio", "scsi": "scsi", "ide": "ide", "floppy": "fdc", "sd": "sd"}
_PREFIX = {
    "virtio": "vd",
    "ide": "hd",
    "fdc": "fd",
    "scsi": "sd",
    "sata": "sd",
    "usb": "sd",
    "sd": "sd",
}
# libvirt's aliases that carry the target's index (qemuAssignDeviceDiskAlias):
# virtio-disk2 is vdc, usb-disk1 is sdb; the others carry the drive address.
_INDEXED_ALIAS = re.compile(r"^(?:ua-)?(virtio|usb)-disk(\d+)$")
# what libvirt writes for USB hubs and the balloon
_USB_BALLOON_KEYS = {
    *VIRTIO_OPTIONS,
    "driver",
    "id",
    "bus",
    "addr",
    "port",
    "multifunction",
    "devno",
    "deflate-on-oom",
    "free-page-reporting",
    "disable-legacy",
    "disable-modern",
}
# a disk's rows read back, in the order of libvirt's XML: <driver>'s, then <target>'s,
# <geometry>'s and <blockio>'s, then serial, wwn, vendor and product
_DISK_DRIVER_ROWS = (
    *disk_table.VIRTIO_BEFORE_SCSI,
    *disk_table.VIRTIO_AFTER_SCSI,
    *disk_table.VIRTIO_OPTIONS,
)
_DISK_IDENTITY_ROWS = tuple(
    next(row for row in disk_table.FRONTEND if row.field == name)
    for name in ("serial", "wwn", "vendor", "product")
)


def _rows_under(prefix: str) -> tuple[Row, ...]:
    return tuple(row for row in disk_table.FRONTEND if row.field.startswith(prefix))


# bus: (disks per controller, units per bus) — libvirt's drive address of a target name
_LAYOUT = {"scsi": (7, 7), "ide": (4, 2), "sata": (6, 6), "fdc": (2, 2)}


@dataclass
class _Disk:
    bus: str
    device: str
    backend: Backend
    option: ArgvOption | None = None
    address: tuple[int, int, int, int] | None = None  # controller, bus, target, unit
    props: dict[str, Any] = field(default_factory=dict)
    dev: str | None = None


@dataclass
class Readback:
    xml: str
    findings: list[Finding]


@functools.cache
def _managed_patterns() -> tuple[re.Pattern[str], ...]:
    lines = (PACKAGE_DIR / "native" / "data" / "libvirt-managed.txt").read_text().splitlines()
    return tuple(
        re.compile(line.split("\t", 1)[0])
        for line in lines
        if line.strip() and not line.startswith("#")
    )


def domain_from_argv(
    command: CommandLine, default_machine: str | None = None, host: Host | None = None
) -> Readback:
    """The domain XML of COMMAND; DEFAULT_MACHINE names the machine when it has no
    -machine (the release's default, when the caller knows the release).  HOST says which
    SCSI device a /dev/sgN node is (this machine when None), as libvirt asks the VM's."""
    options = parse_options(command.words, command.source)
    for option in options:
        texts = [*option.words(), *_json_strings(option.fields)] if option.json else option.words()
        bad = next(filter(None, (_NOT_XML.search(text) for text in texts)), None)
        if bad is not None:  # XML holds no such character, libvirt's domain neither
            raise InputError(
                f"{_unreadable(option)}: character {bad.group()!r} has no place in XML",
                source=command.source,
                line=0,
            )
    builder = _Builder(command, options, default_machine, host or UnknownHost())
    try:
        builder.start()
        return builder.build()
    except BadValue as exc:
        # only the reading of one option's value fails as bad input (scsi-id=a, a JSON
        # list where a node name belongs); anything else is a bug and shows as one
        raise InputError(
            f"{_unreadable(builder.current)}: {exc}", source=command.source, line=0
        ) from None


def _json_strings(value: Any) -> list[str]:
    """Every key and string in a JSON VALUE (JSON's \\u escapes give any character);
    its depth is bounded by parse_options."""
    found: list[str] = []
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            found += [str(key) for key in item]
            pending += item.values()
        elif isinstance(item, list):
            pending += item
    return found


def _unreadable(option: ArgvOption | None) -> str:
    """The start of a message on OPTION: "-device scsi-hd: cannot read '-device …'"."""
    if option is None:
        return "cannot read the command line"
    name = option.fields.get(_NAMED_BY.get(option.flag, "id"))
    named = f"{option.flag} {_short(name, 40)}" if isinstance(name, str) and name else option.flag
    return f"{named}: cannot read '{_short(' '.join(option.words()))}'"


# characters XML 1.0 cannot hold (its Char production)
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# the field that names an option in a message (the device's driver, the node's name)
_NAMED_BY = {"-device": "driver", "-blockdev": "node-name", "-object": "qom-type"}


class _Builder:
    def __init__(
        self,
        command: CommandLine,
        options: list[ArgvOption],
        default_machine: str | None,
        host: Host,
    ):
        self.command = command
        self.host = host
        self.default_machine = default_machine
        self.options = options
        self.used: set[int] = set()
        self.findings: list[Finding] = []
        self.nodes: dict[str, ArgvOption] = {
            str(o.fields["node-name"]): o
            for o in options
            if o.flag == "-blockdev" and o.fields.get("node-name")
        }
        self.drives = {
            o.fields["id"]: o
            for o in options
            if o.flag == "-drive" and isinstance(o.fields.get("id"), str) and o.fields["id"]
        }
        self.controllers: dict[str, tuple[str, int, str | None, ArgvOption]] = {}
        self.current: ArgvOption | None = None  # the option being read, for messages
        self.zpci: dict[str, tuple[int | None, int | None]] = {}

        # PCI controllers libvirt named pci.N: N is their index, and devices on them keep
        # their places (bus N) in the XML
        self.pci_controllers = {
            int(str(o.fields["id"])[4:]): o
            for o in options
            if o.flag == "-device"
            and str(o.fields.get("driver")) in MODEL_OF_DEVICE
            and re.fullmatch(r"pci\.[1-9]\d{0,2}", str(o.fields.get("id")))
        }
        self.pci_buses = {"pci.0": 0, "pcie.0": 0}
        self.pci_buses.update({f"pci.{n}": n for n in self.pci_controllers})

    def start(self) -> None:
        """Read what other options refer to: the zPCI ids of devices."""
        # s390x: -device zpci,uid=…,fid=…,target=ALIAS gives ALIAS's <zpci>
        for o in self.options:
            if o.flag == "-device" and o.fields.get("driver") == "zpci":
                self.current = o
                uid, fid = number_of(o.fields, "uid"), number_of(o.fields, "fid")
                self.zpci[str(o.fields.get("target"))] = (uid, fid)

    # --- the whole domain -----------------------------------------------------------

    def build(self) -> Readback:
        domain = Domain(etree.Element("domain", nsmap={"qemu": QEMU_NS}))
        root = domain.element
        domain.type = self._accel()
        domain.name = self._name()
        # QEMU's defaults until -m and -smp are read (read_domain_wide), in their places
        domain.memory, domain.memory_unit = 128, "MiB"
        domain.vcpu = 1
        self._first("-smp")
        for option in self.options:
            if option.flag == "-object" and option.fields.get("qom-type") == "iothread":
                self.used.add(option.position)
                number = re.sub(r"\D", "", str(option.fields.get("id", ""))) or "1"
                append(domain, Domain.iothread_ids, id=int(number))
        domain.arch, domain.os_type = self.command.arch, "hvm"
        machine = self._first("-machine") or self._first("-M")
        if machine is not None:
            domain.machine = str(machine.fields.get("type") or "")
        elif self.default_machine is not None:
            domain.machine = self.default_machine
        os_node = root.find("os")
        assert os_node is not None
        if machine is not None:
            self._firmware(root, os_node, machine)
        if self.command.emulator:
            domain.emulator = self.command.emulator
        devices = root.find("devices")
        if devices is None:
            devices = etree.SubElement(root, "devices")
        disks = self._disks()
        _name_targets(disks)
        for disk in disks:
            devices.append(self._disk_xml(disk))
        for hostdev in self._hostdevs():
            devices.append(hostdev)
        for kind, index, model, option in self.controllers.values():
            controller = _controller_xml(kind, index, model, option, self.pci_buses)
            address = controller.find("address")
            if address is not None:
                _with_zpci(address, option, self.zpci)
            devices.append(controller)
        for index, option in sorted(self.pci_controllers.items()):
            self.current = option
            self.used.add(option.position)
            devices.append(_pci_controller_xml(index, option, self.pci_buses))
        for node in self._usb_and_balloon():
            devices.append(node)
        found = Devices(
            self.options,
            self.used,
            lambda option: _with_zpci(_pci_or_ccw(option, self.pci_buses), option, self.zpci),
            _usb_address,
            self.command.source,
            kvm=domain.type == "kvm",
        )
        read_devices(found)
        self.findings += found.findings
        for node in found.found:
            devices.append(node)
        read_domain_wide(Wide(self.options, self.used, domain, self.command.arch), machine)
        self._absent_defaults(devices)
        self._passthrough(root)
        etree.indent(root, space="  ")
        return Readback(etree.tostring(root, encoding="unicode") + "\n", self.findings)

    def _firmware(self, root: etree._Element, os_node: etree._Element, machine: ArgvOption) -> None:
        """<loader type='pflash'> and <nvram> of -machine's pflash0= and pflash1= nodes, as
        props/firmware.py writes them (libvirt's qemuBuildPflashBlockdevCommandLine).  A
        unit that is not a raw node over a file keeps its nodes on the command line."""
        files: list[tuple[str, bool, list[ArgvOption]]] = []
        for unit in (0, 1):
            name = text_of(machine.fields, f"pflash{unit}")
            found = self._pflash_file(name) if name is not None else None
            if found is None:
                break
            files.append(found)
        if not files:
            return
        for _, _, nodes in files:
            self.used.update(node.position for node in nodes)
        path, readonly, _ = files[0]
        loader = etree.SubElement(os_node, "loader", type="pflash")
        if readonly:
            loader.set("readonly", "yes")
        loader.text = path
        if len(files) > 1:
            etree.SubElement(os_node, "nvram").text = files[1][0]

    def _pflash_file(self, name: str) -> tuple[str, bool, list[ArgvOption]] | None:
        """(file, read-only, its two nodes) of the raw format node NAME over a file node."""
        top = self.nodes.get(name)
        if top is None or top.fields.get("driver") != "raw":
            return None
        storage = self.nodes.get(text_of(top.fields, "file") or "")
        if storage is None or storage.fields.get("driver") != "file":
            return None
        path = text_of(storage.fields, "filename")
        if not path:
            return None
        return path, on_off(top.fields.get("read-only")) is True, [top, storage]

    def _first(self, flag: str) -> ArgvOption | None:
        option = next((o for o in self.options if o.flag == flag), None)
        if option is not None:
            self.used.add(option.position)
        return option

    def _name(self) -> str:
        option = self._first("-name")
        if option is None:
            return "from-argv"
        return str(option.fields.get("guest") or option.fields.get("") or "from-argv")

    def _accel(self) -> str:
        machine = self._first("-machine")
        accel = self._first("-accel")
        text = str(
            (accel.fields.get("") if accel else None)
            or (machine.fields.get("accel") if machine else None)
            or ""
        )
        kvm = self._first("-enable-kvm") is not None
        return "kvm" if kvm or text.startswith("kvm") else "qemu"

    # --- controllers and disks ------------------------------------------------------

    def _disks(self) -> list[_Disk]:
        disks: list[_Disk] = []
        counters: dict[str, int] = {}
        for option in self.options:
            if option.flag != "-device":
                continue
            self.current = option
            driver = str(option.fields.get("driver", ""))
            model = scsi_model_of(driver)
            if model is not None:
                self.used.add(option.position)
                model = _virtio_model(option.fields) or model
                alias = str(option.fields.get("id") or f"scsi{counters.get('scsi', 0)}")
                counters["scsi"] = counters.get("scsi", 0) + 1
                self.controllers[alias] = (
                    "scsi",
                    self._controller_index("scsi", alias),
                    model,
                    option,
                )
            elif driver in ("ahci", "ich9-ahci"):
                self.used.add(option.position)
                alias = str(option.fields.get("id") or "sata0")
                self.controllers[alias] = (
                    "sata",
                    self._controller_index("sata", alias),
                    None,
                    option,
                )
        for option in self.options:
            disk = None
            self.current = option
            if option.flag == "-device" and text_of(option.fields, "driver") in _DISK_DEVICES:
                disk = self._frontend(option)
            elif option.flag in _LEGACY_DISKS:
                bus, index, device = _LEGACY_DISKS[option.flag]
                backend = Backend()
                set_source(backend, option.fields.get("") or None)
                disk = _Disk(bus, device, backend, option, dev=disk_name(_PREFIX[bus], index))
            elif option.flag == "-drive" and option.fields.get("if", "ide") != "none":
                disk = self._legacy_drive(option)
            if disk is not None:
                self.used.add(option.position)
                disks.append(disk)
        self._floppy_globals(disks)
        return disks

    def _backend_of(self, reference: Any) -> Backend:
        """The backend a device's drive= names; while it is read, a bad value is the
        -drive's or the top -blockdev node's (self.current)."""
        device = self.current
        backend = self._read_backend(reference)
        self.current = device
        return backend

    def _read_backend(self, reference: Any) -> Backend:
        if isinstance(reference, str) and reference in self.drives:
            option = self.current = self.drives[reference]
            self.used.add(option.position)
            return from_drive(option)
        if isinstance(reference, str) and reference in self.nodes:
            name: str | None = reference
            seen: list[str] = []
            backing: list[str] = []
            while name is not None:  # the chain: filter, format, storage, backing nodes
                if name in seen:  # QEMU refuses a node that is its own file, or a loop
                    raise InputError(
                        f"the -blockdev chain of node '{_short(reference)}' loops back to "
                        f"node '{_short(name)}' ({' -> '.join(_short(n, 24) for n in seen)})",
                        source=self.command.source,
                        line=0,
                    )
                seen.append(name)
                node = self.nodes[name]
                self.used.add(node.position)
                child = node.fields.get("file")
                below = node.fields.get("backing")
                if isinstance(below, str) and below in self.nodes:
                    backing.append(below)  # read once this layer's storage is
                name = child if isinstance(child, str) and child in self.nodes else None
                if name is None and backing:
                    name = backing.pop()
            node = self.current = self.nodes[reference]
            return from_blockdev(node.fields, {k: v.fields for k, v in self.nodes.items()})
        return Backend()  # an empty CD-ROM drive

    def _frontend(self, option: ArgvOption) -> _Disk | None:
        f = option.fields
        driver = str(f["driver"])
        bus, device = _DISK_DEVICES[driver]
        backend = self._backend_of(f.get("drive"))
        if device is None:  # ide-drive / scsi-disk: the medium says what it is
            device = "cdrom" if backend.media == "cdrom" else "disk"
        if bus == "virtio" and on_off(f.get("scsi")) and backend.type == "block":
            device = "lun"  # libvirt writes scsi=on for a LUN (and, before 5.0, for all)
        disk = _Disk(bus, device, backend, option, props=dict(f))
        indexed = _INDEXED_ALIAS.match(str(f.get("id", "")))
        if indexed is not None:
            disk.dev = disk_name(_PREFIX[bus], int(indexed.group(2)))
        location = str(f.get("bus") or "")
        if bus == "scsi":
            disk.address = self._scsi_address(f)
        elif bus == "ide":
            alias, _, number = location.rpartition(".")
            controller = self.controllers.get(alias)
            if controller is not None or alias.startswith("sata") or self._q35():
                disk.bus = "sata"
                disk.address = (controller[1] if controller else 0, 0, 0, _bus_number(number))
            else:
                disk.address = (0, _bus_number(number), 0, number_of(f, "unit") or 0)
        elif bus == "fdc":
            disk.address = (0, 0, 0, number_of(f, "unit") or 0)
        return disk

    def _controller_index(self, kind: str, alias: str) -> int:
        """The index in a controller's alias (scsi1), or for a user alias (ua-…), which
        carries none, the lowest its type has free: libvirt writes controllers by index."""
        if not alias.startswith("ua-"):
            return _index(alias)
        used = {index for other, index, _, _ in self.controllers.values() if other == kind}
        return next(i for i in range(len(used) + 1) if i not in used)

    def _scsi_address(self, f: dict[str, Any]) -> tuple[int, int, int, int]:
        """(controller, bus, target, unit) of a SCSI device: a narrow controller (lsi)
        numbers its buses scsiN.B and units by scsi-id, the others by channel/scsi-id/lun."""
        alias, _, number = str(f.get("bus") or "").rpartition(".")
        controller = self.controllers.get(alias)
        index = controller[1] if controller else _index(alias)
        if controller is not None and controller[2] in NARROW_SCSI_MODELS:
            return index, _bus_number(number), 0, number_of(f, "scsi-id") or 0
        return (
            index,
            number_of(f, "channel") or 0,
            number_of(f, "scsi-id") or 0,
            number_of(f, "lun") or 0,
        )

    def _q35(self) -> bool:
        machine = next((o for o in self.options if o.flag in ("-machine", "-M")), None)
        return machine is not None and "q35" in str(machine.fields.get("type", ""))

    def _legacy_drive(self, option: ArgvOption) -> _Disk | None:
        backend = from_drive(option)
        interface = backend.interface or "ide"
        bus = _INTERFACE_BUS.get(interface)
        if bus is None:
            return None
        device = "cdrom" if backend.media == "cdrom" else ("floppy" if bus == "fdc" else "disk")
        disk = _Disk(bus, device, backend, option)
        per_controller, per_bus = _LAYOUT.get(bus, (0, 0))
        if backend.index is not None and bus != "virtio":
            disk.dev = disk_name(_PREFIX[bus], backend.index)
        elif backend.bus is not None or backend.unit is not None:
            if per_bus:
                disk.address = (0, backend.bus or 0, 0, backend.unit or 0)
        return disk

    def _floppy_globals(self, disks: list[_Disk]) -> None:
        """-global isa-fdc.driveA=ID (the -drive era's floppies) and bootindexA/B."""
        boot: dict[int, str] = {}
        for option in self.options:
            if option.flag == "-device" and option.fields.get("driver") == "isa-fdc":
                self.used.add(option.position)
                for unit, letter in ((0, "A"), (1, "B")):
                    if option.fields.get(f"bootindex{letter}") is not None:
                        boot[unit] = str(option.fields[f"bootindex{letter}"])
                    if option.fields.get(f"drive{letter}") is not None:
                        disks.append(
                            _Disk(
                                "fdc",
                                "floppy",
                                self._backend_of(option.fields[f"drive{letter}"]),
                                option,
                                address=(0, 0, 0, unit),
                            )
                        )
            if option.flag != "-global" or not str(option.value).startswith("isa-fdc."):
                continue
            self.used.add(option.position)
            key, _, value = str(option.value)[len("isa-fdc.") :].partition("=")
            unit = 0 if key.endswith("A") else 1
            if key.startswith("drive"):
                disk = _Disk(
                    "fdc", "floppy", self._backend_of(value), option, address=(0, 0, 0, unit)
                )
                disks.append(disk)
            elif key.startswith("bootindex"):
                boot[unit] = value
        for disk in disks:
            if disk.bus == "fdc" and disk.address and disk.address[3] in boot:
                disk.props["bootindex"] = boot[disk.address[3]]

    def _disk_xml(self, disk: _Disk) -> etree._Element:
        backend, props = disk.backend, disk.props
        node = new(
            Disk,
            "disk",
            type=backend.type or "file",
            device=disk.device,
            model=_virtio_model(props) if disk.bus == "virtio" else None,
        )
        driver = Disk.driver.create(node)
        driver.name = "qemu"
        driver.type = backend.format
        driver.cache = device_cache(backend, props.get("write-cache"))
        driver.io = backend.io
        driver.discard = backend.discard
        driver.detect_zeroes = backend.detect_zeroes
        driver.error_policy = error_policy(props.get("werror")) or backend.error_policy
        driver.rerror_policy = _read_policy(props, backend)
        driver.copy_on_read = True if backend.copy_on_read else None
        read_props(_DISK_DRIVER_ROWS, props, node)
        self._source(node, backend)
        self._backing_store(node.element, backend)
        target = Disk.target.create(node)
        target.dev, target.bus = disk.dev or "", disk.bus
        read_props(_rows_under("target."), props, node)
        read_props(_rows_under("geometry."), props, node)
        read_props(_rows_under("blockio."), props, node)
        if props.get("bootindex") is not None:
            node.boot_order = number(props["bootindex"])
        if backend.readonly or disk.device == "cdrom" and backend.type is None:
            node.readonly = True
        if on_off(props.get("share-rw")):
            node.shareable = True
        if not props.get("serial") and backend.serial:
            props = {**props, "serial": backend.serial}  # -drive serial= of old libvirt
        read_props(_DISK_IDENTITY_ROWS, props, node)
        alias = str(disk.option.fields.get("id") or "") if disk.option is not None else ""
        if alias.startswith("ua-"):
            node.alias = alias  # libvirt writes it as the id
        address = _address_xml(disk, self.pci_buses)
        if disk.option is not None:
            address = _with_zpci(address, disk.option, self.zpci)
        if address is not None:
            node.element.append(address)
        return node.element

    def _backing_store(self, parent: etree._Element, backend: Backend) -> None:
        """<backingStore> of each layer below BACKEND (type, <format>, <source>), and the
        empty one where the command line ends the chain with a null backing."""
        layer, depth = backend, 0
        while depth <= MAX_BACKING_DEPTH:  # from_blockdev read no deeper
            below = layer.backing
            if below is None:
                if layer.backing_ends:
                    etree.SubElement(parent, "backingStore")
                return
            parent = etree.SubElement(parent, "backingStore", type=below.type or "file")
            etree.SubElement(parent, "format", type=below.format or "raw")
            self._source(BackingStore(parent), below)
            layer, depth = below, depth + 1

    def _source(self, disk: Disk | BackingStore, backend: Backend) -> None:
        """<source> of BACKEND's medium (none for an empty drive), with its reservations:
        a disk's, or a layer's of its backing chain."""
        declared = type(disk).source
        if backend.type in ("file", "block", "dir") and backend.path is not None:
            source = declared.create(disk)
            key = {"file": "file", "block": "dev", "dir": "dir"}[backend.type]
            setattr(source, key, backend.path)
        elif backend.type == "network":
            source = declared.create(disk)
            source.protocol = backend.protocol or ""
            source.name = backend.name
            for host in backend.hosts:
                append(
                    source,
                    DiskSource.hosts,
                    name=host.name or None,
                    port=host.port or None,
                    transport=host.transport or None,
                    socket=host.socket or None,
                )
            read_props(disk_table.NETWORK_STORAGE, backend.storage, source)
        else:
            return
        if backend.pr_manager is not None:
            self._reservations(source, backend.pr_manager)

    def _hostdevs(self) -> list[etree._Element]:
        """vhost-scsi (<hostdev type='scsi_host'>) and iSCSI LUNs passed as scsi-generic
        (<hostdev type='scsi'> with an iSCSI source).  A local /dev/sgN does not say which
        host adapter address it is, so it stays on the command line."""
        found = []
        for option in self.options:
            self.current = option
            driver = str(option.fields.get("driver", "")) if option.flag == "-device" else ""
            if driver.startswith("vhost-scsi"):
                self.used.add(option.position)
                node = etree.Element("hostdev", mode="subsystem", type="scsi_host")
                model = _virtio_model(option.fields)
                if model is not None:
                    node.set("model", model)
                etree.SubElement(
                    node, "source", protocol="vhost", wwpn=str(option.fields.get("wwpn", ""))
                )
                address = _pci_or_ccw(option, self.pci_buses)
                if address is not None:
                    node.append(_with_zpci(address, option, self.zpci))
                found.append(node)
            elif driver == "scsi-generic":
                node = self._scsi_hostdev(option)
                if node is not None:
                    self.used.add(option.position)
                    found.append(node)
        return found

    def _scsi_hostdev(self, option: ArgvOption) -> etree._Element | None:
        """<hostdev type='scsi'>: an iSCSI LUN, or a local SCSI device by its /dev/sgN
        node when this host (or the test's) says whose it is."""
        reference = text_of(option.fields, "drive")
        if reference in self.drives:
            f = self.drives[reference].fields
            storage = {
                key[len("file.") :]: value for key, value in f.items() if key.startswith("file.")
            }
            storage.setdefault("filename", f.get("file"))
            readonly = on_off(f.get("readonly"))
            backend = self.drives[reference]
        elif reference in self.nodes:
            storage = self.nodes[reference].fields
            readonly = on_off(storage.get("read-only"))
            backend = self.nodes[reference]
        else:
            return None
        node = etree.Element("hostdev", mode="subsystem", type="scsi", managed="no")
        if storage.get("driver") == "iscsi":
            source = etree.SubElement(
                node,
                "source",
                protocol="iscsi",
                name=f"{storage.get('target')}/{storage.get('lun', 0)}",
            )
            host, _, port = str(storage.get("portal", "")).rpartition(":")
            etree.SubElement(source, "host", {"name": host, **({"port": port} if port else {})})
            if storage.get("user"):
                self._iscsi_auth(source, str(storage["user"]), storage.get("password-secret"))
            if storage.get("initiator-name"):
                initiator = etree.SubElement(source, "initiator")
                etree.SubElement(initiator, "iqn", name=str(storage["initiator-name"]))
        else:
            place = self.host.scsi_address(str(storage.get("filename") or ""))
            if place is None:
                return None
            adapter, bus, target, unit = place
            source = etree.SubElement(node, "source")
            etree.SubElement(source, "adapter", name=adapter)
            etree.SubElement(source, "address", bus=str(bus), target=str(target), unit=str(unit))
        self.used.add(backend.position)
        if readonly:
            etree.SubElement(node, "readonly")
        _user_alias(node, option)
        node.append(_drive_address(*self._scsi_address(option.fields)))
        return node

    def _iscsi_auth(self, source: etree._Element, user: str, secret: Any) -> None:
        """<auth>: the user is on the command line; which secret of libvirt's store holds
        the password is not (QEMU gets the password itself, in a secret object)."""
        auth = etree.SubElement(source, "auth", username=user)
        etree.SubElement(auth, "secret", type="iscsi", usage=str(secret or ""))
        self.used.update(
            o.position
            for o in self.options
            if o.flag == "-object"
            and o.fields.get("qom-type") == "secret"
            and o.fields.get("id") == secret
        )
        self.findings.append(
            Finding(
                "VX0603",
                "warning",
                f"the iSCSI password of user '{user}' comes from libvirt's "
                f"secret store, which the command line does not name: <secret usage='{secret}'> "
                "names QEMU's secret object instead",
                self.command.source,
                hint="set usage= or uuid= to the secret libvirt holds the password in",
            )
        )

    def _usb_and_balloon(self) -> list[etree._Element]:
        """The USB controller, its hubs and the memory balloon libvirt writes, with their
        places (which decide where libvirt puts the devices after them)."""
        found = []
        for option in self.options:
            f = option.fields
            driver = str(f.get("driver", "")) if option.flag == "-device" else ""
            if not set(f) <= _USB_BALLOON_KEYS:
                continue  # more than libvirt writes for them: kept as they are
            self.current = option
            if driver == "usb-hub":
                node = etree.Element("hub", type="usb")
                address = _usb_address(option)
                if address is not None:
                    node.append(address)
                self.used.add(option.position)
                found.append(node)
                continue
            elif driver.startswith("virtio-balloon-"):
                node = etree.Element("memballoon", model=_virtio_model(f) or "virtio")
                for key, name in (
                    ("deflate-on-oom", "autodeflate"),
                    ("free-page-reporting", "freePageReporting"),
                ):
                    value = on_off_text(on_off(f.get(key)))
                    if value is not None:
                        node.set(name, value)
                virtio_driver(Memballoon(node), f)
            else:
                continue
            self.used.add(option.position)
            address = _pci_or_ccw(option, self.pci_buses)
            if address is not None:
                node.append(_with_zpci(address, option, self.zpci))
            found.append(node)
        return found

    def _absent_defaults(self, devices: etree._Element) -> None:
        """libvirt adds a USB controller and a memory balloon to every domain that does not
        say model='none': a command line without them gives QEMU none, so the XML says so
        (virtxlate's own argv leaves them out too; the root ports they took stay)."""
        if devices.find("controller[@type='usb']") is None and not any(
            o.flag == "-usb" for o in self.options
        ):
            etree.SubElement(devices, "controller", type="usb", index="0", model="none")
        drivers = {str(o.fields.get("driver", "")) for o in self.options if o.flag == "-device"}
        if not any(d.startswith("virtio-balloon") for d in drivers):
            etree.SubElement(devices, "memballoon", model="none")

    def _reservations(self, source: DiskSource, manager: str) -> None:
        """<reservations>: libvirt's managed helper (pr-helper0) or the user's socket."""
        helper = next(
            (
                o
                for o in self.options
                if o.flag == "-object"
                and o.fields.get("qom-type") == "pr-manager-helper"
                and o.fields.get("id") == manager
            ),
            None,
        )
        if helper is not None:
            self.used.add(helper.position)
        source.reservations_managed = manager == "pr-helper0"
        if manager != "pr-helper0":
            set_path(source, "reservations/source/@type", "unix")
            set_path(source, "reservations/source/@mode", "client")
            source.reservations_path = str(helper.fields.get("path", "")) if helper else ""

    # --- what does not map ----------------------------------------------------------

    def _passthrough(self, root: etree._Element) -> None:
        managed = _managed_patterns()
        kept = []
        for option in self.options:
            if option.position in self.used:
                continue
            text = " ".join(option.words())
            if any(pattern.search(text) for pattern in managed):
                continue
            kept.append(option)
            self.findings.append(
                Finding(
                    "VX0601",
                    "warning",
                    f"'{_short(text)}' has no domain XML equivalent in "
                    "virtxlate; it is kept in <qemu:commandline>",
                    self.command.source,
                    hint="libvirt passes <qemu:commandline> arguments to QEMU as they are",
                )
            )
        if kept:
            commandline = etree.SubElement(root, f"{{{QEMU_NS}}}commandline")
            for option in kept:
                for word in option.words():
                    etree.SubElement(commandline, f"{{{QEMU_NS}}}arg", value=word)


def _user_alias(node: etree._Element, option: ArgvOption) -> None:
    """<alias name='ua-…'/>: a user's alias, which libvirt writes as the device id."""
    alias = str(option.fields.get("id", ""))
    if alias.startswith("ua-"):
        etree.SubElement(node, "alias", name=alias)


def _address_xml(disk: _Disk, buses: dict[str, int]) -> etree._Element | None:
    if disk.address is not None and disk.bus in ("scsi", "ide", "sata", "fdc"):
        controller, bus, target, unit = disk.address
        return _drive_address(controller, bus, target, unit)
    if disk.bus == "virtio" and disk.option is not None:
        return _pci_or_ccw(disk.option, buses)
    if disk.bus == "usb" and disk.option is not None:
        return _usb_address(disk.option)
    return None


def _drive_address(controller: int, bus: int, target: int, unit: int) -> etree._Element:
    """<address type='drive'>, through the model's Address."""
    fields = {"controller": controller, "bus": bus, "target": target, "unit": unit}
    return new(Address, "address", type="drive", **fields).element


def _usb_address(option: ArgvOption) -> etree._Element | None:
    """<address type='usb'> of a device on USB bus usbN.0 (libvirt's alias usb is 0)."""
    bus, port = str(option.fields.get("bus", "")), option.fields.get("port")
    match = re.fullmatch(r"usb(\d*)\.0", bus)
    if match is None or port is None:
        return None
    return etree.Element("address", type="usb", bus=match.group(1) or "0", port=str(port))


def _with_zpci(
    address: etree._Element | None, option: ArgvOption, zpci: dict[str, tuple[Any, Any]]
) -> etree._Element | None:
    ids = zpci.get(str(option.fields.get("id")))
    if address is not None and address.get("type") == "pci" and ids is not None:
        uid, fid = ids
        etree.SubElement(address, "zpci", uid=f"0x{uid or 0:04x}", fid=f"0x{fid or 0:08x}")
    return address


def _pci_or_ccw(option: ArgvOption, buses: dict[str, int]) -> etree._Element | None:
    """The device's place on a PCI bus the command line has (BUSES: its name → number),
    or its ccw devno."""
    devno = option.fields.get("devno")
    if devno:
        parts = text(devno).split(".")
        if len(parts) != 3 or not all(_is_hex(part) for part in parts):
            raise BadValue(f"bad value '{devno}' for devno (expected cssid.ssid.devno)")
        cssid, ssid, number = parts
        return etree.Element(
            "address", type="ccw", cssid=f"0x{cssid}", ssid=f"0x{ssid}", devno=f"0x{number}"
        )
    bus, addr = str(option.fields.get("bus", "")), option.fields.get("addr")
    if addr is None or bus not in buses:
        return None
    slot, _, function = text(addr).partition(".")
    if not _is_hex(slot) or not _is_hex(function or "0"):
        raise BadValue(f"bad value '{addr}' for addr (expected slot.function)")
    address = etree.Element(
        "address",
        type="pci",
        domain="0x0000",
        bus=f"{buses[bus]:#04x}",
        slot=f"0x{int(slot, 16):02x}",
        function=f"0x{int(function or '0', 16):x}",
    )
    multifunction = on_off_text(on_off(option.fields.get("multifunction")))
    if multifunction is not None:
        address.set("multifunction", multifunction)
    return address


def _controller_xml(
    kind: str, index: int, model: str | None, option: ArgvOption, buses: dict[str, int]
) -> etree._Element:
    node = new(Controller, "controller", type=kind, index=index, model=model)
    # <driver>: virtio-scsi's rows, in the order libvirt writes the attributes
    read_props(
        (*disk_table.SCSI_CONTROLLER, disk_table.IOTHREAD, *disk_table.VIRTIO_OPTIONS),
        option.fields,
        node,
    )
    alias = text_of(option.fields, "id") or ""
    if alias.startswith("ua-"):
        node.alias = alias  # libvirt writes it as the id
    _append_address(node.element, option, buses)
    return node.element


def _pci_controller_xml(index: int, option: ArgvOption, buses: dict[str, int]) -> etree._Element:
    """<controller type='pci'> of a root port or bridge libvirt wrote as -device."""
    f = option.fields
    driver = str(f["driver"])
    model = MODEL_OF_DEVICE[driver]
    node = new(Controller, "controller", type="pci", index=index, model=model)
    if DEFAULT_DEVICE[model] != driver:
        node.model_name = driver
    node.chassis_nr = number_of(f, "chassis_nr")
    node.chassis = number_of(f, "chassis")
    port = number_of(f, "port")
    # libvirt writes the port in hexadecimal; the model's integer field writes decimal
    set_path(node, "target/@port", None if port is None else f"{port:#x}")
    node.hotplug = on_off(f.get("hotplug"))
    _append_address(node.element, option, buses)
    return node.element


def _append_address(node: etree._Element, option: ArgvOption, buses: dict[str, int]) -> None:
    address = _pci_or_ccw(option, buses)
    if address is not None:
        node.append(address)


def _name_targets(disks: list[_Disk]) -> None:
    """Target names as libvirt maps them from drive addresses, kept in the command line's
    order: libvirt writes a bus's disks sorted by target name (virDomainDiskInsert), so a
    disk whose address would name it before an earlier one takes the next free name."""
    taken: dict[str, set[int]] = {}
    for disk in disks:
        if disk.dev is not None:
            taken.setdefault(_PREFIX[disk.bus], set()).add(disk_index(disk.dev) or 0)
    last: dict[str, int] = {}  # bus → the index of its last named disk
    for disk in disks:
        used = taken.setdefault(_PREFIX[disk.bus], set())
        if disk.dev is not None:
            last[disk.bus] = max(last.get(disk.bus, -1), disk_index(disk.dev) or 0)
            continue
        after = last.get(disk.bus, -1)
        index = _address_index(disk)
        if index is None or index <= after or index in used:
            index = next(i for i in range(after + 1, after + len(used) + 2) if i not in used)
        disk.dev = disk_name(_PREFIX[disk.bus], index)
        used.add(index)
        last[disk.bus] = index


def _address_index(disk: _Disk) -> int | None:
    """The target index libvirt's default mapping gives the disk's drive address."""
    if disk.address is None or disk.bus not in _LAYOUT:
        return None
    per_controller, per_bus = _LAYOUT[disk.bus]
    controller, bus, target, unit = disk.address
    if target != 0 or unit >= per_bus:
        return None
    return controller * per_controller + bus * per_bus + unit


def _virtio_model(fields: dict[str, Any]) -> str | None:
    """model='virtio-transitional' or 'virtio-non-transitional' of a virtio device: its
    -transitional type, or, before QEMU 4.0, the disable-legacy libvirt sets instead."""
    return transitional.model_of(
        str(fields.get("driver", "")),
        on_off(fields.get("disable-legacy")),
        on_off(fields.get("disable-modern")),
    )


def _bus_number(text: str) -> int:
    """The number after the dot of a bus name (scsi0.1, ide.0)."""
    try:
        return number(text or 0)
    except BadValue:
        raise BadValue(f"bad bus number '{text}' (expected a number)") from None


def _is_hex(text: str) -> bool:
    return bool(re.fullmatch(r"(0x)?[0-9a-fA-F]{1,8}", text))


def _index(alias: str) -> int:
    digits = re.search(r"(\d+)$", alias)
    return int(digits.group(1)) if digits else 0


def _read_policy(props: dict[str, Any], backend: Backend) -> str | None:
    """rerror_policy, unless it only repeats error_policy: libvirt writes rerror= equal
    to werror= when the XML names error_policy alone."""
    write = error_policy(props.get("werror")) or backend.error_policy
    read = error_policy(props.get("rerror")) or backend.rerror_policy
    return None if read == write else read


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
