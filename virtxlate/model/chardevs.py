"""Character devices of a libvirt domain: <serial>, <console>, <channel>, <parallel>, and
the host side they share with <redirdev>, <smartcard mode='passthrough'> and an EGD
<rng> back-end.

Names follow libvirt 9.0's domaincommon.rng (defines "qemucdev", "qemucdevSrcDef",
"qemucdevTgtDef"); every field reads ``None`` when the user did not write it.
"""

from __future__ import annotations

from .devices import Device
from .fields import INT, ON_OFF, YES_NO, Children, Converter, Field, XmlObject, enumeration

# the host side of a character device (qemucdevSrcTypeChoice)
CHARDEV_TYPE = enumeration(
    "character device type",
    (
        "dev",
        "file",
        "pipe",
        "unix",
        "tcp",
        "udp",
        "null",
        "stdio",
        "vc",
        "pty",
        "spicevmc",
        "spiceport",
        "nmdm",
        "qemu-vdagent",
        "dbus",
    ),
)


class CharSource(XmlObject):
    """<source>: a path (pty, dev, file, pipe, unix), a host and service (tcp, udp), a
    SPICE channel (spicevmc's is the type itself; spiceport's @channel)."""

    mode = Field("@mode")
    path = Field("@path")
    host = Field("@host")
    service = Field("@service")
    channel = Field("@channel")
    append = Field("@append", ON_OFF)
    tls = Field("@tls", YES_NO)
    master = Field("@master")
    slave = Field("@slave")
    reconnect_enabled = Field("reconnect/@enabled", YES_NO)
    reconnect_timeout = Field("reconnect/@timeout", INT)
    # qemu-vdagent's <source><clipboard copypaste/><mouse mode/></source>
    clipboard_copypaste = Field("clipboard/@copypaste", YES_NO)
    mouse_mode = Field("mouse/@mode")


class CharHost(Device):
    """The host side every character device has: its type, <source>s, <protocol> and
    <log> (libvirt's qemucdevSrcDef).  A udp chardev has two <source>s: mode 'connect'
    (the peer) and 'bind' (the local end)."""

    type = Field("@type", CHARDEV_TYPE)
    sources = Children(CharSource, "source")
    protocol = Field("protocol/@type")
    log_file = Field("log/@file")
    log_append = Field("log/@append", ON_OFF)

    @property
    def source(self) -> CharSource | None:
        """The first <source> (the only one but for udp's bind half)."""
        sources = self.sources
        return sources[0] if sources else None

    def source_in_mode(self, mode: str) -> CharSource | None:
        """The <source mode=MODE> of the device (udp: 'connect' and 'bind')."""
        return next((s for s in self.sources if s.mode == mode), None)


def _port_or_none(text: str) -> int | None:
    port = INT.parse(text)
    return None if port == -1 else port


class CharDevice(CharHost):
    """A character device with a guest side: <target type port> (qemucdevTgtDef)."""

    target_type = Field("target/@type")
    # port='-1' is libvirt's own "not set" (virDomainChrDefParseTargetXML's default):
    # the port is assigned as if none were written (checked with libvirt 9.0)
    target_port = Field("target/@port", Converter("integer", _port_or_none, str))


class Serial(CharDevice):
    """<serial type>: target/@type isa-serial, usb-serial, pci-serial, …; <target><model
    name> the QEMU device libvirt writes."""

    target_model = Field("target/model/@name")


class Console(CharDevice):
    """<console type>: target/@type serial (the first serial again), virtio (virtconsole),
    sclp, …"""


class Channel(CharDevice):
    """<channel type>: target/@type virtio (a virtserialport named target/@name) or guestfwd
    (target/@address and @port)."""

    target_name = Field("target/@name")
    target_address = Field("target/@address")
    target_state = Field("target/@state")


class Parallel(CharDevice):
    """<parallel type>: an isa-parallel port."""


class Redirdev(CharHost):
    """<redirdev bus type>: a USB device redirected through a chardev (spicevmc, tcp)."""

    bus = Field("@bus")


class RedirFilterRule(XmlObject):
    """<redirfilter><usbdev class vendor product version allow>: one rule of the filter
    every USB redirection device of the domain gets (absent: any)."""

    # a number (0x… hexadecimal) or -1 for any, kept as written
    usb_class = Field("@class")
    vendor = Field("@vendor")
    product = Field("@product")
    version = Field("@version")
    allow = Field("@allow", YES_NO)


class Smartcard(CharDevice):
    """<smartcard mode>: host, host-certificates (three <certificate>s and a <database>)
    or passthrough (a chardev: type, <source> and <target> as a CharDevice's)."""

    mode = Field("@mode")
    database = Field("database")

    @property
    def certificates(self) -> list[str]:
        """The <certificate> texts in order (host-certificates mode)."""
        return ["".join(node.itertext()) for node in self.element.iterchildren("certificate")]


__all__ = [
    "CHARDEV_TYPE",
    "Channel",
    "CharDevice",
    "CharHost",
    "CharSource",
    "Console",
    "Parallel",
    "RedirFilterRule",
    "Redirdev",
    "Serial",
    "Smartcard",
]
