"""What a user sees and touches: inputs, audio back-ends, graphics, video cards and sound
cards, as libvirt 9.0 writes them (qemuBuildInputCommandLine, qemuBuildAudioCommandLine,
qemuBuildGraphicsCommandLine, qemuBuildVideoCommandLine, qemuBuildSoundCommandLine).

Each builder only reads the model, the release's table and the finished placement; the
places of PCI devices come from placement (the primary video card at its fixed slot),
the USB ports from placement's usb_ports.  What libvirt learns from the host at start (a
free VNC/SPICE port for autoport) is written as a named placeholder with a VX0701 info
finding, as the storage builders do for host facts.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..caps import CapsTable
from ..caps.index import first_with
from ..findings import Finding, finding_at
from ..host import ASK_THE_HOST
from ..model import Domain
from ..model.display import Audio, AudioDirection, Graphics, Input, Sound, Video, VideoModel
from ..model.fields import XmlObject
from ..names import transitional
from ..option import Option, Value
from ..placement.assign import IMPLICIT_VIDEO
from .context import (
    StoragePlan,
    add_location,
    add_virtio_options,
    transport_device,
    unsupported,
)
from .controllers import usb_location
from .device_table import (
    DEFAULT_VRAM,
    INPUT,
    QXL_DEFAULT_RAM,
    QXL_DEFAULT_VGAMEM,
    VIDEO,
    VIDEO_RESOLUTION,
    Card,
)
from .mapping import add_props

# Written where libvirt writes the port it found free at start (autoport='yes':
# virPortAllocatorAcquire from qemu.conf's remote_display_port_min, 5900): the port is
# the host's at the moment the domain starts.
AUTOPORT_PLACEHOLDER = "AUTOPORT"
# qemu.conf's defaults libvirt writes (vnc_listen, spice_listen): the host's
# configuration, 127.0.0.1 unless changed there.
DEFAULT_LISTEN = "127.0.0.1"
_VNC_FIRST_PORT = 5900
# Written where libvirt writes the host's first DRM render node (virHostGetDRMRenderNode:
# the first renderD* under /dev/dri) for OpenGL without a rendernode of the user's
RENDERNODE_PLACEHOLDER = "/dev/dri/RENDERNODE"
# Written where libvirt writes the address of the network a display listens on
# (<listen type='network'>: networkGetActualType at start)
NETWORK_LISTEN_PLACEHOLDER = "ADDRESS-OF-NETWORK-{}"

# --- inputs -------------------------------------------------------------------------------

# qemuBuildInputUSBDevProps / qemuBuildInputVirtioDevProps: the device of (bus, type)
_INPUT_DEVICES = {
    ("usb", "mouse"): "usb-mouse",
    ("usb", "tablet"): "usb-tablet",
    ("usb", "keyboard"): "usb-kbd",
    ("virtio", "mouse"): "virtio-mouse-pci",
    ("virtio", "tablet"): "virtio-tablet-pci",
    ("virtio", "keyboard"): "virtio-keyboard-pci",
    ("virtio", "passthrough"): "virtio-input-host-pci",
}


def _usb_disabled(plan: StoragePlan, obj: XmlObject, what: str) -> bool:
    """A VX0242 error for a USB device of a domain whose USB bus is
    <controller type='usb' model='none'> (qemuValidateDomainDeviceDefInput and
    virDomainDefValidate's "USB bus is disabled")."""
    disabled = any(
        controller.type == "usb" and controller.model == "none"
        for controller in plan.domain.controllers
    )
    if disabled:
        plan.findings.append(
            finding_at(
                "VX0242",
                "error",
                f"can't add {what}: the USB bus is disabled (<controller type='usb' "
                "model='none'>; libvirt)",
                obj,
                plan.domain.source,
            )
        )
    return disabled


def _missing(plan: StoragePlan, obj: XmlObject, what: str, device: str) -> bool:
    """A VX0303 error when the release lacks DEVICE (with the first release that has it)."""
    if plan.caps.has_device(device):
        return False
    since = first_with("devices", device, plan.caps.arch)
    plan.findings.append(
        finding_at(
            "VX0303",
            "error",
            f"{what} needs QEMU device '{device}', which QEMU {plan.caps.version} does not have",
            obj,
            plan.domain.source,
            since=since,
        )
    )
    return True


def input_options(plan: StoragePlan) -> list[Option]:
    """Each <input> (qemuBuildInputCommandLine): ps2 ones are the machine's own (nothing
    written), usb ones on usb.0 at their port, virtio ones at their PCI place, evdev ones
    as an input-linux object; alias input<N> by the input's index."""
    options: list[Option] = []
    for index, device in enumerate(plan.domain.inputs):
        alias = device.user_alias or f"input{index}"
        if device.type == "evdev":
            options.extend(_evdev(plan, device, alias))
            continue
        bus = device.bus or "ps2"
        name = _INPUT_DEVICES.get((bus, device.type or ""))
        if name is None:
            continue  # ps2 (the i8042's), xen: nothing on the command line
        if _missing(plan, device, f"<input type='{device.type}' bus='{bus}'>", name):
            continue
        suffix = transitional.model_suffix(device.model)
        if bus == "virtio" and suffix and device.type != "passthrough":
            # (virtio-input-host has transitional types; the other virtio inputs do not)
            plan.findings.append(
                finding_at(
                    "VX0247",
                    "error",
                    "virtio (non-)transitional models are not supported for input "
                    f"type={device.type} (libvirt)",
                    device,
                    plan.domain.source,
                    xpath_suffix="/@model",
                )
            )
            continue
        if bus == "usb":
            if _usb_disabled(plan, device, "USB input device"):
                continue
            option = Option("-device", name, [("id", alias)], origin=device)
            option.props.extend(usb_location(plan, device))
            options.append(option)
            continue
        device_name, model_props = transitional.resolve(
            plan.caps, transport_device(plan, name + suffix, device.address)
        )
        option = Option("-device", device_name, list(model_props), origin=device)
        add_virtio_options(option, device.driver)
        option.add("id", alias)
        add_props(option, INPUT, device, None, None)
        _place(plan, option, device)
        options.append(option)
    return options


def _evdev(plan: StoragePlan, device: Input, alias: str) -> list[Option]:
    """<input type='evdev'> as -object input-linux (qemuBuildInputEvdevProps)."""
    if not plan.caps.has_flag("input-linux"):
        plan.findings.append(
            finding_at(
                "VX0303",
                "error",
                f"<input type='evdev'> needs QEMU's input-linux object, which QEMU "
                f"{plan.caps.version} does not have",
                device,
                plan.domain.source,
                since=first_with("flags", "input-linux", plan.caps.arch),
            )
        )
        return []
    option = Option("-object", None, [("qom-type", "input-linux"), ("id", alias)], origin=device)
    option.add("evdev", device.source_dev)
    option.add("repeat", device.source_repeat)
    if device.source_grab == "all":
        option.add("grab_all", True)
    option.add("grab-toggle", device.source_grab_toggle)
    return [option]


def _place(plan: StoragePlan, option: Option, device: object) -> None:
    """bus= and addr= (or devno=) of DEVICE's place, when placement gave one."""
    place = plan.placement.place_of(device)
    if place is not None:
        add_location(option, place.location, place.multifunction)


# --- audio back-ends ------------------------------------------------------------------------

# virDomainAudioType → QEMU's audiodev driver (qemuBuildAudioCommandLine)
_AUDIO_DRIVERS = {"pulseaudio": "pa", "file": "wav"}

# (model field, audiodev key) of the settings every back-end has, in libvirt's order
# (qemuBuildAudioCommonProps), and of each type's own (qemuBuildAudio*Props)
_COMMON = (
    ("mixing_engine", "mixing-engine"),
    ("fixed_settings", "fixed-settings"),
    ("voices", "voices"),
    ("buffer_length", "buffer-length"),
    ("frequency", "frequency"),
    ("channels", "channels"),
    ("format", "format"),
)
_PER_TYPE: dict[str, tuple[tuple[str, str], ...]] = {
    "alsa": (("dev", "dev"),),
    "coreaudio": (("buffer_count", "buffer-count"),),
    "jack": (
        ("server_name", "server-name"),
        ("client_name", "client-name"),
        ("connect_ports", "connect-ports"),
        ("exact_name", "exact-name"),
    ),
    "oss": (("dev", "dev"), ("buffer_count", "buffer-count"), ("try_poll", "try-poll")),
    "pulseaudio": (("name", "name"), ("stream_name", "stream-name"), ("latency", "latency")),
    "sdl": (("buffer_count", "buffer-count"),),
}
# (model field, audiodev key) of the back-end's own top-level settings
_TOP: dict[str, tuple[tuple[str, str], ...]] = {
    "pulseaudio": (("server_name", "server"),),
    "file": (("path", "path"),),
    "oss": (("try_mmap", "try-mmap"), ("exclusive", "exclusive"), ("dsp_policy", "dsp-policy")),
}


def audio_backends(plan: StoragePlan) -> list[tuple[int, str, Audio | None]]:
    """(id, type, element) of every audio back-end: the domain's <audio>s, else the one
    libvirt 9.0 adds (qemuDomainDefAddDefaultAudioBackend, checked with domxml-to-native):
    'none' without graphics; else the last VNC, SPICE or SDL display decides: VNC 'none'
    (qemu.conf's vnc_allow_host_audio off), SPICE 'spice', SDL the host's environment
    (libvirtd's, without QEMU_AUDIO_DRV: no back-end at all); D-Bus and egl-headless
    alone add none."""
    domain = plan.domain
    if domain.audios:
        return [(audio.id or 0, audio.type or "none", audio) for audio in domain.audios]
    if not domain.graphics:
        return [(1, "none", None)]
    kind: str | None = None
    for graphics in domain.graphics:
        if graphics.type in ("vnc", "spice", "sdl"):
            kind = {"vnc": "none", "spice": "spice"}.get(graphics.type)
    return [(1, kind, None)] if kind is not None else []


# QEMU's -audiodev came with 4.0 (libvirt's audiodev capability: the option in
# query-command-line-options); the tables record neither the option nor the cards'
# audiodev property yet, so the first release that has it is this fact until they do
AUDIODEV_FIRST = "4.0"


def _audiodev_available(plan: StoragePlan) -> bool:
    """Whether the release has -audiodev (else QEMU_AUDIO_* in libvirt's environment)."""
    return _release_key(plan.caps.version) >= _release_key(AUDIODEV_FIRST)


def audio_environment(plan: StoragePlan) -> list[tuple[str, str]]:
    """The QEMU_AUDIO_* variables libvirt puts in QEMU's environment where the release has
    no -audiodev (qemuBuildAudioCommandLineEnv): the back-end as QEMU_AUDIO_DRV.  The
    environment is not part of the command line; argv does not print it (a caller that
    wants it shows it as VAR=value words before the emulator, as libvirt's .args do)."""
    if _audiodev_available(plan):
        return []
    backends = audio_backends(plan)
    if not backends:
        return []
    _, kind, _ = backends[0]
    return [("QEMU_AUDIO_DRV", _AUDIO_DRIVERS.get(kind, kind))]


def audio_options(plan: StoragePlan) -> list[Option]:
    """Each audio back-end as -audiodev (qemuBuildAudioCommandLine): id audio<ID>, the
    driver, its own settings, then the in and out directions' settings.  Releases
    without -audiodev take QEMU_AUDIO_* from libvirt's environment, which is not part of
    the command line."""
    if not _audiodev_available(plan):
        return []
    options = []
    for number, kind, audio in audio_backends(plan):
        option = Option(
            "-audiodev",
            None,
            [("id", f"audio{number}"), ("driver", _AUDIO_DRIVERS.get(kind, kind))],
            origin=audio,
        )
        if audio is not None:
            option.add("timer-period", audio.timer_period)
            _add_fields(option.props, audio, _TOP.get(kind, ()))
            for key, direction in (("in", audio.input), ("out", audio.output)):
                settings = _direction(kind, direction)
                if settings:
                    option.add(key, settings)
        options.append(option)
    return options


def _direction(kind: str, direction: AudioDirection | None) -> dict[str, Value]:
    settings: list[tuple[str, Value]] = []
    if direction is not None:
        _add_fields(settings, direction, _COMMON + _PER_TYPE.get(kind, ()))
    return dict(settings)


def _add_fields(
    props: list[tuple[str, Value]], obj: XmlObject, rows: Iterable[tuple[str, str]]
) -> None:
    for field_name, key in rows:
        value = getattr(obj, field_name)
        if value is not None:
            props.append((key, value))


def _audio_id(plan: StoragePlan, wanted: int | None, obj: XmlObject | None = None) -> str | None:
    """audiodev= of a sound card or VNC (OBJ): its <audio id>, else the first back-end's;
    without any back-end libvirt refuses (qemuGetAudioIDString)."""
    if not _audiodev_available(plan):
        return None
    backends = audio_backends(plan)
    if not backends or (wanted is not None and wanted not in {b[0] for b in backends}):
        if obj is not None:
            plan.findings.append(
                finding_at(
                    "VX0245",
                    "error",
                    'libvirt finds no audio back-end for this device ("unable to find audio '
                    'backend for sound device"): add an <audio> element',
                    obj,
                    plan.domain.source,
                )
            )
        return None
    return f"audio{wanted if wanted is not None else backends[0][0]}"


# --- graphics -------------------------------------------------------------------------------


def graphics_options(plan: StoragePlan) -> list[Option]:
    """Each <graphics> in the domain's order (qemuBuildGraphicsCommandLine): -vnc (and
    -k for its keymap), -spice, -display for sdl, egl-headless and dbus."""
    options: list[Option] = []
    seen: set[str] = set()
    kinds = {graphics.type for graphics in plan.domain.graphics}
    for graphics in plan.domain.graphics:
        if graphics.type == "egl-headless" and kinds - {"egl-headless", "vnc", "spice"}:
            plan.findings.append(
                finding_at(
                    "VX0246",
                    "error",
                    "graphics type 'egl-headless' is only supported with one of: 'vnc', "
                    "'spice' graphics types (libvirt)",
                    graphics,
                    plan.domain.source,
                )
            )
            continue
        kind = graphics.type
        if kind in seen and kind in ("sdl", "vnc", "spice", "egl-headless", "dbus"):
            plan.findings.append(
                finding_at(
                    "VX0244",
                    "error",
                    "only 1 graphics device of each type (sdl, vnc, spice, headless, dbus) "
                    "is supported (libvirt)",
                    graphics,
                    plan.domain.source,
                )
            )
            continue
        seen.add(kind or "")
        gl = kind == "egl-headless" or (kind in ("spice", "sdl", "dbus") and graphics.gl_enable)
        if gl and "gl" in seen:
            plan.findings.append(
                finding_at(
                    "VX0246",
                    "error",
                    "multiple OpenGL displays are not supported by QEMU (libvirt)",
                    graphics,
                    plan.domain.source,
                )
            )
            continue
        if gl:
            seen.add("gl")
        if kind == "vnc":
            options.extend(_vnc(plan, graphics))
        elif kind == "spice":
            options.append(_spice(plan, graphics))
            if graphics.keymap is not None:
                options.append(Option("-k", graphics.keymap, origin=graphics))
        elif kind == "sdl":
            # DISPLAY and XAUTHORITY go to QEMU's environment, not its command line
            if graphics.fullscreen:
                options.append(Option("-full-screen", origin=graphics))
            display = Option("-display", "sdl", origin=graphics)
            if graphics.gl_enable is not None:
                display.add("gl", graphics.gl_enable)
            options.append(display)
        elif kind == "egl-headless":
            display = Option("-display", "egl-headless", origin=graphics)
            display.add("rendernode", _rendernode(plan, graphics))
            options.append(display)
        elif kind == "dbus":
            options.append(_dbus(plan, graphics))
    return options


def _listen(graphics: Graphics) -> tuple[str, str | None]:
    """(type, value) of the first <listen>, or of the listen/@socket attributes."""
    listens = graphics.listens
    if listens:
        first = listens[0]
        kind = first.type or "address"
        if kind == "socket":
            return kind, first.socket
        if kind == "address":
            return kind, first.address or graphics.listen
        if kind == "network":
            return kind, first.network
        return kind, None
    if graphics.socket is not None:
        return "socket", graphics.socket
    return "address", graphics.listen


def _listen_address(plan: StoragePlan, graphics: Graphics) -> str | None:
    """The address to listen on: the user's; for <listen type='network'> the network's
    (libvirt asks its network driver when the domain starts: a named placeholder and a
    VX0701 info here); None for qemu.conf's default."""
    kind, value = _listen(graphics)
    if kind != "network":
        return value
    plan.findings.append(
        finding_at(
            "VX0701",
            "info",
            f"the display listens on an address of network '{value}', which libvirt looks "
            f"up when the domain starts; written as {NETWORK_LISTEN_PLACEHOLDER.format(value)}",
            graphics,
            plan.domain.source,
            hint=ASK_THE_HOST,
        )
    )
    return NETWORK_LISTEN_PLACEHOLDER.format(value)


def _rendernode(plan: StoragePlan, graphics: Graphics) -> str:
    """The render node of OpenGL graphics: the user's, else the host's first, which libvirt
    looks up when it prepares the domain (qemuProcessGraphicsSetupRenderNode)."""
    if graphics.gl_rendernode is not None:
        return graphics.gl_rendernode
    plan.findings.append(
        finding_at(
            "VX0701",
            "info",
            "OpenGL graphics without a rendernode use the host's first DRM render node "
            f"(/dev/dri/renderD*); written as {RENDERNODE_PLACEHOLDER}",
            graphics,
            plan.domain.source,
            hint=ASK_THE_HOST,
        )
    )
    return RENDERNODE_PLACEHOLDER


def _autoport(
    plan: StoragePlan, graphics: Graphics, what: str, first: int = _VNC_FIRST_PORT
) -> None:
    plan.findings.append(
        finding_at(
            "VX0701",
            "info",
            f"{what} takes the first free port from {first} when the domain "
            f"starts (autoport); written as {AUTOPORT_PLACEHOLDER}",
            graphics,
            plan.domain.source,
            hint=ASK_THE_HOST,
        )
    )


def _vnc(plan: StoragePlan, graphics: Graphics) -> list[Option]:
    """-vnc as qemuBuildGraphicsVNCCommandLine writes it: ADDRESS:DISPLAY (IPv6 in
    brackets), vnc=unix:PATH for a socket, 'none' for listen type none, then websocket,
    share, power-control, password=on (the password itself is set over the monitor) and
    audiodev; the keymap as -k."""
    kind, value = _listen(graphics)
    if kind == "socket":
        option = Option("-vnc", None, [("vnc", f"unix:{value}")], origin=graphics)
    elif kind == "none":
        option = Option("-vnc", "none", origin=graphics)
    else:
        address = _listen_address(plan, graphics) or DEFAULT_LISTEN
        if ":" in address:
            address = f"[{address}]"
        if graphics.port is None or graphics.port < 0 or graphics.autoport:
            display = AUTOPORT_PLACEHOLDER
            _autoport(plan, graphics, "VNC")
        else:
            display = str(graphics.port - _VNC_FIRST_PORT)
        option = Option("-vnc", f"{address}:{display}", origin=graphics)
    if graphics.websocket == -1:
        # websocket='-1': libvirt takes a free port from 5700 at start
        option.add("websocket", AUTOPORT_PLACEHOLDER)
        _autoport(plan, graphics, "The VNC websocket", 5700)
    else:
        option.add("websocket", graphics.websocket)
    option.add("share", graphics.share_policy)
    if graphics.power_control:
        option.add("power-control", True)
    if graphics.passwd is not None:
        option.add("password", True)
    option.add("audiodev", _audio_id(plan, graphics.audio_id, graphics))
    options = [option]
    if graphics.keymap is not None:
        options.append(Option("-k", graphics.keymap, origin=graphics))
    return options


# <graphics type='spice'> children → -spice keys, in qemuBuildGraphicsSPICECommandLine's
# order (after port, tls-port, addr, agent-mouse and the ticketing)
_SPICE_ROWS = (
    ("image_compression", "image-compression"),
    ("jpeg_compression", "jpeg-wan-compression"),
    ("zlib_compression", "zlib-glz-wan-compression"),
)


# qemu.conf's spice_tls_x509_cert_dir default (the host's configuration; libvirt writes it
# with every TLS port)
SPICE_X509_DIR = "/etc/pki/qemu"
# virDomainGraphicsSpiceChannelName: the order libvirt writes a SPICE domain's channels in
SPICE_CHANNELS = (
    "main", "display", "inputs", "cursor", "playback", "record", "smartcard", "usbredir",
)  # fmt: skip


def _spice_modes(graphics: Graphics) -> tuple[bool, bool]:
    """(a secure channel or default, a plaintext one): what SPICE needs a TLS port and a
    plain port for (qemuProcessSPICEAllocatePorts; the default mode 'any' is plain unless
    qemu.conf turns TLS on)."""
    modes = {channel.mode for channel in graphics.channels}
    secure = "secure" in modes or graphics.default_mode == "secure"
    insecure = "insecure" in modes or graphics.default_mode in (None, "any", "insecure")
    return secure, insecure


def _spice(plan: StoragePlan, graphics: Graphics) -> Option:
    """-spice as qemuBuildGraphicsSPICECommandLine writes it (checked with libvirt 9.0)."""
    option = Option("-spice", origin=graphics)
    kind, value = _listen(graphics)
    if kind == "socket":
        option.implied = "unix"
        option.add("addr", value)
    elif kind == "none":
        option.add("port", 0)
    else:
        secure, insecure = _spice_modes(graphics)
        auto = graphics.autoport or graphics.port is None or graphics.port < 0
        tls_port: Value | None = graphics.tls_port if (graphics.tls_port or 0) > 0 else None
        if auto:
            # qemuProcessSPICEAllocatePorts: a port for plaintext, a TLS port for secure
            # channels (or defaultMode), each only where something needs it
            if insecure or not secure:
                option.add("port", AUTOPORT_PLACEHOLDER)
            if secure and tls_port is None:
                tls_port = AUTOPORT_PLACEHOLDER
            _autoport(plan, graphics, "SPICE")
        else:
            option.add("port", graphics.port or None)
            if graphics.tls_port == -1 and secure:
                tls_port = AUTOPORT_PLACEHOLDER  # tlsPort='-1': libvirt picks one
        option.add("tls-port", tls_port)
        if tls_port is not None:
            plan.findings.append(
                finding_at(
                    "VX0701",
                    "info",
                    "SPICE over TLS: libvirt starts it only where the host's qemu.conf has "
                    "spice_tls = 1 (it refuses the domain otherwise), and QEMU needs the "
                    f"certificates in spice_tls_x509_cert_dir ({SPICE_X509_DIR} unless set); "
                    "not looked up",
                    graphics,
                    plan.domain.source,
                    hint=ASK_THE_HOST,
                )
            )
        option.add("addr", _listen_address(plan, graphics) or DEFAULT_LISTEN)
    if graphics.mouse_mode is not None:
        option.add("agent-mouse", graphics.mouse_mode == "client")
    if graphics.passwd is None:
        option.add("disable-ticketing", True)
    if option.get("tls-port") is not None:
        option.add("x509-dir", SPICE_X509_DIR)
    default = {"secure": "tls-channel", "insecure": "plaintext-channel"}
    if graphics.default_mode in default:
        option.add(default[graphics.default_mode or ""], "default")
    modes = {channel.name: channel.mode for channel in graphics.channels}
    for name in SPICE_CHANNELS:  # libvirt's enum order, whatever the XML's
        key = default.get(modes.get(name) or "")
        if key is not None:
            option.add(key, name)
    _add_fields(option.props, graphics, _SPICE_ROWS)
    if graphics.playback_compression is not None:
        option.add("playback-compression", graphics.playback_compression == "on")
    option.add("streaming-video", graphics.streaming_mode)
    if graphics.clipboard_copypaste is False:
        option.add("disable-copy-paste", True)
    if graphics.filetransfer_enable is False:
        option.add("disable-agent-file-xfer", True)
    if graphics.gl_enable:
        option.add("gl", True)
        option.add("rendernode", _rendernode(plan, graphics))
    option.add("seamless-migration", True)
    return option


# libvirt's D-Bus display socket (qemuDBusGetAddress), for a domain not running: id -1
DBUS_SOCKET = "/run/libvirt/qemu/dbus/-1-{name}-dbus.sock"


def _dbus(plan: StoragePlan, graphics: Graphics) -> Option:
    option = Option("-display", "dbus", origin=graphics)
    address = graphics.dbus_address
    if address is None:
        address = "unix:path=" + DBUS_SOCKET.format(name=_short_name(plan.domain.name or ""))
    option.add("addr", address)
    return option


def _short_name(name: str) -> str:
    """virDomainDefGetShortName: the first 20 characters of the name."""
    return name[:20]


# --- video ----------------------------------------------------------------------------------

# model type → (primary device, secondary device): qemuDeviceVideoGetModel; a type with no
# secondary device is "only valid as primary video device" (qemuValidateDomainDeviceDefVideo)
_VIDEO_DEVICES: dict[str, tuple[str, str | None]] = {
    "vga": ("VGA", None),
    "cirrus": ("cirrus-vga", None),
    "vmvga": ("vmware-svga", None),
    "qxl": ("qxl-vga", "qxl"),
    "virtio": ("virtio-vga", "virtio-gpu-pci"),
    "bochs": ("bochs-display", None),
    "ramfb": ("ramfb", None),
}
# virtio with <acceleration accel3d='yes'>: the -gl variants
_VIDEO_GL = {"virtio-vga": "virtio-vga-gl", "virtio-gpu-pci": "virtio-gpu-gl-pci"}


def _videos(plan: StoragePlan) -> list[tuple[Video | None, str]]:
    """(element, model type) of the video cards in libvirt's order: the primary first
    (primary='yes', else the first), then the rest; libvirt's default card for
    <graphics> without <video> (qemuDomainDefaultVideoDevice: cirrus where QEMU has it)."""
    videos = list(plan.domain.videos)
    if not videos:
        if not plan.domain.graphics:
            return []
        return [(None, "cirrus" if plan.caps.has_device("cirrus-vga") else "vga")]
    primary = next((v for v in videos if v.primary), videos[0])
    ordered = [primary, *(v for v in videos if v is not primary)]
    default = "cirrus" if plan.caps.has_device("cirrus-vga") else "vga"
    return [(v, v.model_type or default) for v in ordered]


def video_options(plan: StoragePlan) -> list[Option]:
    """Each video card (qemuBuildVideoCommandLine): id video<N> in libvirt's order, the
    model's sizes as qemuBuildDeviceVideoCmd converts them (KiB to bytes or MiB), its
    place (the primary at the machine's video slot, from placement)."""
    options: list[Option] = []
    videos = _videos(plan)
    if len(videos) > 1 and any(kind == "none" for _, kind in videos):
        none = next(video for video, kind in videos if kind == "none")
        plan.findings.append(
            finding_at(
                "VX0240",
                "error",
                "a 'none' video type must be the only video device defined for the domain "
                "(libvirt)",
                none or plan.domain,
                plan.domain.source,
            )
        )
        return []
    for index, (video, kind) in enumerate(videos):
        refused = _video_size_refusal(video.model, kind) if video is not None else None
        if refused is not None:
            message, attribute = refused
            plan.findings.append(
                finding_at(
                    "VX0248",
                    "error",
                    f"{message} (libvirt)",
                    video,
                    plan.domain.source,
                    xpath_suffix=f"/model/@{attribute}",
                )
            )
            continue
        if index == 0 and not plan.caps.has_flag("device-video-primary"):
            options.extend(_legacy_vga(plan, video, kind))
            continue
        if kind == "none":
            continue
        devices = _VIDEO_DEVICES.get(kind)
        where = video if video is not None else plan.domain
        if devices is None:
            continue  # xen, vbox, gop: not QEMU's
        model = video.model if video is not None else None
        heads = model.heads if model is not None else None
        if heads is not None and heads > 1 and kind not in ("qxl", "virtio"):
            plan.findings.append(
                finding_at(
                    "VX0241",
                    "error",
                    f"video type '{kind}' doesn't support multiple 'heads' (libvirt)",
                    where,
                    plan.domain.source,
                    xpath_suffix="/model/@heads",
                )
            )
            continue
        name = devices[0] if index == 0 else devices[1]
        if name is None:
            plan.findings.append(
                finding_at(
                    "VX0240",
                    "error",
                    f"video type '{kind}' is only valid as primary video device (libvirt)",
                    where,
                    plan.domain.source,
                )
            )
            continue
        driver = video.driver if video is not None else None
        if driver is not None and driver.name == "vhostuser":
            plan.findings.append(unsupported(plan, video, "a vhost-user video card"))
            continue
        if kind == "virtio" and index == 0 and not plan.caps.has_device(name):
            name = "virtio-gpu-pci"  # libvirt's primary virtio card without virtio-vga
        virgl = kind == "virtio" and model is not None and model.accel3d is True
        if virgl and plan.caps.has_device(_VIDEO_GL[name]):
            # QEMU 6.1 split the 3D cards off (qemuDeviceVideoGetModel: the -gl types)
            name, virgl = _VIDEO_GL[name], False
        if _missing(plan, where, f"<video model='{kind}'>", name):
            continue
        option = Option("-device", transport_device(plan, name), origin=video)
        if video is not None:
            add_virtio_options(option, video.driver)
        option.add("id", (video.user_alias if video is not None else None) or f"video{index}")
        if virgl:
            option.add("virgl", True)  # before the -gl types: a property of the card
        _video_sizes(option, kind, model, _video_props(plan, name))
        if name != "ramfb":
            _place(plan, option, video if video is not None else IMPLICIT_VIDEO)
        options.append(option)
    return options


# UINT_MAX / 1024: a qxl size (KiB) libvirt writes in bytes to a 32-bit property
_QXL_KIB_LIMIT = 0xFFFFFFFF // 1024


def _video_size_refusal(model: VideoModel | None, kind: str) -> tuple[str, str] | None:
    """(libvirt's message, the attribute) of the first size of <model> libvirt refuses on
    a card of KIND, in its order: virDomainVideoDefValidate (ram, vram64 and vgamem are
    qxl's alone), then qemuValidateDomainDeviceDefVideo (qxl's limits; a vga or vmvga
    vram under 1 MiB).  A size of 0 is no size (libvirt's "unset")."""
    if model is None or kind == "none":
        return None
    if kind != "qxl":
        for attribute in ("ram", "vram64", "vgamem"):
            if getattr(model, attribute):
                return f"{attribute} attribute only supported for video type qxl", attribute
    else:
        for attribute in ("vram", "ram"):
            if (getattr(model, attribute) or 0) > _QXL_KIB_LIMIT:
                message = f"value for '{attribute}' must be less than '{_QXL_KIB_LIMIT}'"
                return message, attribute
        vgamem = model.vgamem
        if vgamem:
            if vgamem < 1024:
                return "value for 'vgamem' must be at least 1 MiB (1024 KiB)", "vgamem"
            if vgamem & (vgamem - 1):
                return "value for 'vgamem' must be power of two", "vgamem"
    if kind in ("vga", "vmvga") and model.vram and model.vram < 1024:
        return "value for 'vram' must be at least 1 MiB (1024 KiB)", "vram"
    return None


# -vga's names of the model types (qemuVideoTypeToString of libvirt's legacy path)
_LEGACY_VGA = {"vga": "std", "cirrus": "cirrus", "vmvga": "vmware", "qxl": "qxl", "none": "none"}


def _legacy_vga(plan: StoragePlan, video: Video | None, kind: str) -> list[Option]:
    """The primary card where QEMU has no -device for it (libvirt's device-video-primary
    flag: QEMU 1.6): -vga TYPE, and its sizes as -global settings of the machine's card
    (qxl-vga's RAM, the vgamem of VGA and vmware-svga where QEMU has those properties)."""
    name = _LEGACY_VGA.get(kind)
    if name is None:
        plan.findings.append(
            finding_at(
                "VX0303",
                "error",
                f"<video model='{kind}'> as the primary card needs QEMU's -device for it, "
                f"which QEMU {plan.caps.version} does not have",
                video if video is not None else plan.domain,
                plan.domain.source,
                since=first_with("flags", "device-video-primary", plan.caps.arch),
            )
        )
        return []
    options = [Option("-vga", name, origin=video)]
    model = video.model if video is not None else None
    vram = (model.vram if model is not None else None) or DEFAULT_VRAM.get(kind)
    settings: list[tuple[str, int]] = []
    if kind == "qxl":
        ram = (model.ram if model is not None else None) or QXL_DEFAULT_RAM
        vgamem = (model.vgamem if model is not None else None) or QXL_DEFAULT_VGAMEM
        settings += [("qxl-vga.ram_size", ram * 1024), ("qxl-vga.vram_size", (vram or 0) * 1024)]
        if plan.caps.has_flag("qxl.vgamem_mb"):
            settings.append(("qxl-vga.vgamem_mb", vgamem // 1024))
    elif kind == "vga" and vram and plan.caps.has_flag("VGA.vgamem_mb"):
        settings.append(("VGA.vgamem_mb", vram // 1024))
    elif kind == "vmvga" and vram and plan.caps.has_flag("vmware-svga.vgamem_mb"):
        settings.append(("vmware-svga.vgamem_mb", vram // 1024))
    options += [Option("-global", f"{key}={value}", origin=video) for key, value in settings]
    return options


# the type whose properties the table records for a card (the -vga and -gl variants
# share their base type's)
_VIDEO_PROPS_OF = {
    "qxl-vga": "qxl",
    "virtio-vga": "virtio-gpu-pci",
    "virtio-vga-gl": "virtio-gpu-pci",
    "virtio-gpu-gl-pci": "virtio-gpu-pci",
}
_SIZES = frozenset({"max_outputs", "ram_size", "vram_size", "vram64_size_mb", "vgamem_mb"})


def _video_props(plan: StoragePlan, name: str) -> frozenset[str]:
    """The size properties QEMU's card NAME has in the release (all of them where the
    table records none of its properties: libvirt 9.0 writes them all)."""
    device = plan.caps.device(_VIDEO_PROPS_OF.get(name, name))
    names = frozenset(p.name for p in device.props) if device is not None else frozenset()
    return names if names & (_SIZES | {"xres"}) else _SIZES | {"xres", "vgamem"}


def _video_sizes(option: Option, kind: str, model: VideoModel | None, has: frozenset[str]) -> None:
    """The model's heads, memory sizes and resolution as the device's properties (the
    VIDEO rows, KiB in the XML), as far as the release's card has them (max_outputs from
    QEMU 2.4, ...)."""
    card = Card(model, kind)
    for row in VIDEO:
        if row.applies(kind, None) and (row.qemu in has or row.qemu == "vgamem"):
            option.add(row.qemu, row.value(card))  # type: ignore[arg-type]
    if "xres" in has:
        for row in VIDEO_RESOLUTION:
            option.add(row.qemu, row.value(card))  # type: ignore[arg-type]


# --- sound ----------------------------------------------------------------------------------

# model → QEMU device (qemuBuildSoundDevCmd); ich6/ich7/ich9 are HDA controllers that get
# codecs on their bus sound<N>.0
_SOUND_DEVICES = {
    "ich6": "intel-hda",
    "ich7": "intel-hda",
    "ich9": "ich9-intel-hda",
    "ac97": "AC97",
    "es1370": "ES1370",
    "sb16": "sb16",
    "usb": "usb-audio",
}
_HDA = ("ich6", "ich7", "ich9")
_CODECS = {"duplex": "hda-duplex", "micro": "hda-micro", "output": "hda-output"}


def sound_options(plan: StoragePlan) -> list[Option]:
    """Each <sound> (qemuBuildSoundCommandLine): id sound<N>; audiodev= on the card, or on
    each codec of an HDA controller (sound<N>-codec<M>, cad M; hda-duplex when none is
    written); pcspk as -soundhw pcspk, as libvirt 9.0 still writes it (QEMU 7.2 has no
    -soundhw: a VX0302 error)."""
    options: list[Option] = []
    for index, sound in enumerate(plan.domain.sounds):
        alias = sound.user_alias or f"sound{index}"
        model = sound.model or ""
        if model == "pcspk":
            options.append(Option("-soundhw", "pcspk", origin=sound))  # soundhw_refusals
            continue
        if model == "ich7":
            # qemuDomainDeviceCalculatePCIConnectFlags knows no PCI connection for ich7
            plan.findings.append(
                finding_at(
                    "VX0243",
                    "error",
                    "libvirt 9.0 cannot place <sound model='ich7'> (\"Cannot automatically "
                    'add a new PCI bus for a device with connect flags 00")',
                    sound,
                    plan.domain.source,
                )
            )
            continue
        name = _SOUND_DEVICES.get(model)
        if name is None or _missing(plan, sound, f"<sound model='{model}'>", name):
            continue
        if model == "usb" and _usb_disabled(plan, sound, "USB sound device"):
            continue
        audiodev = _audio_id(plan, sound.audio_id, sound)
        option = Option("-device", name, [("id", alias)], origin=sound)
        if model not in _HDA:
            option.add("audiodev", audiodev)
        if model == "usb":
            option.props.extend(usb_location(plan, sound))
        elif model != "sb16":
            _place(plan, option, sound)
        options.append(option)
        if model in _HDA:
            options.extend(_codecs(sound, alias, audiodev))
    return options


def _codecs(sound: Sound, alias: str, audiodev: str | None) -> list[Option]:
    codecs = [codec.type or "duplex" for codec in sound.codecs] or ["duplex"]
    options = []
    for number, codec in enumerate(codecs):
        option = Option(
            "-device",
            _CODECS.get(codec, f"hda-{codec}"),
            [("id", f"{alias}-codec{number}"), ("bus", f"{alias}.0"), ("cad", number)],
            origin=sound,
        )
        option.add("audiodev", audiodev)
        options.append(option)
    return options


# QEMU's -soundhw was removed in 7.1 (its deprecation, docs/about/removed-features.rst);
# the tables do not record -soundhw (it is no QemuOpts group the probe lists), so the
# last release that has it is this fact until they do
SOUNDHW_LAST = "7.0"


def soundhw_refusals(domain: Domain, caps: CapsTable) -> list[Finding]:
    """VX0302 — libvirt 9.0 writes -soundhw pcspk for <sound model='pcspk'> whatever the
    release; QEMU without -soundhw refuses to start on that line (libvirt 9.1 and later
    use the machine's pcspk-audiodev instead)."""
    if _release_key(caps.version) <= _release_key(SOUNDHW_LAST):
        return []
    return [
        finding_at(
            "VX0302",
            "error",
            f"libvirt 9.0 writes -soundhw pcspk for <sound model='pcspk'>, and QEMU "
            f"{caps.version} has no -soundhw (QEMU refuses to start)",
            sound,
            domain.source,
            hint="leave the PC speaker out, or use libvirt 9.1 or later "
            "(machine property pcspk-audiodev)",
        )
        for sound in domain.sounds
        if sound.model == "pcspk"
    ]


def _release_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:2] if part.isdigit())
