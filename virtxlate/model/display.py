"""What a person sees, types and hears: <video>, <graphics>, <input>, <sound>, <audio>.

Names follow libvirt 9.0's domaincommon.rng (defines "video", "graphic", "input",
"sound", "audio"); every field reads ``None`` when the user did not write it.  Sizes
(vram, ram, vgamem, vram64) are KiB as the schema says; no default is filled in.
"""

from __future__ import annotations

from .devices import Device, VirtioOptions
from .fields import (
    INT,
    ON_OFF,
    YES_NO,
    Child,
    Children,
    Converter,
    Field,
    XmlObject,
    empty_is_none,
    enumeration,
)

VIDEO_MODEL = enumeration(
    "video model",
    ("vga", "cirrus", "vmvga", "xen", "vbox", "virtio", "gop", "none", "bochs", "ramfb", "qxl"),
)

GRAPHICS_TYPE = enumeration(
    "graphics type", ("sdl", "vnc", "spice", "rdp", "desktop", "egl-headless", "dbus")
)

# <model primary>: libvirt takes 'yes' and lets any other value mean no, without a word
# (virDomainVideoModelDefParseXML ignores virStringParseYesNo's failure; checked with
# libvirt 9.0: primary='x' and primary='' start as a card that is not primary)
PRIMARY: Converter[bool] = Converter(
    "yes/no", lambda text: text == "yes", lambda value: "yes" if value else "no"
)

SOUND_MODEL = enumeration(
    "sound model", ("sb16", "es1370", "pcspk", "ac97", "ich6", "ich7", "ich9", "usb")
)

AUDIO_TYPE = enumeration(
    "audio type",
    (
        "none",
        "alsa",
        "coreaudio",
        "dbus",
        "jack",
        "oss",
        "pulseaudio",
        "sdl",
        "spice",
        "file",
    ),
)


class VideoDriver(VirtioOptions):
    """<video><driver name vgaconf>."""

    name = Field("@name")
    vgaconf = Field("@vgaconf")


class VideoModel(XmlObject):
    """<video><model type vram ram vgamem vram64 heads primary> and its acceleration."""

    type = Field("@type", empty_is_none(VIDEO_MODEL))
    vram = Field("@vram", empty_is_none(INT))
    ram = Field("@ram", empty_is_none(INT))
    vgamem = Field("@vgamem", empty_is_none(INT))
    vram64 = Field("@vram64", empty_is_none(INT))
    heads = Field("@heads", empty_is_none(INT))
    primary = Field("@primary", PRIMARY)
    accel3d = Field("acceleration/@accel3d", YES_NO)
    accel2d = Field("acceleration/@accel2d", YES_NO)
    rendernode = Field("acceleration/@rendernode")
    resolution_x = Field("resolution/@x", INT)
    resolution_y = Field("resolution/@y", INT)


class Video(Device):
    """<video>."""

    model = Child(VideoModel, "model")
    driver = Child(VideoDriver, "driver")

    @property
    def model_type(self) -> str | None:
        """model/@type (None without a <model>)."""
        model = self.model
        return model.type if model is not None else None

    @property
    def primary(self) -> bool:
        """model/@primary='yes'."""
        model = self.model
        return model is not None and model.primary is True


class Listen(XmlObject):
    """<graphics><listen type address network socket>."""

    type = Field("@type")
    address = Field("@address")
    network = Field("@network")
    socket = Field("@socket")


class SpiceChannel(XmlObject):
    """<graphics type='spice'><channel name mode>."""

    name = Field("@name")
    mode = Field("@mode")


class Graphics(Device):
    """<graphics type>: vnc, spice (with its channels and compression), egl-headless,
    sdl, dbus, rdp, desktop."""

    type = Field("@type", GRAPHICS_TYPE)
    port = Field("@port", INT)
    tls_port = Field("@tlsPort", INT)
    autoport = Field("@autoport", YES_NO)
    websocket = Field("@websocket", INT)
    listen = Field("@listen")
    socket = Field("@socket")
    passwd = Field("@passwd")
    passwd_valid_to = Field("@passwdValidTo")
    keymap = Field("@keymap")
    share_policy = Field("@sharePolicy")
    power_control = Field("@powerControl", YES_NO)
    connected = Field("@connected")
    default_mode = Field("@defaultMode")
    display = Field("@display")
    xauth = Field("@xauth")
    fullscreen = Field("@fullscreen", YES_NO)
    dbus_address = Field("@address")  # type='dbus': a D-Bus address, not a device <address>
    p2p = Field("@p2p", YES_NO)
    listens = Children(Listen, "listen")
    channels = Children(SpiceChannel, "channel")
    image_compression = Field("image/@compression")
    jpeg_compression = Field("jpeg/@compression")
    zlib_compression = Field("zlib/@compression")
    playback_compression = Field("playback/@compression")
    streaming_mode = Field("streaming/@mode")
    clipboard_copypaste = Field("clipboard/@copypaste", YES_NO)
    mouse_mode = Field("mouse/@mode")
    filetransfer_enable = Field("filetransfer/@enable", YES_NO)
    gl_enable = Field("gl/@enable", YES_NO)
    gl_rendernode = Field("gl/@rendernode")
    audio_id = Field("audio/@id", INT)


class Input(Device):
    """<input type bus model>: tablet, mouse, keyboard (ps2, usb, virtio, xen),
    passthrough (source/@evdev) and evdev (source/@dev, grab, repeat)."""

    type = Field("@type")
    bus = Field("@bus")
    model = Field("@model")
    source_evdev = Field("source/@evdev")
    source_dev = Field("source/@dev")
    source_grab = Field("source/@grab")
    source_grab_toggle = Field("source/@grabToggle")
    source_repeat = Field("source/@repeat", ON_OFF)
    driver = Child(VirtioOptions, "driver")


class Codec(XmlObject):
    """<sound><codec type>: an HDA codec (duplex, micro, output)."""

    type = Field("@type")


class Sound(Device):
    """<sound model>."""

    model = Field("@model", SOUND_MODEL)
    codecs = Children(Codec, "codec")
    audio_id = Field("audio/@id", INT)


class AudioDirection(XmlObject):
    """<audio><input>/<output>: the settings of one direction (the ones every type has,
    and the few per-type ones libvirt writes to -audiodev)."""

    mixing_engine = Field("@mixingEngine", YES_NO)
    fixed_settings = Field("@fixedSettings", YES_NO)
    voices = Field("@voices", INT)
    buffer_length = Field("@bufferLength", INT)
    frequency = Field("settings/@frequency", INT)
    channels = Field("settings/@channels", INT)
    format = Field("settings/@format")
    dev = Field("@dev")
    name = Field("@name")
    stream_name = Field("@streamName")
    latency = Field("@latency", INT)
    try_poll = Field("@tryPoll", YES_NO)
    buffer_count = Field("@bufferCount", INT)
    server_name = Field("@serverName")
    client_name = Field("@clientName")
    connect_ports = Field("@connectPorts")
    exact_name = Field("@exactName", YES_NO)


class Audio(Device):
    """<audio id type>: an audio back-end (-audiodev), referred to by sound/audio/@id
    (it has no address or alias in libvirt's schema: those read None)."""

    id = Field("@id", INT)
    type = Field("@type", AUDIO_TYPE)
    timer_period = Field("@timerPeriod", INT)
    server_name = Field("@serverName")
    path = Field("@path")
    driver = Field("@driver")
    try_mmap = Field("@tryMMap", YES_NO)
    exclusive = Field("@exclusive", YES_NO)
    dsp_policy = Field("@dspPolicy", INT)
    input = Child(AudioDirection, "input")
    output = Child(AudioDirection, "output")


__all__ = [
    "AUDIO_TYPE",
    "Audio",
    "AudioDirection",
    "Codec",
    "GRAPHICS_TYPE",
    "Graphics",
    "Input",
    "Listen",
    "SOUND_MODEL",
    "Sound",
    "SpiceChannel",
    "VIDEO_MODEL",
    "Video",
    "VideoDriver",
    "VideoModel",
]
