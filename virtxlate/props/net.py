"""The network cards' options as libvirt writes them (qemuBuildNetCommandLine): the
-netdev back-end and the -device front-end of each <interface>.

What libvirt gives QEMU when it starts the domain is written (checked against a domain
libvirt 9.0 started with QEMU 7.2): a tap-based interface's descriptors exist only in a
libvirt-run process, so they are the named placeholders TAP_FD / VHOST_FD plus an info
finding (VX0701).  The link state is set over QMP after the start and the balloon's
statistics period likewise: neither is on the command line.
"""

from __future__ import annotations

from ..caps.index import first_with
from ..findings import finding_at
from ..host import ASK_THE_HOST, host_known
from ..model.network import Interface
from ..names import transitional
from ..option import Option
from .context import StoragePlan, add_location, add_virtio_options, transport_device, unsupported
from .device_table import NETDEV_TAP, NIC_BOOT, NIC_MAC, NIC_VIRTIO, NIC_VIRTIO_QUEUES, ROMBAR
from .mapping import add_props

# Written where libvirt writes the number of a descriptor it opened for the interface
# whose alias (net0, ua-…) is given: the tap (or macvtap) device's, and /dev/vhost-net's.
TAP_FD = "<tap-fd:{alias}>"
VHOST_FD = "<vhost-fd:{alias}>"
VHOST_NET = "/dev/vhost-net"

# <interface type> libvirt backs with a tap (or macvtap) descriptor it opens itself
_TAP_TYPES = ("ethernet", "network", "bridge", "direct")
# <interface type> backed by QEMU's socket netdev, and its property (qemuBuildHostNetProps)
_SOCKET_TYPES = {"client": "connect", "server": "listen", "mcast": "mcast", "udp": "udp"}
# NIC models libvirt passes to -device by their own name (qemuBuildNicDevProps' default)
_PCI_MODELS = frozenset(
    ("e1000", "e1000e", "rtl8139", "vmxnet3", "ne2k_pci", "pcnet", "i82551", "i82557b",
     "i82559er", "igb")
)  # fmt: skip


def default_model(plan: StoragePlan) -> str:
    """The NIC model libvirt picks without <model> (qemuDomainDefaultNetModel): virtio
    on s390x and the Arm/RISC-V virt boards, rtl8139 on x86."""
    if plan.caps.arch in ("s390x", "aarch64", "armv7l", "riscv64"):
        return "virtio"
    return "rtl8139"


def nic_device(plan: StoragePlan, interface: Interface) -> str:
    """The -device driver of INTERFACE (virtio-net-pci, -ccw on s390x, virtio-net-device
    on virtio-mmio; the other models by their name)."""
    model = interface.model or default_model(plan)
    if not model.startswith("virtio"):
        return model
    address = interface.address
    if address is not None and address.type == "virtio-mmio":
        return "virtio-net-device"
    return transport_device(plan, "virtio-net-pci" + transitional.model_suffix(model), address)


def net_options(plan: StoragePlan) -> list[Option]:
    """Each <interface>: -netdev and -device, in the domain's order; its alias netN counts
    the interfaces without a user alias."""
    options: list[Option] = []
    automatic = 0
    for interface in plan.domain.interfaces:
        alias = interface.user_alias
        if alias is None:
            alias = f"net{automatic}"
            automatic += 1
        options.extend(_interface(plan, interface, alias))
    return options


def _interface(plan: StoragePlan, interface: Interface, alias: str) -> list[Option]:
    kind = interface.type
    model = interface.model or default_model(plan)
    if kind == "vhostuser":
        return _vhostuser(plan, interface, alias)
    if kind != "user" and kind not in _TAP_TYPES and _socket(interface) is None:
        plan.findings.append(unsupported(plan, interface, f"an <interface type='{kind}'>"))
        return []
    if not model.startswith("virtio") and model not in _PCI_MODELS:
        plan.findings.append(unsupported(plan, interface, f"an <interface> of model '{model}'"))
        return []
    device = nic_device(plan, interface)
    if not _release_has(plan, interface, device):
        return []
    netdev = _netdev(plan, interface, alias, model)
    return [netdev, _nic(plan, interface, alias, device, model)]


def _vhostuser(plan: StoragePlan, interface: Interface, alias: str) -> list[Option]:
    """A vhost-user NIC (qemuBuildInterfaceCommandLine): the unix socket's -chardev
    (qemuInterfaceVhostuserConnect → qemuBuildChardevCommand: path, server=on in server
    mode, reconnect), the vhost-user -netdev on it with its queues (qemuBuildHostNetProps)
    and the virtio-net device; what libvirt refuses (qemuValidateDomainDeviceDefNetwork:
    a model that is not virtio) or fails on at start (an <mtu> without <target dev>)."""
    model = interface.model or ""
    if not model.startswith("virtio"):
        plan.findings.append(
            _refused(
                plan,
                interface,
                "Wrong or no <model> 'type' attribute specified with <interface "
                "type='vhostuser'/>. vhostuser requires the virtio-net* frontend (libvirt)",
            )
        )
        return []
    source = interface.source
    if source is None or source.type != "unix" or not source.path:
        plan.findings.append(
            unsupported(plan, interface, "a vhostuser <interface> without a unix socket path")
        )
        return []
    if interface.mtu is not None and interface.target_dev is None:
        # qemuProcessPrepareHostNetwork sets the MTU on the host's port of that name
        plan.findings.append(
            _refused(
                plan,
                interface,
                "libvirt fails to start it: \"Cannot set interface MTU on '(null)': No such "
                "device\" (a vhostuser <mtu> needs the host port's <target dev>)",
                "/mtu",
            )
        )
        return []
    device = nic_device(plan, interface)
    if not _release_has(plan, interface, device):
        return []
    driver = interface.driver
    queues = driver.queues if driver is not None else None
    # libvirt's QEMU_CAPS_VHOSTUSER_MULTIQUEUE (qemuBuildHostNetProps' check): a later
    # release having it says this one lacks it (libvirt retired the flag after 4.1, so
    # the tables of newer releases do not list it)
    multiqueue_since = first_with(
        "flags", "vhost-user-multiqueue", plan.caps.arch, after=plan.caps.version
    )
    if (
        queues is not None
        and queues > 1
        and not plan.caps.has_flag("vhost-user-multiqueue")
        and multiqueue_since is not None
    ):
        plan.findings.append(
            finding_at(
                "VX0303",
                "error",
                "multi-queue is not supported for vhost-user with QEMU "
                f"{plan.caps.version} (libvirt's vhost-user-multiqueue capability)",
                interface,
                plan.domain.source,
                xpath_suffix="/driver/@queues",
                since=multiqueue_since,
            )
        )
        return []
    _tell_unshared_memory(plan, interface)
    chardev = Option("-chardev", "socket", [("id", f"char{alias}")], origin=interface)
    chardev.add("path", source.path)
    if source.mode == "server":
        chardev.add("server", "on")  # (no wait=off: QEMU waits for the back-end anyway)
    elif source.reconnect_enabled is not None:
        timeout = source.reconnect_timeout or 0
        chardev.add("reconnect", timeout if source.reconnect_enabled else 0)
    netdev = Option("-netdev", "vhost-user", [("chardev", f"char{alias}")], origin=interface)
    if queues is not None and queues > 1:
        netdev.add("queues", queues)
    netdev.add("id", f"host{alias}")
    return [chardev, netdev, _nic(plan, interface, alias, device, model)]


def _refused(plan: StoragePlan, interface: Interface, message: str, suffix: str = ""):  # type: ignore[no-untyped-def]
    """VX0100: libvirt refuses the interface (its message quoted)."""
    return finding_at(
        "VX0100", "error", message, interface, plan.domain.source, xpath_suffix=suffix
    )


def _tell_unshared_memory(plan: StoragePlan, interface: Interface) -> None:
    """VX0405: libvirt 9.0 and QEMU 7.2 start a vhost-user NIC on private guest memory,
    but the back-end cannot map it: QEMU fails when it hands the memory table over
    ("Failed initializing vhost-user memory map", vhost_user_set_mem_table).  Shared:
    <memoryBacking><access mode='shared'/> or <source type='memfd'/> (QEMU's memfd
    back-end shares by default), or every NUMA cell with memAccess='shared'."""
    domain = plan.domain
    cpu = domain.cpu
    cells = cpu.numa_cells if cpu is not None else []
    if domain.memory_access == "shared" or domain.memory_source == "memfd":
        return
    if cells and all(cell.mem_access == "shared" for cell in cells):
        return
    plan.findings.append(
        finding_at(
            "VX0405",
            "warning",
            "a vhost-user interface on guest memory that is not shared: libvirt and QEMU "
            'start it, but the back-end cannot map the memory (QEMU: "Failed initializing '
            'vhost-user memory map")',
            interface,
            plan.domain.source,
            hint="add <memoryBacking><access mode='shared'/></memoryBacking> (or a memfd "
            "source, or memAccess='shared' on every NUMA cell)",
        )
    )


def _release_has(plan: StoragePlan, interface: Interface, device: str) -> bool:
    """Whether the release has DEVICE; a VX0303 finding with its `since` when not."""
    name = transitional.resolve(plan.caps, device)[0]
    if plan.caps.has_device(name) or name in plan.caps.uncertain_devices:
        return True
    plan.findings.append(missing_device(plan, interface, "an <interface>", name))
    return False


def missing_device(plan: StoragePlan, obj, what: str, device: str, kind: str = "devices"):  # type: ignore[no-untyped-def]
    """VX0303: WHAT needs QEMU's DEVICE type (an object type when KIND is "flags": the
    tables know those as libvirt's flags of the same name), which the release lacks
    (since: the first release that has it, from the tables)."""
    since = first_with(kind, device, plan.caps.arch, after=plan.caps.version)
    noun = "device" if kind == "devices" else "object type"
    return finding_at(
        "VX0303",
        "error",
        f"{what} needs QEMU {noun} '{device}', which QEMU {plan.caps.version} does not have",
        obj,
        plan.domain.source,
        since=since,
        hint=None if since else "no release virtxlate knows has it",
    )


def _netdev(plan: StoragePlan, interface: Interface, alias: str, model: str) -> Option:
    """The back-end (qemuBuildHostNetProps): user networking, or the tap descriptor(s)
    libvirt opens, with vhost-net's for a virtio NIC on a host that has it."""
    socket = _socket(interface)
    if socket is not None:
        netdev = Option("-netdev", "socket", origin=interface)
        for key, value in socket:
            netdev.add(key, value)
        netdev.add("id", f"host{alias}")
        return netdev
    netdev = Option("-netdev", "user" if interface.type == "user" else "tap", origin=interface)
    if interface.type != "user":
        driver = interface.driver
        queues = (driver.queues if driver is not None else None) or 1
        taps = [
            TAP_FD.format(alias=alias) + ("" if queues == 1 else f"#{n}") for n in range(queues)
        ]
        netdev.add("fds" if queues > 1 else "fd", ":".join(taps))
        vhost = _vhost(plan, interface, model)
        if vhost:
            fds = [
                VHOST_FD.format(alias=alias) + ("" if queues == 1 else f"#{n}")
                for n in range(queues)
            ]
            netdev.add("vhost", True)
            netdev.add("vhostfds" if queues > 1 else "vhostfd", ":".join(fds))
        add_props(netdev, NETDEV_TAP, interface, None, None)
        _tell_placeholders(plan, interface, alias, vhost)
    netdev.add("id", f"host{alias}")
    return netdev


def _socket(interface: Interface) -> list[tuple[str, str]] | None:
    """The socket netdev's address properties of a client, server, mcast or udp
    interface (qemuBuildHostNetProps: "ADDRESS:PORT", a server's address may be empty;
    udp's <local> as localaddr), None for another type or one libvirt would refuse."""
    key = _SOCKET_TYPES.get(interface.type or "")
    source = interface.source
    if key is None or source is None or source.port is None:
        return None
    if source.address is None and interface.type != "server":
        return None
    found = [(key, f"{source.address or ''}:{source.port}")]
    if interface.type == "udp":
        if source.local_address is None or source.local_port is None:
            return None
        found.append(("localaddr", f"{source.local_address}:{source.local_port}"))
    elif source.local_address is not None:
        return None  # (<local> of mcast: not checked against libvirt yet)
    return found


def _vhost(plan: StoragePlan, interface: Interface, model: str) -> bool:
    """Whether libvirt opens vhost-net for the interface (qemuInterfaceOpenVhostNet): a
    virtio model unless <driver name='qemu'>, when the host has /dev/vhost-net (asked
    only when a host is given)."""
    driver = interface.driver
    if not model.startswith("virtio") or (driver is not None and driver.name == "qemu"):
        return False
    return host_known(plan.host) and plan.host.has_device_node(VHOST_NET)


def _tell_placeholders(plan: StoragePlan, interface: Interface, alias: str, vhost: bool) -> None:
    tap = TAP_FD.format(alias=alias)
    kind = "a macvtap device" if interface.type == "direct" else "a tap device"
    message = (
        f"interface {alias}: libvirt opens {kind} on the VM's host and passes its "
        f"descriptor; written as the placeholder {tap}"
    )
    if vhost:
        message += f", and {VHOST_NET}'s as {VHOST_FD.format(alias=alias)}"
    elif not host_known(plan.host) and interface.model is not None:
        if interface.model.startswith("virtio"):
            message += (
                f" (whether the host has {VHOST_NET} is not looked up: with it libvirt adds "
                "vhost=on and its descriptor)"
            )
    if interface.type in ("network", "bridge") and not host_known(plan.host):
        message += "; that the network or bridge exists is not looked up"
    plan.findings.append(
        finding_at("VX0701", "info", message, interface, plan.domain.source, hint=ASK_THE_HOST)
    )


def _nic(plan: StoragePlan, interface: Interface, alias: str, device: str, model: str) -> Option:
    """The front-end (qemuBuildNicDevProps)."""
    name, added = transitional.resolve(plan.caps, device)
    option = Option("-device", name, origin=interface)
    driver = interface.driver
    if model.startswith("virtio"):
        add_virtio_options(option, driver)
        for key, value in added:
            option.add(key, value)
        add_props(option, NIC_VIRTIO, interface, None, None)
        if driver is not None and driver.queues is not None and driver.queues > 1:
            # qemuBuildNicDevProps: multiqueue, with 2 vectors per queue pair and 2 more
            option.add("mq", True)
            option.add("vectors", 2 * driver.queues + 2)
        add_props(option, NIC_VIRTIO_QUEUES, interface, None, None)
    option.add("netdev", f"host{alias}")
    option.add("id", alias)
    option.add("mac", NIC_MAC.value(interface) or _random_mac(plan, interface, alias))
    add_props(option, (NIC_BOOT,), interface, None, None)
    placed = plan.placement.location_of(interface)
    if placed is not None:
        add_location(option, placed, _multifunction(interface))
    _add_rom(option, interface)
    return option


def _multifunction(interface: Interface) -> bool | None:
    address = interface.address
    return address.multifunction if address is not None else None


def _add_rom(option: Option, interface: Interface) -> None:
    """<rom> (qemuBuildRomProps): rombar 0/1 (a row), romfile ('' when disabled)."""
    rom = interface.rom
    if rom is None:
        return
    add_props(option, (ROMBAR,), interface, None, None)
    option.add("romfile", "" if rom.enabled is False else rom.file)


def _random_mac(plan: StoragePlan, interface: Interface, alias: str) -> str:
    """libvirt gives an interface without <mac> a random 52:54:00 address when it parses
    the domain (virDomainNetGenerateMAC): a placeholder names it."""
    placeholder = f"<random-mac:{alias}>"
    plan.findings.append(
        finding_at(
            "VX0701",
            "info",
            f"interface {alias} has no <mac>: libvirt generates a random 52:54:00:xx:xx:xx "
            f"address when it reads the domain; written as {placeholder}",
            interface,
            plan.domain.source,
            hint="write the <mac> virsh dumpxml shows",
        )
    )
    return placeholder
