"""Host devices given to the guest: <hostdev> (PCI, USB, SCSI, vhost-scsi, mediated) and
the USB <hub>.

Names follow libvirt 9.0's domaincommon.rng (defines "hostdev", "hostdevsubsyspci",
"hostdevsubsysusb", "hostdevsubsysscsi", "hostdevsubsyshost", "hostdevsubsysmdev");
every field reads ``None`` when the user did not write it.
"""

from __future__ import annotations

from .devices import Address, Device, SourceHost
from .fields import INT, YES_NO, Child, Children, Field, Flag, XmlObject, enumeration
from .network import Rom

# mode='subsystem' (pci … mdev) and mode='capabilities' (storage, misc, net)
HOSTDEV_TYPE = enumeration(
    "hostdev type", ("pci", "usb", "scsi", "scsi_host", "mdev", "storage", "misc", "net")
)


class HostdevSource(XmlObject):
    """<hostdev><source>: the host's device.  PCI: <address domain bus slot function>;
    USB: <vendor id>/<product id> and/or <address bus device>; SCSI: <adapter name> and
    <address bus target unit>, or an iSCSI @protocol/@name with <host>s; vhost-scsi:
    @protocol='vhost' @wwpn; mdev: <address uuid>; capabilities: <block>, <char> or
    <interface>."""

    startup_policy = Field("@startupPolicy")
    write_filtering = Field("@writeFiltering", YES_NO)
    guest_reset = Field("@guestReset")
    vendor_id = Field("vendor/@id")
    product_id = Field("product/@id")
    address = Child(Address, "address")
    # USB host address: <address bus device> (decimal as libvirt reads them)
    usb_bus = Field("address/@bus", INT)
    usb_device = Field("address/@device", INT)
    protocol = Field("@protocol")
    name = Field("@name")
    wwpn = Field("@wwpn")
    adapter = Field("adapter/@name")
    hosts = Children(SourceHost, "host")
    auth_username = Field("auth/@username")
    initiator_iqn = Field("initiator/iqn/@name")
    # mode='capabilities': a block device, a character device, a network interface
    block = Field("block")
    char = Field("char")
    interface = Field("interface")


class Hostdev(Device):
    """<hostdev mode type managed>."""

    mode = Field("@mode")
    type = Field("@type", HOSTDEV_TYPE)
    managed = Field("@managed", YES_NO)
    model = Field("@model")  # scsi_host (vhost-scsi) transitional flavour; mdev's model
    sgio = Field("@sgio")
    rawio = Field("@rawio", YES_NO)
    display = Field("@display")
    ramfb = Field("@ramfb")
    driver_name = Field("driver/@name")
    source = Child(HostdevSource, "source")
    rom = Child(Rom, "rom")
    readonly = Flag("readonly")
    shareable = Flag("shareable")
    teaming_type = Field("teaming/@type")
    teaming_persistent = Field("teaming/@persistent")


class Hub(Device):
    """<hub type='usb'>: a usb-hub libvirt writes as it is given."""

    type = Field("@type")


__all__ = ["HOSTDEV_TYPE", "Hostdev", "HostdevSource", "Hub"]
