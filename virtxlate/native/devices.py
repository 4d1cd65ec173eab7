"""A QEMU command line's non-storage devices as libvirt domain XML (from-argv).

Each reader takes the options one device kind is written with (the -device, its
-netdev/-chardev/-object/-audiodev/-fsdev back-end) and sets the model's fields the way
libvirt 9.0's qemu_command.c wrote them: qemuBuildInterfaceCommandLine, …ChrDeviceStr,
…RNGBackendProps, …VideoCommandLine, …SoundCommandLine, …GraphicsSPICECommandLine and
their kin.  An option carrying a property the reader does not know is left alone, so it
stays in <qemu:commandline> (nothing the user gave is lost).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from ..findings import Finding
from ..model import (
    Audio,
    Channel,
    Console,
    Controller,
    Filesystem,
    Graphics,
    Hostdev,
    Input,
    Interface,
    Iommu,
    Memballoon,
    MemoryDevice,
    Panic,
    Parallel,
    Redirdev,
    Rng,
    Serial,
    Shmem,
    Smartcard,
    Sound,
    Tpm,
    Video,
    Vsock,
    Watchdog,
)
from ..model.chardevs import CharHost
from ..model.fields import XmlObject
from ..names import transitional
from ..props import device_table
from ..props.controllers import USB_DEVICES
from ..props.display import AUTOPORT_PLACEHOLDER
from ..props.mapping import Row, number, on_off, read_props
from ..props.platform import WATCHDOG_ACTIONS
from .build import append, new
from .options import ArgvOption, number_of, text_of

# the keys libvirt writes on every -device it places (its id and place)
_PLACE = frozenset({"driver", "id", "bus", "addr", "multifunction", "devno", "port"})


@dataclass
class Devices:
    """The options being read (with the set of those already read) and what the domain
    learned so far; the readers add their elements to ``found``."""

    options: list[ArgvOption]
    used: set[int]
    address: Callable[[ArgvOption], etree._Element | None]
    usb_address: Callable[[ArgvOption], etree._Element | None]
    source: str
    kvm: bool
    findings: list[Finding] = field(default_factory=list)
    found: list[etree._Element] = field(default_factory=list)

    def devices(self, *drivers: str) -> list[ArgvOption]:
        """The -device options of DRIVERS (exact names or prefixes ending in '-') not read."""
        return [
            o
            for o in self.options
            if o.flag == "-device"
            and o.position not in self.used
            and _matches(str(o.fields.get("driver", "")), drivers)
        ]

    def backend(self, flag: str, ident: Any) -> ArgvOption | None:
        """The FLAG option (-chardev, -netdev, -object, -fsdev …) whose id is IDENT."""
        if not isinstance(ident, str):
            return None
        return next(
            (
                o
                for o in self.options
                if o.flag == flag and o.position not in self.used and o.fields.get("id") == ident
            ),
            None,
        )

    def take(self, *options: ArgvOption | None) -> None:
        self.used.update(o.position for o in options if o is not None)

    def place(self, obj: XmlObject, option: ArgvOption, usb: bool = False) -> None:
        """OPTION's user alias and its address (PCI, ccw, or USB port) on OBJ."""
        alias = str(option.fields.get("id", ""))
        if alias.startswith("ua-"):
            obj.element.append(etree.Element("alias", name=alias))
        address = self.usb_address(option) if usb else self.address(option)
        if address is not None:
            obj.element.append(address)
        self.found.append(obj.element)


def _matches(driver: str, drivers: Iterable[str]) -> bool:
    return any(driver == d or (d.endswith("-") and driver.startswith(d)) for d in drivers)


def _known(option: ArgvOption | None, keys: Iterable[str]) -> bool:
    """Whether OPTION carries only KEYS (and its place): what the reader reads back."""
    return option is not None and set(option.fields) <= _PLACE | set(keys)


def read_devices(d: Devices) -> None:
    """Every device kind this module reads, in the order of libvirt's <devices>."""
    for reader in (
        _interfaces,
        _filesystems,
        _virtiofs,
        _serial_controllers,
        _serials,
        _parallels,
        _virtio_serial_ports,
        _sclp_consoles,
        _inputs,
        _graphics,
        _sounds,
        _audios,
        _videos,
        _watchdogs,
        _redirdevs,
        _rngs,
        _vsocks,
        _pci_hostdevs,
        _usb_hostdevs,
        _panics,
        _shmems,
        _tpms,
        _iommus,
        _dimms,
        _smartcards,
        _usb_controllers,
    ):
        reader(d)


# --- network interfaces (qemuBuildInterfaceCommandLine) ---------------------------------

# NIC -device types whose <model type> is the type's own name
_NIC_MODELS = (
    "e1000",
    "e1000e",
    "rtl8139",
    "vmxnet3",
    "ne2k_pci",
    "pcnet",
    "i82551",
    "i82557b",
    "i82559er",
    "usb-net",
    "igb",
)
# the properties of the virtio options every virtio device's <driver> takes (the rows)
VIRTIO_OPTIONS = frozenset(row.qemu for row in device_table.VIRTIO_OPTIONS)
# a NIC's rows (props/device_table.py), read whatever the model
_NIC_ROWS = (
    *device_table.NIC_VIRTIO,
    *device_table.NIC_VIRTIO_QUEUES,
    device_table.NIC_MAC,
    device_table.NIC_BOOT,
    device_table.ROMBAR,
)
_NIC_KEYS = {row.qemu for row in _NIC_ROWS} | VIRTIO_OPTIONS
_NIC_KEYS |= {"netdev", "romfile", "mq", "vectors", "disable-legacy", "disable-modern"}
_NETDEV_KEYS = {"type", "id", "fd", "fds", "vhost", "vhostfd", "vhostfds", "queues"}
_NETDEV_KEYS |= {row.qemu for row in device_table.NETDEV_TAP}


def _interfaces(d: Devices) -> None:
    """<interface>: the NIC -device and its -netdev.  A tap opened by libvirt (fd=) is read
    back as type='ethernet': the fd says nothing of the network or bridge the tap was
    plugged into, and libvirt given type='ethernet' opens a tap and passes it the same
    way; user and vhost-user back-ends are read as what they are."""
    for option in d.devices("virtio-net-", *_NIC_MODELS):
        f = option.fields
        driver = str(f["driver"])
        netdev = d.backend("-netdev", f.get("netdev"))
        if netdev is None or not _known(option, _NIC_KEYS):
            continue
        kind = str(netdev.fields.get("type", ""))
        chardev = None
        if kind == "tap" and _known(netdev, _NETDEV_KEYS) and ({"fd", "fds"} & set(netdev.fields)):
            nic = new(Interface, "interface", type="ethernet")
        elif kind == "user" and _known(netdev, {"type", "id"}):
            nic = new(Interface, "interface", type="user")
        elif kind == "vhost-user" and _known(netdev, {"type", "id", "chardev", "queues"}):
            chardev = d.backend("-chardev", netdev.fields.get("chardev"))
            if (
                chardev is None
                or chardev.fields.get("backend") != "socket"
                or not _known(chardev, {"backend", "path", "server", "reconnect"})
            ):
                continue
            nic = new(Interface, "interface", type="vhostuser")
            _vhostuser_source(nic, chardev)
        else:
            continue
        d.take(option, netdev, chardev)
        read_props((device_table.NIC_MAC,), f, nic)
        virtio = driver.startswith("virtio-net")
        nic.model = "virtio" if virtio else driver
        model = transitional.model_of(
            driver, on_off(f.get("disable-legacy")), on_off(f.get("disable-modern"))
        )
        if virtio and model is not None:
            nic.model = model
        queues = number_of(netdev.fields, "queues")
        if queues is None and netdev.fields.get("fds"):
            queues = len(str(netdev.fields["fds"]).split(":"))
        vhost = on_off(netdev.fields.get("vhost"))
        tuned = set(f) & ({row.qemu for row in _NIC_ROWS if row.field.startswith("driver.")})
        if vhost or (queues and queues > 1) or tuned or set(f) & VIRTIO_OPTIONS:
            drv = Interface.driver.create(nic)
            drv.name = "vhost" if vhost else None
            drv.queues = queues if queues and queues > 1 else None
            read_props(device_table.VIRTIO_OPTIONS, f, drv)
        elif virtio and kind == "tap" and d.kvm:
            # libvirt gives a KVM guest's virtio tap vhost-net unless told name='qemu'
            Interface.driver.create(nic).name = "qemu"
        read_props(_NIC_ROWS, f, nic)
        if kind == "tap":
            read_props(device_table.NETDEV_TAP, netdev.fields, nic)
        _romfile(nic, f)
        d.place(nic, option, usb=driver == "usb-net")


# the rows of a kind whose reader is not in this module (native/todomain.py reads the
# balloon), read with its virtio options
_KIND_ROWS: dict[type, tuple[Row, ...]] = {Memballoon: device_table.BALLOON}


def virtio_driver(obj: XmlObject, f: dict[str, Any]) -> None:
    """OBJ's <driver> (its model's declaration) with the virtio options F carries, and
    the properties of OBJ's kind read elsewhere (_KIND_ROWS)."""
    read_props(_KIND_ROWS.get(type(obj), ()), f, obj)
    if set(f) & VIRTIO_OPTIONS:
        driver = type(obj).driver.create(obj)  # type: ignore[attr-defined]
        read_props(device_table.VIRTIO_OPTIONS, f, driver)


def _vhostuser_source(nic: Interface, chardev: ArgvOption) -> None:
    source = Interface.source.create(nic)
    source.type = "unix"
    source.path = text_of(chardev.fields, "path")
    source.mode = "server" if on_off(chardev.fields.get("server")) else "client"
    timeout = number_of(chardev.fields, "reconnect")
    if timeout is not None:  # libvirt's reconnect=0 is <reconnect enabled='no'/>
        source.reconnect_enabled = bool(timeout)
        source.reconnect_timeout = timeout or None


def _rom(obj: Interface | Hostdev, f: dict[str, Any]) -> None:
    """<rom bar file enabled> of rombar= (the row) and romfile= (qemuBuildRomProps)."""
    read_props((device_table.ROMBAR,), f, obj)
    _romfile(obj, f)


def _romfile(obj: Interface | Hostdev, f: dict[str, Any]) -> None:
    """romfile= as <rom file>, or <rom enabled='no'> when empty (qemuBuildRomProps)."""
    if "romfile" not in f:
        return
    rom = type(obj).rom.create(obj)  # type: ignore[attr-defined]
    if f["romfile"] == "":
        rom.enabled = False
    else:
        rom.file = text_of(f, "romfile")


# --- character devices (qemuBuildChrChardevStr) -----------------------------------------

_CHAR_KEYS = {
    "backend",
    "id",
    "path",
    "server",
    "wait",
    "host",
    "port",
    "telnet",
    "reconnect",
    "append",
    "name",
    "localaddr",
    "localport",
    "logfile",
    "logappend",
}
# libvirt's own socket of a guest agent channel (qemuDomainPrepareChannel): not written
# back, so libvirt makes it again for whatever domain the XML becomes
_AUTO_CHANNEL = re.compile(r"^/var/lib/libvirt/qemu/channel/target/domain-[^/]+/[^/]+$")


def _chardev(d: Devices, ident: Any) -> ArgvOption | None:
    chardev = d.backend("-chardev", ident)
    return chardev if _known(chardev, _CHAR_KEYS) else None


def _char_source(obj: CharHost, chardev: ArgvOption, auto_path: bool = False) -> bool:
    """OBJ's type and <source> from CHARDEV; False for a back-end it does not read."""
    f = chardev.fields
    backend = str(f.get("backend", ""))
    server = on_off(f.get("server"))
    if backend in ("pty", "null", "vc", "stdio", "spicevmc"):
        obj.type = backend
        return backend != "spicevmc" or f.get("name") in ("vdagent", "usbredir", "smartcard", None)
    if backend in ("file", "pipe", "serial", "tty", "parallel", "parport"):
        obj.type = {"serial": "dev", "tty": "dev", "parallel": "dev", "parport": "dev"}.get(
            backend, backend
        )
        append(obj, CharHost.sources, path=text_of(f, "path"), append=on_off(f.get("append")))
        return True
    if backend == "spiceport":
        obj.type = "spiceport"
        append(obj, CharHost.sources, channel=text_of(f, "name"))
        return True
    if backend == "socket" and "path" in f:
        obj.type = "unix"
        path = text_of(f, "path")
        if auto_path and path and _AUTO_CHANNEL.match(path):
            append(obj, CharHost.sources, mode="bind")
        else:
            append(obj, CharHost.sources, mode="bind" if server else "connect", path=path)
        _reconnect(obj, f)
        return True
    if backend == "socket":
        obj.type = "tcp"
        append(
            obj,
            CharHost.sources,
            mode="bind" if server else "connect",
            host=text_of(f, "host"),
            service=text_of(f, "port"),
        )
        obj.protocol = "telnet" if on_off(f.get("telnet")) else "raw"
        _reconnect(obj, f)
        return True
    if backend == "udp":
        obj.type = "udp"
        append(
            obj,
            CharHost.sources,
            mode="connect",
            host=text_of(f, "host"),
            service=text_of(f, "port"),
        )
        if f.get("localaddr") or f.get("localport"):
            append(
                obj,
                CharHost.sources,
                mode="bind",
                host=text_of(f, "localaddr"),
                service=text_of(f, "localport"),
            )
        return True
    return False


def _reconnect(obj: CharHost, f: dict[str, Any]) -> None:
    if f.get("reconnect") is not None:
        source = obj.sources[0]
        timeout = number_of(f, "reconnect")
        source.reconnect_enabled = bool(timeout)
        source.reconnect_timeout = timeout or None


def _serial_controllers(d: Devices) -> None:
    """<controller type='virtio-serial'>: virtio-serial-pci/-ccw/-device."""
    for option in d.devices("virtio-serial-"):
        f = option.fields
        keys = {"max_ports", "vectors", "disable-legacy", "disable-modern", *VIRTIO_OPTIONS}
        if not _known(option, keys):
            continue
        alias = str(f.get("id", ""))
        match = re.fullmatch(r"virtio-serial(\d+)", alias)
        if match is None:
            continue
        d.take(option)
        node = new(
            Controller,
            "controller",
            type="virtio-serial",
            index=int(match.group(1)),
            model=transitional.model_of(
                str(f["driver"]), on_off(f.get("disable-legacy")), on_off(f.get("disable-modern"))
            ),
            ports=number_of(f, "max_ports"),
            vectors=number_of(f, "vectors"),
        )
        virtio_driver(node, f)
        d.place(node, option)


def _serials(d: Devices) -> None:
    """<serial>: isa-serial/pci-serial/usb-serial with their chardev, and -serial
    chardev:ID (libvirt's serial on machines whose serial is built in, and on x86 before
    its -device serials)."""
    models = {"isa-serial": "isa-serial", "pci-serial": "pci", "usb-serial": "usb-serial"}
    for option in d.options:
        f = option.fields
        if option.position in d.used:
            continue
        if option.flag == "-device" and f.get("driver") in models:
            if not _known(option, {"chardev", "index"}):
                continue
            chardev = _chardev(d, f.get("chardev"))
            port = number_of(f, "index")
        elif option.flag == "-serial" and str(option.value).startswith("chardev:"):
            chardev = _chardev(d, str(option.value)[len("chardev:") :])
            port = None
        else:
            continue
        if chardev is None:
            continue
        node = new(Serial, "serial")
        if not _char_source(node, chardev):
            continue
        d.take(option, chardev)
        driver = str(f.get("driver", ""))
        if port is None:
            port = _index(str(f.get("id") or chardev.fields.get("id", "")))
        # -serial is the machine's own serial (isa-serial on x86, pl011 on Arm's virt):
        # libvirt's default target for the arch, so the XML names none
        if driver:
            node.target_type = {"pci-serial": "pci-serial", "usb-serial": "usb-serial"}.get(
                driver, "isa-serial"
            )
        node.target_port = port
        if driver:
            node.target_model = models[driver]
        d.place(node, option, usb=driver == "usb-serial")


def _parallels(d: Devices) -> None:
    for option in d.devices("isa-parallel"):
        chardev = _chardev(d, option.fields.get("chardev"))
        if chardev is None or not _known(option, {"chardev", "index"}):
            continue
        node = new(Parallel, "parallel")
        if not _char_source(node, chardev):
            continue
        d.take(option, chardev)
        node.target_port = _index(str(option.fields.get("id", "")))
        d.place(node, option)


def _virtio_serial_ports(d: Devices) -> None:
    """<channel type=… ><target type='virtio' name/> (virtserialport) and <console>
    <target type='virtio'> (virtconsole), at their virtio-serial address."""
    for option in d.devices("virtserialport", "virtconsole"):
        f = option.fields
        chardev = _chardev(d, f.get("chardev"))
        if chardev is None or not _known(option, {"chardev", "nr", "name"}):
            continue
        console = f["driver"] == "virtconsole"
        node: Console | Channel = new(Console, "console") if console else new(Channel, "channel")
        if not _char_source(node, chardev, auto_path=not console):
            continue
        d.take(option, chardev)
        node.target_type = "virtio"
        if isinstance(node, Channel):
            node.target_name = text_of(f, "name")
        else:
            node.target_port = _index(str(f.get("id", "")))
        alias = str(f.get("id", ""))
        if alias.startswith("ua-"):
            node.element.append(etree.Element("alias", name=alias))
        bus = re.fullmatch(r"virtio-serial(\d+)\.(\d+)", str(f.get("bus", "")))
        if bus is not None and f.get("nr") is not None:
            etree.SubElement(
                node.element,
                "address",
                type="virtio-serial",
                controller=bus.group(1),
                bus=bus.group(2),
                port=str(number(f["nr"])),
            )
        d.found.append(node.element)


def _sclp_consoles(d: Devices) -> None:
    """<console><target type='sclp'|'sclplm'>: s390's line-mode and ASCII consoles."""
    for option in d.devices("sclpconsole", "sclplmconsole"):
        chardev = _chardev(d, option.fields.get("chardev"))
        if chardev is None or not _known(option, {"chardev"}):
            continue
        node = new(Console, "console")
        if not _char_source(node, chardev):
            continue
        d.take(option, chardev)
        node.target_type = "sclp" if option.fields["driver"] == "sclpconsole" else "sclplm"
        d.place(node, option)


def _redirdevs(d: Devices) -> None:
    """<redirdev bus='usb'>: usb-redir with its spicevmc or tcp chardev."""
    for option in d.devices("usb-redir"):
        chardev = _chardev(d, option.fields.get("chardev"))
        if chardev is None or not _known(option, {"chardev", "bootindex", "filter"}):
            continue
        if "filter" in option.fields:
            continue
        node = new(Redirdev, "redirdev", bus="usb")
        if not _char_source(node, chardev):
            continue
        d.take(option, chardev)
        if option.fields.get("bootindex") is not None:
            node.boot_order = number(option.fields["bootindex"])
        d.place(node, option, usb=True)


# --- inputs, graphics, video, sound ---------------------------------------------------

_INPUTS = {
    "usb-tablet": ("tablet", "usb"),
    "usb-mouse": ("mouse", "usb"),
    "usb-kbd": ("keyboard", "usb"),
    "virtio-tablet-": ("tablet", "virtio"),
    "virtio-mouse-": ("mouse", "virtio"),
    "virtio-keyboard-": ("keyboard", "virtio"),
    "virtio-input-host-": ("passthrough", "virtio"),
}

_INPUT_KEYS = {row.qemu for row in device_table.INPUT}


def _inputs(d: Devices) -> None:
    """<input>: USB and virtio inputs (PS/2 ones are the machine's own, not options)."""
    for option in d.devices(*_INPUTS):
        f = option.fields
        if not _known(option, {*_INPUT_KEYS, "disable-legacy", "disable-modern", *VIRTIO_OPTIONS}):
            continue
        driver = str(f["driver"])
        key = next(k for k in _INPUTS if _matches(driver, [k]))
        kind, bus = _INPUTS[key]
        node = new(Input, "input", type=kind, bus=bus)
        if bus == "virtio":
            node.model = transitional.model_of(
                driver, on_off(f.get("disable-legacy")), on_off(f.get("disable-modern"))
            )
        read_props(device_table.INPUT, f, node)
        virtio_driver(node, f)
        d.take(option)
        d.place(node, option, usb=bus == "usb")


_VIDEO = {
    "VGA": "vga",
    "cirrus-vga": "cirrus",
    "qxl-vga": "qxl",
    "qxl": "qxl",
    "virtio-vga": "virtio",
    "virtio-gpu-pci": "virtio",
    "virtio-gpu-ccw": "virtio",
    "virtio-gpu-device": "virtio",
    "virtio-vga-gl": "virtio",
    "virtio-gpu-gl-pci": "virtio",
    "bochs-display": "bochs",
    "ramfb": "ramfb",
    "vmware-svga": "vmvga",
}


def _videos(d: Devices) -> None:
    """<video><model type ram vram vram64 vgamem heads primary>: libvirt's first video is
    the primary one (a -vga type), the others plain PCI types (qemuBuildDeviceVideoStr)."""
    first = True
    for option in d.devices(*_VIDEO):
        f = option.fields
        driver = str(f["driver"])
        kind = _VIDEO[driver]
        # the size rows of the card's model type (another size stays on the line)
        rows = [row for row in device_table.VIDEO if row.applies(kind, None)]
        rows += device_table.VIDEO_RESOLUTION
        if not _known(option, {row.qemu for row in rows} | VIRTIO_OPTIONS):
            continue
        d.take(option)
        node = new(Video, "video")
        model = Video.model.create(node)
        model.type = kind
        read_props(rows, f, node)
        if driver.endswith("-gl") or driver.endswith("-gl-pci"):
            model.accel3d = True
        if first and model.type == "qxl":
            model.primary = True
        virtio_driver(node, f)
        first = False
        d.place(node, option)
    if not any(n.tag == "video" for n in d.found) and any(
        o.flag in ("-vnc", "-spice") for o in d.options
    ):
        # graphics without a video device: libvirt would add one unless told 'none'
        node = new(Video, "video")
        Video.model.create(node).type = "none"
        d.found.append(node.element)


_SPICE_KEYS = {
    "tls-channel",
    "plaintext-channel",
    "port",
    "tls-port",
    "addr",
    "disable-ticketing",
    "image-compression",
    "jpeg-wave-compression",
    "zlib-glz-wave-compression",
    "playback-compression",
    "streaming-video",
    "disable-copy-paste",
    "disable-agent-file-xfer",
    "seamless-migration",
    "agent-mouse",
    "unix",
    "gl",
    "rendernode",
}


def _graphics(d: Devices) -> None:
    """<graphics type='vnc'|'spice'>: -vnc HOST:DISPLAY or unix:PATH, -spice port/addr
    and image settings.  A port libvirt chose (autoport) reads back as the port itself:
    the line does not say it was chosen."""
    for option in d.options:
        if option.position in d.used:
            continue
        if option.flag == "-vnc":
            node = _vnc(option)
        elif option.flag == "-spice":
            node = _spice(option)
        else:
            continue
        if node is None:
            continue
        d.take(option)
        d.found.append(node.element)


def _vnc(option: ArgvOption) -> Graphics | None:
    f = option.fields
    # libvirt 9.0 writes vnc=unix:PATH when it names more after it (its audiodev)
    target = str(f.get("") or f.get("vnc") or "")
    if set(f) - {"", "vnc", "audiodev", "websocket", "share"}:
        return None
    node = new(Graphics, "graphics", type="vnc")
    if target.startswith("unix:"):
        append(node, Graphics.listens, type="socket", socket=target[len("unix:") :])
        node.socket = target[len("unix:") :]
    elif target == "none":
        append(node, Graphics.listens, type="none")
    else:
        host, _, display = target.rpartition(":")
        if display == AUTOPORT_PLACEHOLDER:  # virtxlate's own line: libvirt picks the port
            node.autoport = True
        elif not re.fullmatch(r"[0-9]{1,5}", display):
            return None
        else:
            node.port, node.autoport = 5900 + int(display), False
        host = host.strip("[]")
        if host:
            node.listen = host
            append(node, Graphics.listens, type="address", address=host)
    if f.get("websocket") == AUTOPORT_PLACEHOLDER:
        node.websocket = -1  # libvirt's "pick one" (websocket='-1')
    else:
        node.websocket = number_of(f, "websocket")
    node.share_policy = text_of(f, "share")
    audiodev = re.fullmatch(r"audio(\d+)", str(f.get("audiodev", "")))
    if audiodev is not None:
        node.audio_id = int(audiodev.group(1))
    return node


def _spice(option: ArgvOption) -> Graphics | None:
    f = option.fields
    if set(f) - _SPICE_KEYS or on_off(f.get("disable-ticketing")) is not True:
        return None  # a password comes from a secret object the line only names
    node = new(Graphics, "graphics", type="spice")
    if on_off(f.get("unix")):
        append(node, Graphics.listens, type="socket", socket=text_of(f, "addr"))
    elif f.get("port") == AUTOPORT_PLACEHOLDER:  # virtxlate's own line: libvirt picks it
        node.autoport = True
        host = text_of(f, "addr")
        if host:
            node.listen = host
            append(node, Graphics.listens, type="address", address=host)
    else:
        node.port = number_of(f, "port")
        node.tls_port = number_of(f, "tls-port")
        node.autoport = False if node.port or node.tls_port else None
        host = text_of(f, "addr")
        if host:
            node.listen = host
            append(node, Graphics.listens, type="address", address=host)
        elif not node.port and not node.tls_port:
            append(node, Graphics.listens, type="none")
    for prop, mode in (("tls-channel", "secure"), ("plaintext-channel", "insecure")):
        if prop in f:
            if str(option.value).count(f"{prop}=") > 1:
                return None  # key=value keeps only one of a repeated key: left as it is
            append(node, Graphics.channels, name=text_of(f, prop), mode=mode)
    node.image_compression = text_of(f, "image-compression")
    node.jpeg_compression = text_of(f, "jpeg-wave-compression")
    node.zlib_compression = text_of(f, "zlib-glz-wave-compression")
    playback = on_off(f.get("playback-compression"))
    node.playback_compression = None if playback is None else ("on" if playback else "off")
    node.streaming_mode = text_of(f, "streaming-video")
    if on_off(f.get("disable-copy-paste")):
        node.clipboard_copypaste = False
    if on_off(f.get("disable-agent-file-xfer")):
        node.filetransfer_enable = False
    mouse = on_off(f.get("agent-mouse"))
    node.mouse_mode = None if mouse is None else ("client" if mouse else "server")
    if on_off(f.get("gl")):
        node.gl_enable = True
        node.gl_rendernode = text_of(f, "rendernode")
    return node


_SOUND = {
    "intel-hda": "ich6",
    "ich9-intel-hda": "ich9",
    "AC97": "ac97",
    "ES1370": "es1370",
    "sb16": "sb16",
    "usb-audio": "usb",
}
_CODECS = {"hda-duplex": "duplex", "hda-micro": "micro", "hda-output": "output"}


def _sounds(d: Devices) -> None:
    """<sound model> with its HDA codecs (hda-duplex … on bus soundN.0) and <audio id>."""
    for option in d.devices(*_SOUND):
        f = option.fields
        if not _known(option, {"audiodev"}):
            continue
        alias = str(f.get("id", ""))
        codecs = [
            c
            for c in d.devices(*_CODECS)
            if str(c.fields.get("bus", "")) == f"{alias}.0" and _known(c, {"cad", "audiodev"})
        ]
        d.take(option, *codecs)
        node = new(Sound, "sound", model=_SOUND[str(f["driver"])])
        audiodev = f.get("audiodev")
        for codec in codecs:
            append(node, Sound.codecs, type=_CODECS[str(codec.fields["driver"])])
            audiodev = audiodev or codec.fields.get("audiodev")
        if isinstance(audiodev, str) and re.fullmatch(r"audio\d+", audiodev):
            node.audio_id = int(audiodev[len("audio") :])
        d.place(node, option, usb=f["driver"] == "usb-audio")


_AUDIO_TYPES = {
    "none": "none",
    "alsa": "alsa",
    "coreaudio": "coreaudio",
    "dbus": "dbus",
    "jack": "jack",
    "oss": "oss",
    "pa": "pulseaudio",
    "pipewire": "pipewire",
    "sdl": "sdl",
    "spice": "spice",
    "wav": "file",
}


def _audios(d: Devices) -> None:
    """<audio id type>: an -audiodev libvirt named audioN, its type's name in libvirt."""
    for option in d.options:
        f = option.fields
        if option.flag != "-audiodev" or option.position in d.used:
            continue
        ident = re.fullmatch(r"audio(\d+)", str(f.get("id", "")))
        kind = _AUDIO_TYPES.get(str(f.get("driver", "")))
        if ident is None or kind is None or set(f) - {"id", "driver", "path"}:
            continue
        d.take(option)
        node = new(Audio, "audio", id=int(ident.group(1)), type=kind)
        node.path = text_of(f, "path")
        d.found.append(node.element)


# --- platform devices -----------------------------------------------------------------


_WATCHDOG_ACTIONS = {qemu: xml for xml, qemu in WATCHDOG_ACTIONS.items() if xml != "dump"}


def _watchdogs(d: Devices) -> None:
    """<watchdog model action>: i6300esb, ib700, diag288, with -watchdog-action."""
    action = next(
        (o for o in d.options if o.flag == "-watchdog-action" and o.position not in d.used),
        None,
    )
    for option in d.devices("i6300esb", "ib700", "diag288"):
        if not _known(option, ()):
            continue
        d.take(option, action)
        node = new(Watchdog, "watchdog", model=str(option.fields["driver"]))
        if action is not None:
            # props/platform.py's table read backwards ('dump' is libvirt's: a pause)
            node.action = _WATCHDOG_ACTIONS.get(str(action.value), str(action.value))
        d.place(node, option)


_RNG_KEYS = {"rng", "disable-legacy", "disable-modern", *VIRTIO_OPTIONS}
_RNG_KEYS |= {row.qemu for row in device_table.RNG}


def _rngs(d: Devices) -> None:
    """<rng model='virtio'> with its back-end object: rng-random (filename), rng-builtin,
    rng-egd (chardev)."""
    for option in d.devices("virtio-rng-"):
        f = option.fields
        backend = d.backend("-object", f.get("rng"))
        if backend is None or not _known(option, _RNG_KEYS):
            continue
        b = backend.fields
        kind = str(b.get("qom-type", ""))
        node = new(
            Rng,
            "rng",
            model=transitional.model_of(
                str(f["driver"]), on_off(f.get("disable-legacy")), on_off(f.get("disable-modern"))
            )
            or "virtio",
        )
        chardev = None
        if kind == "rng-random" and set(b) <= {"qom-type", "id", "filename"}:
            back = Rng.backend.create(node)
            back.model = "random"
            back.element.text = text_of(b, "filename")
        elif kind == "rng-builtin" and set(b) <= {"qom-type", "id"}:
            Rng.backend.create(node).model = "builtin"
        elif kind == "rng-egd" and set(b) <= {"qom-type", "id", "chardev"}:
            chardev = _chardev(d, b.get("chardev"))
            back = Rng.backend.create(node)
            back.model = "egd"
            holder = new(Channel, "backend")  # a chardev's type and source, then moved
            if chardev is None or not _char_source(holder, chardev):
                continue
            back.type = holder.type
            for child in holder.element:
                back.element.append(child)
        else:
            continue
        d.take(option, backend, chardev)
        read_props(device_table.RNG, f, node)
        virtio_driver(node, f)
        d.place(node, option)


def _vsocks(d: Devices) -> None:
    """<vsock model='virtio'><cid auto='no' address/>: the guest CID (libvirt's chosen one
    when auto) and a vhostfd that exists only in libvirt's process."""
    for option in d.devices("vhost-vsock-"):
        f = option.fields
        keys = {"guest-cid", "vhostfd", "disable-legacy", "disable-modern", *VIRTIO_OPTIONS}
        if not _known(option, keys):
            continue
        d.take(option)
        node = new(
            Vsock,
            "vsock",
            model=transitional.model_of(
                str(f["driver"]), on_off(f.get("disable-legacy")), on_off(f.get("disable-modern"))
            )
            or "virtio",
        )
        node.cid_auto = False
        node.cid_address = number_of(f, "guest-cid")
        virtio_driver(node, f)
        d.place(node, option)


_SECURITY = {"passthrough": "passthrough", "mapped": "mapped", "none": "squash"}


def _virtiofs(d: Devices) -> None:
    """<filesystem><driver type='virtiofs'/>: vhost-user-fs with its socket chardev.  The
    shared directory is virtiofsd's argument, not QEMU's: the filesystem comes back by
    the socket (<source socket>, a virtiofsd libvirt does not start), with a note."""
    for option in d.devices("vhost-user-fs-"):
        f = option.fields
        chardev = d.backend("-chardev", f.get("chardev"))
        if chardev is None or not _known(option, {"chardev", "tag", "queue-size", "bootindex"}):
            continue
        c = chardev.fields
        if c.get("backend") != "socket" or set(c) - {"backend", "id", "path"}:
            continue
        d.take(option, chardev)
        node = new(Filesystem, "filesystem", type="mount")
        settings = Filesystem.driver.create(node)
        settings.type = "virtiofs"
        settings.queue = number_of(f, "queue-size")
        node.source_socket = text_of(c, "path")
        node.target_dir = text_of(f, "tag")
        if f.get("bootindex") is not None:
            node.boot_order = number(f["bootindex"])
        d.findings.append(
            Finding(
                "VX0604",
                "info",
                f"virtiofs '{node.target_dir}': the shared directory is virtiofsd's "
                "argument, not on QEMU's command line; the filesystem names its socket",
                d.source,
                hint="write <source dir> instead to have libvirt start virtiofsd",
            )
        )
        d.place(node, option)


def _filesystems(d: Devices) -> None:
    """<filesystem type='mount'>: virtio-9p with its -fsdev local (path, security_model,
    readonly, writeout, fmode/dmode, multidevs)."""
    for option in d.devices("virtio-9p-"):
        f = option.fields
        fsdev = d.backend("-fsdev", f.get("fsdev"))
        keys = {"", "fsdriver", "id", "path", "security_model", "readonly", "writeout"}
        keys |= {"fmode", "dmode", "multidevs"}
        if fsdev is None or not _known(
            option, {"fsdev", "mount_tag", "disable-legacy", "disable-modern", *VIRTIO_OPTIONS}
        ):
            continue
        b = fsdev.fields
        if set(b) - keys or b.get("", b.get("fsdriver")) != "local":
            continue
        d.take(option, fsdev)
        node = new(
            Filesystem,
            "filesystem",
            type="mount",
            accessmode=_SECURITY.get(str(b.get("security_model"))),
            model=transitional.model_of(
                str(f["driver"]), on_off(f.get("disable-legacy")), on_off(f.get("disable-modern"))
            ),
            multidevs=text_of(b, "multidevs"),
            fmode=text_of(b, "fmode"),
            dmode=text_of(b, "dmode"),
        )
        if b.get("writeout") == "immediate" or set(f) & set(VIRTIO_OPTIONS):
            settings = Filesystem.driver.create(node)
            settings.wrpolicy = "immediate" if b.get("writeout") == "immediate" else None
            read_props(device_table.VIRTIO_OPTIONS, f, settings)
        node.source_dir = text_of(b, "path")
        node.target_dir = text_of(f, "mount_tag")
        if on_off(b.get("readonly")):
            etree.SubElement(node.element, "readonly")
        d.place(node, option)


# --- host devices and USB controllers -------------------------------------------------

_PCI_HOST = re.compile(r"^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$")


def _pci_hostdevs(d: Devices) -> None:
    """<hostdev type='pci' managed='yes'>: vfio-pci host=DDDD:BB:SS.F."""
    for option in d.devices("vfio-pci"):
        f = option.fields
        match = _PCI_HOST.match(str(f.get("host", "")))
        if match is None or not _known(option, {"host", "bootindex", "romfile", "rombar"}):
            continue
        d.take(option)
        node = new(Hostdev, "hostdev", mode="subsystem", type="pci", managed=True)
        domain, bus, slot, function = match.groups()
        source = Hostdev.source.create(node)
        source.element.append(
            etree.Element(
                "address",
                domain=f"0x{domain or '0000'}",
                bus=f"0x{bus}",
                slot=f"0x{slot}",
                function=f"0x{function}",
            )
        )
        if f.get("bootindex") is not None:
            node.boot_order = number(f["bootindex"])
        _rom(node, f)
        d.place(node, option)


def _usb_hostdevs(d: Devices) -> None:
    """<hostdev type='usb'>: usb-host by hostbus/hostaddr (what libvirt resolves
    vendor/product to on its host)."""
    for option in d.devices("usb-host"):
        f = option.fields
        if not _known(option, {"hostbus", "hostaddr", "hostdevice", "bootindex"}):
            continue
        bus, device = number_of(f, "hostbus"), number_of(f, "hostaddr")
        node_path = re.fullmatch(r"/dev/bus/usb/(\d{3})/(\d{3})", str(f.get("hostdevice", "")))
        if node_path is not None:  # libvirt 9.0 names the device node instead
            bus, device = int(node_path.group(1)), int(node_path.group(2))
        if bus is None or device is None:
            continue
        d.take(option)
        node = new(Hostdev, "hostdev", mode="subsystem", type="usb", managed=False)
        source = Hostdev.source.create(node)
        source.usb_bus, source.usb_device = bus, device
        if f.get("bootindex") is not None:
            node.boot_order = number(f["bootindex"])
        d.place(node, option, usb=True)


_TPM_MODELS = {"tpm-tis": "tpm-tis", "tpm-crb": "tpm-crb", "tpm-spapr": "tpm-spapr"}
_TPM_MODELS["tpm-tis-device"] = "tpm-tis"


def _tpms(d: Devices) -> None:
    """<tpm model><backend type='emulator'|'passthrough'>: the -tpmdev a tpm-* device
    names.  swtpm's socket and the host TPM libvirt opens (passed as an fd set) exist
    only for a libvirt-run guest, so the backend comes back with libvirt's defaults for
    them, said in an info finding (VX0604)."""
    for option in d.devices(*_TPM_MODELS):
        f = option.fields
        tpmdev = d.backend("-tpmdev", f.get("tpmdev"))
        if tpmdev is None or not _known(option, {"tpmdev"}):
            continue
        b = tpmdev.fields
        kind = str(b.get("", ""))
        taken: list[ArgvOption | None] = [option, tpmdev]
        node = new(Tpm, "tpm", model=_TPM_MODELS[str(f["driver"])])
        if kind == "emulator" and set(b) <= {"", "id", "chardev"}:
            chardev = d.backend("-chardev", b.get("chardev"))
            if chardev is None or chardev.fields.get("backend") != "socket":
                continue
            taken.append(chardev)
            Tpm.backend.create(node).type = "emulator"
            note = "the swtpm socket and the TPM version are not on the command line"
        elif kind == "passthrough" and set(b) <= {"", "id", "path", "cancel-path"}:
            path = str(b.get("path", ""))
            backend = Tpm.backend.create(node)
            backend.type = "passthrough"
            fdsets = _fd_sets(d, [path, str(b.get("cancel-path", ""))])
            taken += fdsets
            if path.startswith("/dev/fdset/"):
                note = "the host TPM libvirt opened is passed as an fd set, not by its path"
            else:
                backend.device_path = path
                note = ""
        else:
            continue
        d.take(*taken)
        if note:
            d.findings.append(
                Finding(
                    "VX0604",
                    "info",
                    f"<tpm model='{node.model}'>: {note}; the XML leaves them to libvirt's "
                    "defaults",
                    d.source,
                    hint="set <backend>'s version or <device path> if the guest had others",
                )
            )
        d.place(node, option)


_IOMMU = {row.qemu for row in device_table.INTEL_IOMMU}


def _iommus(d: Devices) -> None:
    """<iommu model='intel'|'virtio'> with its <driver> (intel-iommu's properties)."""
    for option in d.devices("intel-iommu", "virtio-iommu-"):
        f = option.fields
        if not _known(option, _IOMMU):
            continue
        d.take(option)
        driver = str(f["driver"])
        node = new(Iommu, "iommu", model="intel" if driver == "intel-iommu" else "virtio")
        read_props(device_table.INTEL_IOMMU, f, node)
        d.place(node, option)


_MEMORY_KEYS = {row.qemu for row in device_table.MEMORY_DEVICE}


def _dimms(d: Devices) -> None:
    """<memory model='dimm'>: pc-dimm over the memory-backend-ram libvirt names memdimmN,
    at its slot (qemuBuildMemoryDeviceProps)."""
    for option in d.devices("pc-dimm"):
        f = option.fields
        backend = d.backend("-object", f.get("memdev"))
        if backend is None or not _known(option, {"memdev", "slot", "addr", *_MEMORY_KEYS}):
            continue
        b = backend.fields
        if b.get("qom-type") != "memory-backend-ram" or set(b) - {"qom-type", "id", "size"}:
            continue
        d.take(option, backend)
        node = new(MemoryDevice, "memory", model="dimm")
        target = MemoryDevice.target.create(node)
        target.size, target.size_unit = (number_of(b, "size") or 0) // 1024, "KiB"
        read_props(device_table.MEMORY_DEVICE, f, node)
        slot, base = number_of(f, "slot"), number_of(f, "addr")
        if slot is not None or base is not None:
            address = etree.SubElement(node.element, "address", type="dimm")
            if slot is not None:
                address.set("slot", str(slot))
            if base is not None:
                address.set("base", f"{base:#x}")
        alias = str(f.get("id", ""))
        if alias.startswith("ua-"):
            node.element.append(etree.Element("alias", name=alias))
        d.found.append(node.element)


def _smartcards(d: Devices) -> None:
    """<smartcard mode='passthrough'> (ccid-card-passthru with its chardev) and the
    <controller type='ccid'> (usb-ccid) it sits on."""
    for option in d.devices("usb-ccid"):
        if not _known(option, ()):
            continue
        d.take(option)
        node = new(Controller, "controller", type="ccid", index=_index(str(option.fields["id"])))
        d.place(node, option, usb=True)
    for option in d.devices("ccid-card-passthru"):
        chardev = _chardev(d, option.fields.get("chardev"))
        if chardev is None or not _known(option, {"chardev"}):
            continue
        card = new(Smartcard, "smartcard", mode="passthrough")
        if not _char_source(card, chardev):
            continue
        d.take(option, chardev)
        bus = re.fullmatch(r"ccid(\d+)\.0", str(option.fields.get("bus", "")))
        if bus is not None:
            etree.SubElement(
                card.element, "address", type="ccid", controller=bus.group(1), slot="0"
            )
        d.found.append(card.element)


def _fd_sets(d: Devices, paths: list[str]) -> list[ArgvOption]:
    """The -add-fd options of the fd sets PATHS name (/dev/fdset/N)."""
    wanted = {p.removeprefix("/dev/fdset/") for p in paths if p.startswith("/dev/fdset/")}
    found = []
    for option in d.options:
        number = re.search(r"(?:^|,)set=(\d+)", str(option.value))
        if option.flag == "-add-fd" and number is not None and number.group(1) in wanted:
            found.append(option)
    return found


def _panics(d: Devices) -> None:
    """<panic model='isa'>: pvpanic, at its I/O port when libvirt names one."""
    for option in d.devices("pvpanic"):
        if not _known(option, {"ioport"}):
            continue
        d.take(option)
        node = new(Panic, "panic", model="isa")
        port = number_of(option.fields, "ioport")
        if port is not None:
            etree.SubElement(node.element, "address", type="isa", iobase=f"{port:#x}")
        d.found.append(node.element)


def _shmems(d: Devices) -> None:
    """<shmem name><model type='ivshmem-plain'><size>: the memory-backend-file libvirt
    makes over /dev/shm/NAME (qemuBuildShmemBackendMemProps)."""
    for option in d.devices("ivshmem-plain"):
        backend = d.backend("-object", option.fields.get("memdev"))
        if backend is None or not _known(option, {"memdev"}):
            continue
        b = backend.fields
        name = re.fullmatch(r"/dev/shm/([^/]+)", str(b.get("mem-path", "")))
        if name is None or set(b) - {"qom-type", "id", "mem-path", "size", "share"}:
            continue
        d.take(option, backend)
        node = new(Shmem, "shmem", name=name.group(1), model="ivshmem-plain")
        size = number_of(b, "size") or 0
        if size % 2**20 == 0:
            node.size, node.size_unit = size // 2**20, "M"
        else:
            node.size, node.size_unit = size, "b"
        d.place(node, option)


# USB controllers libvirt writes as -device: props/controllers.py's table, read back
_USB_MODELS = {device: model for model, device in USB_DEVICES.items()}


def _usb_controllers(d: Devices) -> None:
    """<controller type='usb' model ports> and companions' <master startport>."""
    for option in d.devices(*_USB_MODELS):
        f = option.fields
        if not _known(option, {"p2", "p3", "masterbus", "firstport"}):
            continue
        alias = str(f.get("masterbus") or f.get("id") or "usb")
        d.take(option)
        node = new(
            Controller,
            "controller",
            type="usb",
            index=_index(alias.removesuffix(".0")),
            model=_USB_MODELS[str(f["driver"])],
            ports=number_of(f, "p2"),
        )
        node.master_startport = number_of(f, "firstport") if "masterbus" in f else None
        d.place(node, option)


def _index(alias: str) -> int:
    digits = re.search(r"(\d+)$", alias)
    return int(digits.group(1)) if digits else 0


__all__ = ["VIRTIO_OPTIONS", "Devices", "read_devices", "virtio_driver"]
