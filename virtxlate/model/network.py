"""Network interfaces of a libvirt domain: <interface> with its source per type, model,
driver (queues, vhost, ring sizes, offloads), MTU, link state, ROM and boot order.

Names follow libvirt 9.0's domaincommon.rng (define "interface" and
"interface-options"); every field reads ``None`` when the user did not write it.
"""

from __future__ import annotations

from .devices import Address, Device, VirtioOptions
from .fields import INT, ON_OFF, YES_NO, Child, Field, XmlObject, empty_is_none, enumeration

# <interface type>: the choices of the schema's "interface" define
INTERFACE_TYPE = enumeration(
    "interface type",
    (
        "bridge",
        "ethernet",
        "vhostuser",
        "network",
        "direct",
        "user",
        "internal",
        "mcast",
        "client",
        "udp",
        "server",
        "hostdev",
        "vdpa",
        "null",
        "vds",
    ),
)


class InterfaceSource(XmlObject):
    """<interface><source>: what it means depends on the interface's type — bridge
    (@bridge), network (@network, @portgroup, @portid), direct (@dev, @mode), user/
    ethernet/vdpa (@dev), vhostuser (@type='unix', @path, @mode), mcast/client/server/udp
    (@address, @port, <local>), vds (@switchid …)."""

    bridge = Field("@bridge")
    network = Field("@network")
    portgroup = Field("@portgroup")
    portid = Field("@portid")
    dev = Field("@dev")
    mode = Field("@mode")
    type = Field("@type")
    path = Field("@path")
    name = Field("@name")
    address = Field("@address")
    port = Field("@port", INT)
    local_address = Field("local/@address")
    local_port = Field("local/@port", INT)
    reconnect_enabled = Field("reconnect/@enabled", YES_NO)
    reconnect_timeout = Field("reconnect/@timeout", INT)
    switchid = Field("@switchid")
    connectionid = Field("@connectionid", INT)
    # a hostdev interface's PCI function on the host
    pci_address = Child(Address, "address")


class InterfaceHostOffloads(XmlObject):
    """<driver><host>: offloads of the host side (virtio-net host_* properties)."""

    csum = Field("@csum", ON_OFF)
    gso = Field("@gso", ON_OFF)
    tso4 = Field("@tso4", ON_OFF)
    tso6 = Field("@tso6", ON_OFF)
    ecn = Field("@ecn", ON_OFF)
    ufo = Field("@ufo", ON_OFF)
    mrg_rxbuf = Field("@mrg_rxbuf", ON_OFF)


class InterfaceGuestOffloads(XmlObject):
    """<driver><guest>: offloads of the guest side (virtio-net guest_* properties)."""

    csum = Field("@csum", ON_OFF)
    tso4 = Field("@tso4", ON_OFF)
    tso6 = Field("@tso6", ON_OFF)
    ecn = Field("@ecn", ON_OFF)
    ufo = Field("@ufo", ON_OFF)


class InterfaceDriver(VirtioOptions):
    """<interface><driver>: backend (qemu/vhost) and virtio-net tuning."""

    name = Field("@name")
    queues = Field("@queues", INT)
    rx_queue_size = Field("@rx_queue_size", INT)
    tx_queue_size = Field("@tx_queue_size", INT)
    txmode = Field("@txmode")
    ioeventfd = Field("@ioeventfd", ON_OFF)
    event_idx = Field("@event_idx", ON_OFF)
    rss = Field("@rss", ON_OFF)
    rss_hash_report = Field("@rss_hash_report", ON_OFF)
    host = Child(InterfaceHostOffloads, "host")
    guest = Child(InterfaceGuestOffloads, "guest")


class Rom(XmlObject):
    """<rom bar file enabled>: a PCI device's option ROM (interface, hostdev)."""

    bar = Field("@bar", ON_OFF)
    file = Field("@file")
    enabled = Field("@enabled", YES_NO)


class Interface(Device):
    """<interface type>."""

    type = Field("@type", INTERFACE_TYPE)
    trust_guest_rx_filters = Field("@trustGuestRxFilters", YES_NO)
    managed = Field("@managed", YES_NO)
    mac = Field("mac/@address")
    mac_type = Field("mac/@type")
    source = Child(InterfaceSource, "source")
    # <model type>: the NIC libvirt turns into the -device driver (virtio, e1000, …)
    model = Field("model/@type")
    driver = Child(InterfaceDriver, "driver")
    # <backend tap vhost type>: host files libvirt opens instead of the defaults
    backend_type = Field("backend/@type")
    backend_tap = Field("backend/@tap")
    backend_vhost = Field("backend/@vhost")
    mtu = Field("mtu/@size", empty_is_none(INT))
    target_dev = Field("target/@dev")
    target_managed = Field("target/@managed", YES_NO)
    link_state = Field("link/@state")
    script = Field("script/@path")
    downscript = Field("downscript/@path")
    rom = Child(Rom, "rom")
    filterref = Field("filterref/@filter")
    sndbuf = Field("tune/sndbuf", INT)
    coalesce_rx_frames_max = Field("coalesce/rx/frames/@max", INT)
    teaming_type = Field("teaming/@type")
    teaming_persistent = Field("teaming/@persistent")


__all__ = [
    "INTERFACE_TYPE",
    "Interface",
    "InterfaceDriver",
    "InterfaceGuestOffloads",
    "InterfaceHostOffloads",
    "InterfaceSource",
    "Rom",
]
