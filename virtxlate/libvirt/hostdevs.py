"""Host devices that are storage: vhost-scsi (<hostdev type='scsi_host'>), and SCSI
<hostdev type='scsi'> passthrough, which is not translated yet (a warning says so).

libvirt gives host devices their PCI slot (or ccw devno) after the virtio disks
(qemuDomainAssignDevicePCISlots) and writes them after the disks
(qemuBuildHostdevCommandLine).
"""

from __future__ import annotations

from ..model import Address
from ..model.fields import XmlObject
from . import transitional
from .context import (
    StoragePlan,
    add_location,
    explicit_pci,
    take_slot,
    transport_device,
    unsupported,
)
from .options import Option

# libvirt's test suite passes the first file descriptor as 3; a running libvirt passes
# whichever descriptor it opened on /dev/vhost-scsi.
FIRST_PASSED_FD = 3


def plan_hostdevs(plan: StoragePlan) -> list[Option]:
    """The -device options of the storage host devices, their addresses taken."""
    options = []
    next_fd = FIRST_PASSED_FD
    for number, node in enumerate(plan.domain.element.iterfind("devices/hostdev")):
        kind = node.get("type")
        if kind == "scsi":
            plan.findings.append(unsupported(plan, XmlObject(node), "a SCSI <hostdev>"))
            continue
        if kind != "scsi_host" or node.find("source[@protocol='vhost']") is None:
            continue    # PCI, USB and mdev host devices are not storage
        source = node.find("source")
        # a user alias (ua-…) is kept, as libvirt keeps it; otherwise hostdevN by position
        user_alias = node.xpath("string(alias/@name)")
        alias = user_alias if user_alias.startswith("ua-") else f"hostdev{number}"
        # model='virtio-transitional' picks the transitional device, as for disks
        suffix = {"virtio-transitional": "-transitional",
                  "virtio-non-transitional": "-non-transitional"}.get(node.get("model", ""), "")
        placed_as = transport_device(plan, f"vhost-scsi-pci{suffix}")
        device, model_props = transitional.resolve(plan.caps, placed_as)
        if plan.caps.device(device) is None:
            plan.findings.append(unsupported(
                plan, XmlObject(node), f"vhost-scsi ({device} is missing from QEMU "
                f"{plan.caps.version})"))
            continue
        option = Option("-device", device, origin=XmlObject(node))
        option.props.extend(model_props)
        option.add("wwpn", source.get("wwpn"))
        option.add("vhostfd", str(next_fd))
        next_fd += 1
        option.add("id", alias)
        address = node.find("address")
        if address is not None and address.get("type") in ("pci", "ccw"):
            placed: tuple[str, str] | None = explicit_pci(plan, Address(address))
        else:
            placed = take_slot(plan, XmlObject(node), placed_as)
        if placed is not None:
            add_location(option, placed)
        options.append(option)
    return options
