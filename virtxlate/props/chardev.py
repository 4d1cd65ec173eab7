"""Character devices as libvirt writes them: each -chardev back-end and its front-end
(serial, parallel, channel, console), USB redirection, smartcards and TPMs.

Follows libvirt 9.0's qemuBuildChrChardevStr / qemuBuildSerialCommandLine /
qemuBuildChannelsCommandLine / qemuBuildConsoleCommandLine / qemuBuildRedirdevCommandLine /
qemuBuildSmartcardCommandLine / qemuBuildTPMsCommandLine for QEMU 7.2, as its
domxml-to-native writes them (tests/test_chardev.py holds what it wrote).  The -chardev
back-end is keyval (``-chardev pty,id=charserial0``), the devices -device like every
other.  What only the VM's host or a libvirt-run process knows (libvirt's channel socket
directory, swtpm's socket, a TPM's descriptors) is written as a named placeholder with a
VX0701 info finding unless a host is asked.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..caps import index as caps_index
from ..findings import finding_at
from ..host import ASK_THE_HOST, host_known
from ..model import Domain
from ..model.chardevs import Channel, CharDevice, CharHost, Console, Serial
from ..model.devices import Device
from ..model.fields import XmlObject
from ..option import Option, Value
from ..placement.vioserial import SerialPort, assign_virtio_serial_ports
from .context import StoragePlan, add_location, on_off, unsupported
from .controllers import usb_location

# libvirt's channel socket directory of a privileged (qemu:///system) libvirt
# (cfg->channelTargetDir), and swtpm's socket directory (cfg->swtpmStateDir)
CHANNEL_TARGET_DIR = "/var/lib/libvirt/qemu/channel/target"
SWTPM_STATE_DIR = "/run/libvirt/qemu/swtpm"
# written in their place when no host is asked: libvirt's configuration decides them
CHANNEL_DIR_PLACEHOLDER = "{libvirt-channel-target-dir}"
SWTPM_DIR_PLACEHOLDER = "{libvirt-swtpm-state-dir}"
# qemu.conf's default_tls_x509_cert_dir / chardev_tls_x509_cert_dir as shipped
TLS_X509_DIR = "/etc/pki/qemu"
DRY_RUN_ID = -1  # the domain id libvirt names paths with when the domain does not run
SHORT_NAME_MAX = 20  # VIR_DOMAIN_SHORT_NAME_MAX
NSS_DATABASE = "/etc/pki/nssdb"  # VIR_DOMAIN_SMARTCARD_DEFAULT_DATABASE
# QEMU's ISA ports (hw/char/serial-isa.c MAX_ISA_SERIAL_PORTS, hw/char/parallel.c
# MAX_PARALLEL_PORTS): libvirt writes more, QEMU 7.2 refuses them at start (measured)
MAX_ISA_SERIAL_PORTS = 4
MAX_PARALLEL_PORTS = 3

# <… type='X'> → the -chardev back-end QEMU calls it (qemuBuildChardevCommand)
_BACKENDS = {
    "null": "null",
    "vc": "vc",
    "pty": "pty",
    "stdio": "stdio",
    "file": "file",
    "pipe": "pipe",
    "dev": "serial",  # "parallel" for a <parallel>
    "udp": "udp",
    "tcp": "socket",
    "unix": "socket",
    "spicevmc": "spicevmc",
    "spiceport": "spiceport",
    "qemu-vdagent": "qemu-vdagent",
    "dbus": "dbus",
}
# a back-end's capability flag of the tables (libvirt's QEMU_CAPS_CHARDEV_*)
# (spicevmc's chardev-spicevmc is retired: every QEMU libvirt 9.0 runs has it)
_BACKEND_FLAGS = {"qemu-vdagent": "chardev.qemu-vdagent"}

# <serial><target type> → the QEMU device libvirt writes without <model name>
# (qemuDomainChrSerialTargetModel...); system-serial is the machine's own UART, given
# with -serial chardev:… (pl011 on aarch64 virt)
SERIAL_MODELS = {
    "isa-serial": "isa-serial",
    "usb-serial": "usb-serial",
    "pci-serial": "pci-serial",
    "spapr-vio-serial": "spapr-vty",
    "system-serial": "pl011",
    "sclp-serial": "sclpconsole",
    "isa-debug": "isa-debugcon",
}
SYSTEM_SERIAL_MODELS = frozenset({"pl011", "16550a"})
# the target type of a <serial> that names none, per guest architecture
# (qemuDomainChrDefPostParse)
_SERIAL_DEFAULT_TARGET = {
    "x86_64": "isa-serial",
    "i686": "isa-serial",
    "s390x": "sclp-serial",
    "aarch64": "system-serial",
    "armv7l": "system-serial",
    "ppc64": "spapr-vio-serial",
    "ppc64le": "spapr-vio-serial",
}
CONSOLE_DEVICES = {"virtio": "virtconsole", "sclp": "sclpconsole", "sclplm": "sclplmconsole"}
# <tpm model> → its device; tpm-tis on an Arm machine is QEMU's sysbus variant
TPM_DEVICES = {"tpm-tis": "tpm-tis", "tpm-crb": "tpm-crb", "tpm-spapr": "tpm-spapr"}
_TPM_DEFAULT = {"aarch64": "tpm-tis-device", "ppc64": "tpm-spapr", "ppc64le": "tpm-spapr"}


def alias_of(device: Device, prefix: str, index: int) -> str:
    """The device's id: its user alias (ua-…) or PREFIX and its index among its kind
    (qemuAssignDeviceChrAlias and the others)."""
    return device.user_alias or f"{prefix}{index}"


def short_name(domain: Domain) -> str:
    """virDomainDefGetShortName for the dry run's id: "-1-" and the name's first 20
    characters."""
    return f"{DRY_RUN_ID}-{(domain.name or '')[:SHORT_NAME_MAX]}"


# --- the back-end (-chardev) ------------------------------------------------------------


def chardev_options(
    plan: StoragePlan,
    char: CharHost,
    char_id: str,
    spicevmc: str,
    origin: XmlObject,
    socket: str | None = None,
) -> list[Option]:
    """The -chardev of CHAR named CHAR_ID, after the TLS credentials object it uses;
    SPICEVMC: the SPICE channel a spicevmc back-end carries (vdagent, usbredir,
    smartcard); SOCKET: the file name of libvirt's own socket for a unix one without a
    path (a virtio channel's).  Empty (and a finding) for a type virtxlate does not
    write."""
    kind = char.type or "pty"
    backend = _BACKENDS.get(kind)
    if backend is None:
        plan.findings.append(unsupported(plan, origin, f"a character device of type '{kind}'"))
        return []
    flag = _BACKEND_FLAGS.get(kind)
    if flag is not None and not plan.caps.has_flag(flag):
        _needs(
            plan,
            origin,
            f"a character device of type '{kind}'",
            "flags",
            flag,
            f"QEMU's {kind} chardev",
        )
    if kind == "dev" and origin.element.tag == "parallel":
        backend = "parallel"
    option = Option("-chardev", backend, [("id", char_id)], origin=origin)
    options = [option]
    source = char.source
    if kind in ("file", "pipe", "dev"):
        option.add("path", source.path if source is not None else None)
        if kind == "file" and source is not None:
            option.add("append", on_off(source.append))
    elif kind == "udp":
        peer = char.source_in_mode("connect") or (
            source if source is not None and source.mode is None else None
        )
        local = char.source_in_mode("bind")
        option.add("host", (peer.host if peer else None) or "")
        option.add("port", peer.service if peer else None)
        option.add("localaddr", (local.host if local else None) or "")
        option.add("localport", (local.service if local else None) or "0")
    elif kind == "tcp":
        options[:0] = _tcp(plan, char, option)
    elif kind == "unix":
        _unix(plan, char, option, origin, socket)
    elif kind == "spicevmc":
        option.add("name", spicevmc)
    elif kind in ("spiceport", "dbus"):
        option.add("name", source.channel if source is not None else None)
    elif kind == "qemu-vdagent":
        option.add("name", "vdagent")
        if source is not None:
            option.add("clipboard", on_off(source.clipboard_copypaste))
            mode = source.mouse_mode
            option.add("mouse", None if mode is None else on_off(mode == "client"))
    option.add("logfile", char.log_file)
    option.add("logappend", on_off(char.log_append))
    return options


def _tcp(plan: StoragePlan, char: CharHost, option: Option) -> list[Option]:
    """host/port, telnet, server, reconnect, TLS of a tcp back-end; the TLS object it
    needs (qemuBuildTLSx509BackendProps) is returned, to go before it."""
    source = char.source
    bind = source is not None and source.mode == "bind"
    option.add("host", source.host if source is not None else None)
    option.add("port", source.service if source is not None else None)
    if char.protocol == "telnet":
        option.add("telnet", "on")
    _server_or_reconnect(option, char, bind)
    if source is None or not source.tls:
        return []
    tls_id = f"obj{option.get('id')}_tls0"
    option.add("tls-creds", tls_id)
    plan.findings.append(
        finding_at(
            "VX0701",
            "info",
            f"the TLS certificates of this character device are in {TLS_X509_DIR}, "
            "qemu.conf's default (chardev_tls_x509_cert_dir on the VM's host may name "
            "another directory)",
            option.origin,
            plan.domain.source,
            hint=ASK_THE_HOST,
        )
    )
    tls: list[tuple[str, Value]] = [
        ("id", tls_id),
        ("dir", TLS_X509_DIR),
        ("endpoint", "server" if bind else "client"),
        ("verify-peer", True),
    ]
    return [Option("-object", "tls-creds-x509", tls, origin=option.origin)]


def _server_or_reconnect(option: Option, char: CharHost, bind: bool) -> None:
    """server=on,wait=off of a listening socket; reconnect=N (0: off) of a connecting one."""
    source = char.source
    if bind:
        option.add("server", "on")
        option.add("wait", "off")
    elif source is not None and source.reconnect_enabled is not None:
        option.add("reconnect", (source.reconnect_timeout or 0) if source.reconnect_enabled else 0)


def _unix(
    plan: StoragePlan, char: CharHost, option: Option, origin: XmlObject, socket: str | None
) -> None:
    """path, server or reconnect of a unix socket; a virtio channel without a path gets
    libvirt's own socket SOCKET in its channel directory (qemuDomainPrepareChannel).  A
    virtio channel's path inside that directory is one libvirt made when the domain last
    ran (`virsh dumpxml` of a running domain shows it, e.g. …/domain-30-NAME/…): libvirt
    drops it when it reads the domain and makes a new one (qemuDomainChrDefDropDefaultPath)."""
    source = char.source
    path = source.path if source is not None else None
    if socket is not None and path is not None and path.startswith(CHANNEL_TARGET_DIR):
        path = None
    bind = source is not None and source.mode == "bind"
    if path is None and socket is not None:
        bind = True
        directory = CHANNEL_TARGET_DIR if host_known(plan.host) else CHANNEL_DIR_PLACEHOLDER
        path = f"{directory}/domain-{short_name(plan.domain)}/{socket}"
        if not host_known(plan.host):
            plan.findings.append(
                finding_at(
                    "VX0701",
                    "info",
                    "this channel's socket is libvirt's own, in its channel directory on "
                    f"the VM's host: written as {path} ({CHANNEL_TARGET_DIR} for a "
                    "system libvirt)",
                    origin,
                    plan.domain.source,
                    hint=ASK_THE_HOST,
                )
            )
    option.add("path", path)
    _server_or_reconnect(option, char, bind)


def _needs(plan: StoragePlan, obj: XmlObject, what: str, kind: str, name: str, shown: str) -> None:
    """VX0303: WHAT needs NAME (a device type or a flag of the tables) the release lacks;
    VX0307 (a warning) for a device type of a derived release (no captured replies) whose
    neighbours disagree on it: its absence is not known."""
    if kind == "devices" and name in plan.caps.uncertain_devices:
        plan.findings.append(
            finding_at(
                "VX0307",
                "warning",
                f"{what} needs QEMU device '{name}'; virtxlate does not know whether QEMU "
                f"{plan.caps.version} has it (no captured replies of this release, and its "
                "neighbours disagree)",
                obj,
                plan.domain.source,
            )
        )
        return
    since = caps_index.first_with(kind, name, plan.caps.arch, after=plan.caps.version)
    plan.findings.append(
        finding_at(
            "VX0303",
            "error",
            f"{what} needs {shown}, which QEMU {plan.caps.version} does not have",
            obj,
            plan.domain.source,
            since=since,
            hint=None if since else "no release virtxlate knows has it",
        )
    )


def _refused_at_start(plan: StoragePlan, obj: XmlObject, message: str) -> None:
    """VX0221: libvirt writes it, QEMU refuses it when it starts."""
    plan.findings.append(finding_at("VX0221", "error", message, obj, plan.domain.source))


def _device(plan: StoragePlan, obj: XmlObject, driver: str, what: str) -> Option:
    """A -device of DRIVER for OBJ; a VX0303 finding when the release lacks the type."""
    if not plan.caps.has_device(driver):
        _needs(plan, obj, what, "devices", driver, f"QEMU device '{driver}'")
    return Option("-device", driver, origin=obj)


# --- serial ports -------------------------------------------------------------------------


def _arch(plan: StoragePlan) -> str:
    return plan.domain.arch or plan.caps.arch


def serial_devices(domain: Domain) -> list[CharDevice]:
    """The serial ports libvirt has: the <serial>s, or the first <console> when it is a
    serial one and there is no <serial> (virDomainDefAddConsoleCompat)."""
    serials: list[CharDevice] = list(domain.serials)
    consoles = domain.consoles
    if not serials and consoles and consoles[0].target_type in (None, "serial"):
        serials = [consoles[0]]
    return serials


def _ports(devices: list[CharDevice]) -> Iterator[int]:
    """Each device's target port: its own, else one more than the largest so far
    (virDomainChrDefPostParse)."""
    highest = max((d.target_port for d in devices if d.target_port is not None), default=-1)
    for device in devices:
        if device.target_port is not None:
            yield device.target_port
        else:
            highest += 1
            yield highest


def _add_usb(plan: StoragePlan, option: Option, device: Device) -> None:
    """bus= (the USB controller's, by its user alias when it has one) and the port the
    placement gives DEVICE (qemuDomainAssignUSBAddresses)."""
    option.props.extend(usb_location(plan, device))


def _add_isa(option: Option, device: Device) -> None:
    address = device.address
    if address is not None and address.type == "isa":
        option.add("iobase", address.iobase)
        option.add("irq", address.irq)


def serial_options(plan: StoragePlan) -> list[Option]:
    """Each <serial>: its -chardev, then its device (qemuBuildSerialCommandLine)."""
    options: list[Option] = []
    devices = serial_devices(plan.domain)
    for index, (device, port) in enumerate(zip(devices, _ports(devices), strict=True)):
        alias = alias_of(device, "serial", index)
        backend = chardev_options(plan, device, f"char{alias}", "vdagent", device)
        if not backend:
            continue
        target = device.target_type
        if isinstance(device, Console) or target in (None, "serial"):
            target = _SERIAL_DEFAULT_TARGET.get(_arch(plan), "isa-serial")
        model = (device.target_model if isinstance(device, Serial) else None) or (
            SERIAL_MODELS.get(target)
        )
        if model is None:
            plan.findings.append(unsupported(plan, device, f"a serial port of type '{target}'"))
            continue
        options += backend
        if model in SYSTEM_SERIAL_MODELS:
            options.append(Option("-serial", f"chardev:char{alias}", origin=device))
            continue
        option = _device(plan, device, model, f"a serial port of type '{target}'")
        option.add("chardev", f"char{alias}")
        option.add("id", alias)
        if model == "isa-debugcon":
            _add_isa(option, device)
        elif model == "isa-serial":
            option.add("index", port)
            if not 0 <= port < MAX_ISA_SERIAL_PORTS:
                _refused_at_start(
                    plan,
                    device,
                    f"isa-serial index {port}: QEMU has ISA serial ports 0 to "
                    f'{MAX_ISA_SERIAL_PORTS - 1} ("Max. supported number of ISA serial ports '
                    f'is {MAX_ISA_SERIAL_PORTS}")',
                )
            _add_isa(option, device)
        elif model == "pci-serial":
            placed = plan.placement.location_of(device)
            if placed is not None:
                add_location(option, placed)
        elif model == "usb-serial":
            _add_usb(plan, option, device)
        elif model == "spapr-vty" and device.address is not None:
            option.add("reg", device.address.reg)
        options.append(option)
    return options


def parallel_options(plan: StoragePlan) -> list[Option]:
    """Each <parallel>: its -chardev and an isa-parallel (qemuBuildParallelsCommandLine)."""
    options: list[Option] = []
    for index, device in enumerate(plan.domain.parallels):
        alias = alias_of(device, "parallel", index)
        backend = chardev_options(plan, device, f"char{alias}", "vdagent", device)
        if not backend:
            continue
        options += backend
        option = _device(plan, device, "isa-parallel", "a parallel port")
        if index == MAX_PARALLEL_PORTS:
            _refused_at_start(
                plan,
                device,
                f"a parallel port after the first {MAX_PARALLEL_PORTS}: QEMU "
                f'refuses it ("Max. supported number of parallel ports is {MAX_PARALLEL_PORTS}")',
            )
        option.add("chardev", f"char{alias}")
        option.add("id", alias)
        _add_isa(option, device)
        options.append(option)
    return options


# --- channels and consoles ----------------------------------------------------------------


def _port_option(option: Option, place: SerialPort | None, char_id: str, alias: str) -> None:
    """bus, nr, chardev and id of a virtio-serial port (qemuBuildVirtioSerialPortDevProps)."""
    if place is not None:
        option.add("bus", place.bus_name)
        option.add("nr", place.port)
    option.add("chardev", char_id)
    option.add("id", alias)


def _socket_name(channel: Channel, place: SerialPort | None) -> str | None:
    """The file libvirt names a virtio channel's own socket: its target name, else its
    port (vioser-CC-BB-PP.sock)."""
    if channel.target_type != "virtio":
        return None
    if channel.target_name:
        return channel.target_name
    if place is None:
        return None
    return f"vioser-{place.controller:02d}-{place.bus:02d}-{place.port:02d}.sock"


def channel_options(plan: StoragePlan) -> list[Option]:
    """Each <channel>: virtio ones a -chardev and a virtserialport on its virtio-serial
    port, guestfwd ones a -chardev and the user network's forward (qemuBuildChannelsCommandLine)."""
    options: list[Option] = []
    ports: dict | None = None
    for index, channel in enumerate(plan.domain.channels):
        alias = alias_of(channel, "channel", index)
        target = channel.target_type
        if target not in ("virtio", "guestfwd"):
            plan.findings.append(unsupported(plan, channel, f"a channel of type '{target}'"))
            continue
        place = None
        if target == "virtio":
            if ports is None:
                ports = assign_virtio_serial_ports(plan.domain)
            place = ports.get(channel.element)
        backend = chardev_options(
            plan, channel, f"char{alias}", "vdagent", channel, _socket_name(channel, place)
        )
        if not backend:
            continue
        options += backend
        if target == "guestfwd":
            forward = f"tcp:{channel.target_address}:{channel.target_port}-chardev:char{alias}"
            guestfwd: list[Value] = [{"str": forward}]
            options.append(
                Option(
                    "-netdev",
                    None,
                    [("type", "user"), ("guestfwd", guestfwd), ("id", alias)],
                    origin=channel,
                )
            )
            continue
        option = _device(plan, channel, "virtserialport", "a virtio channel")
        _port_option(option, place, f"char{alias}", alias)
        option.add("name", channel.target_name)
        options.append(option)
    return options


def console_options(plan: StoragePlan) -> list[Option]:
    """Each <console> that is not the first serial port again: virtconsole, sclpconsole,
    sclplmconsole (qemuBuildConsoleCommandLine)."""
    options: list[Option] = []
    ports: dict | None = None
    consoles = plan.domain.consoles
    # with an ISA serial0 and a first <console> of another type, libvirt puts a copy of
    # serial0 before it as console 0, so the others' aliases count from 1
    # (virDomainDefAddConsoleCompat; seen with libvirt 9.0: not with usb- or pci-serial)
    serials = plan.domain.serials
    isa = bool(serials) and (
        serials[0].target_type == "isa-serial"
        or (serials[0].target_type is None and _arch(plan) in ("x86_64", "i686"))
    )
    shift = int(isa and bool(consoles) and consoles[0].target_type not in (None, "serial"))
    for position, console in enumerate(consoles):
        index = position + shift
        target = console.target_type
        if index == 0 and target in (None, "serial"):
            continue  # serial0 itself (serial_options)
        device = CONSOLE_DEVICES.get(target or "")
        if device is None:
            plan.findings.append(unsupported(plan, console, f"a console of type '{target}'"))
            continue
        alias = alias_of(console, "console", index)
        backend = chardev_options(plan, console, f"char{alias}", "vdagent", console)
        if not backend:
            continue
        options += backend
        option = _device(plan, console, device, f"a console of type '{target}'")
        if device == "virtconsole":
            if ports is None:
                ports = assign_virtio_serial_ports(plan.domain)
            _port_option(option, ports.get(console.element), f"char{alias}", alias)
        else:
            option.add("chardev", f"char{alias}")
            option.add("id", alias)
        options.append(option)
    return options


# --- USB redirection and smartcards -------------------------------------------------------


def _filter(plan: StoragePlan) -> str | None:
    """<redirfilter> as usb-redir's filter: class:vendor:product:version:allow rules
    joined by '|', -1 for any (qemuBuildRedirdevDevProps)."""
    rules = plan.domain.redirfilter_rules
    if not rules:
        return None
    texts = []
    for rule in rules:
        fields = (
            _filter_number(rule.usb_class, 2),
            _filter_number(rule.vendor, 4),
            _filter_number(rule.product, 4),
            _filter_version(rule.version),
            "1" if rule.allow else "0",
        )
        texts.append(":".join(fields))
    return "|".join(texts)


def _filter_number(text: str | None, digits: int) -> str:
    """A rule's class, vendor or product as libvirt prints it: 0x and upper-case hex
    digits, -1 when absent or -1 (any)."""
    if text is None or text.strip() == "-1":
        return "-1"
    try:
        value = int(text.strip(), 0)
    except ValueError:
        return "-1"  # libvirt's parser refuses it before
    return f"0x{value:0{digits}X}"


def _filter_version(text: str | None) -> str:
    """A rule's version 'M.mm' as its BCD number (2.00 → 0x0200, a one-digit minor is
    tens: 1.1 → 0x0110, as libvirt 9.0 writes it), -1 when absent."""
    if text is None or text.strip() == "-1":
        return "-1"
    major, _, minor = text.strip().partition(".")
    try:
        high = int(major, 16)
        low = int(minor or "0", 16) << (4 if len(minor) == 1 else 0)
    except ValueError:
        return "-1"  # libvirt's parser refuses it before
    return f"0x{(high << 8) | low:04X}"


def redirdev_options(plan: StoragePlan) -> list[Option]:
    """Each <redirdev bus='usb'>: its -chardev and a usb-redir on its USB port."""
    options: list[Option] = []
    for index, redirdev in enumerate(plan.domain.redirdevs):
        alias = alias_of(redirdev, "redir", index)
        backend = chardev_options(plan, redirdev, f"char{alias}", "usbredir", redirdev)
        if not backend:
            continue
        options += backend
        option = _device(plan, redirdev, "usb-redir", "a USB redirection device")
        option.add("chardev", f"char{alias}")
        option.add("id", alias)
        option.add("filter", _filter(plan))
        option.add("bootindex", redirdev.boot_order)
        _add_usb(plan, option, redirdev)
        options.append(option)
    return options


def smartcard_options(plan: StoragePlan) -> list[Option]:
    """Each <smartcard> on the ccid bus of its controller (the usb-ccid the controllers
    write): ccid-card-emulated for host and host-certificates, a -chardev and
    ccid-card-passthru for passthrough (qemuBuildSmartcardCommandLine)."""
    options: list[Option] = []
    for index, card in enumerate(plan.domain.smartcards):
        alias = alias_of(card, "smartcard", index)
        address = card.address
        controller = address.controller if address is not None and address.controller else 0
        if card.mode == "passthrough":
            backend = chardev_options(plan, card, f"char{alias}", "smartcard", card)
            if not backend:
                continue
            options += backend
            option = _device(plan, card, "ccid-card-passthru", "a passthrough smartcard")
            option.add("chardev", f"char{alias}")
        elif card.mode in ("host", "host-certificates"):
            option = _device(plan, card, "ccid-card-emulated", f"a smartcard of mode '{card.mode}'")
            if card.mode == "host":
                option.add("backend", "nss-emulated")
            else:
                option.add("backend", "certificates")
                for number, certificate in enumerate(card.certificates[:3], start=1):
                    option.add(f"cert{number}", certificate)
                option.add("db", card.database or NSS_DATABASE)
        else:
            plan.findings.append(unsupported(plan, card, f"a smartcard of mode '{card.mode}'"))
            continue
        option.add("id", alias)
        option.add("bus", f"ccid{controller}.0")
        options.append(option)
    return options


# --- TPMs -----------------------------------------------------------------------------------


def tpm_options(plan: StoragePlan) -> list[Option]:
    """Each <tpm>: the back-end (-tpmdev, after the -chardev of swtpm's socket for an
    emulator) and the front-end device (qemuBuildTPMsCommandLine)."""
    options: list[Option] = []
    for index, tpm in enumerate(plan.domain.tpms):
        alias = alias_of(tpm, "tpm", index)
        backend = tpm.backend
        kind = backend.type if backend is not None else None
        tpmdev = Option("-tpmdev", None, origin=tpm)
        if kind == "passthrough" and backend is not None:
            if not plan.caps.has_flag("tpm-passthrough"):
                _needs(
                    plan,
                    tpm,
                    "a passthrough TPM",
                    "flags",
                    "tpm-passthrough",
                    "QEMU's passthrough TPM back-end",
                )
            _passthrough_facts(plan, tpm, backend.device_path or "/dev/tpm0")
            tpmdev.implied = "passthrough"
            tpmdev.add("id", f"tpm-{alias}")
            # libvirt opens the device and its cancel file and passes them as fd sets
            tpmdev.add("path", "/dev/fdset/0")
            tpmdev.add("cancel-path", "/dev/fdset/1")
        elif kind in ("emulator", "external") and backend is not None:
            if not plan.caps.has_flag("tpm-emulator"):
                _needs(
                    plan,
                    tpm,
                    "an emulated TPM",
                    "flags",
                    "tpm-emulator",
                    "QEMU's emulator TPM back-end",
                )
            socket = Option("-chardev", "socket", [("id", "chrtpm")], origin=tpm)
            socket.add(
                "path", backend.source_path if kind == "external" else _swtpm_socket(plan, tpm)
            )
            options.append(socket)
            tpmdev.implied = "emulator"
            tpmdev.add("id", f"tpm-{alias}")
            tpmdev.add("chardev", "chrtpm")
        else:
            plan.findings.append(unsupported(plan, tpm, f"a TPM back-end of type '{kind}'"))
            continue
        options.append(tpmdev)
        model = tpm.model
        if model is None:
            driver = _TPM_DEFAULT.get(_arch(plan), "tpm-tis")
        elif model == "tpm-tis" and _arch(plan) == "aarch64":
            driver = "tpm-tis-device"
        else:
            driver = TPM_DEVICES.get(model, model)
        option = _device(plan, tpm, driver, f"a TPM of model '{model or driver}'")
        option.add("tpmdev", f"tpm-{alias}")
        option.add("id", alias)
        options.append(option)
    return options


def _swtpm_socket(plan: StoragePlan, tpm: XmlObject) -> str:
    """swtpm's socket libvirt starts the emulator on (qemuTPMEmulatorBuildCommand)."""
    directory = SWTPM_STATE_DIR if host_known(plan.host) else SWTPM_DIR_PLACEHOLDER
    path = f"{directory}/{short_name(plan.domain)}-swtpm.sock"
    plan.findings.append(
        finding_at(
            "VX0701",
            "info",
            "libvirt starts swtpm for this TPM when the domain starts and gives QEMU its "
            f"socket, written as {path}; it needs swtpm and swtpm_setup on the VM's host "
            "(with TPM 2.0 support for version '2.0'), which is not looked up "
            "(domxml-to-native writes a null chardev in its place)",
            tpm,
            plan.domain.source,
            hint=ASK_THE_HOST,
        )
    )
    return path


def _passthrough_facts(plan: StoragePlan, tpm: XmlObject, path: str) -> None:
    """libvirt opens the host's TPM device: refused when the host lacks it."""
    if not host_known(plan.host):
        plan.findings.append(
            finding_at(
                "VX0701",
                "info",
                f"libvirt opens the VM's host's {path} and its cancel file and passes both "
                "(fd sets 0 and 1, -add-fd); whether the host has it is not looked up",
                tpm,
                plan.domain.source,
                hint=ASK_THE_HOST,
            )
        )
    elif not plan.host.has_device_node(path):
        plan.findings.append(
            finding_at(
                "VX0211",
                "error",
                f"the host has no {path} for this passthrough TPM (libvirt: "
                f'"Could not open TPM device {path}")',
                tpm,
                plan.domain.source,
            )
        )
