"""What exists only inside a libvirt-run process, or only on its host: the ONE list of what
`compare` and the whole-domain tests take out of a command line (or make a placeholder of)
before setting libvirt's beside virtxlate's, each entry with the reason libvirt writes it.

`virsh domxml-to-native qemu-argv` is libvirt 9.0's dry run (qemuConnectDomainXMLToNative):
it writes the line of a process it would start, with the master key it would create, the
monitor it would talk QMP over, the environment and the descriptors it would pass, and
what it draws at random when it reads the XML (a UUID, MACs).  virtxlate writes what QEMU
needs to build the guest, so those are left out of its line (argv/writer.py) or written
as named placeholders, and `normalise` puts one placeholder in all those places on either
line: two lines compare equal exactly when everything else is.

Each entry says when `compare` applies it: always (what differs between any two runs of
the same domain, or between libvirt's dry run and a run: the NIC back-ends it rebuilds,
the null chardev in place of swtpm's socket, the ports it happens to find free), only
without a host (the host's facts virtxlate writes as placeholders unless asked: the
host-model CPU, qemu.conf's directories; with --connect or --host they are compared), or
never (the tests only).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..model import Domain
from .escape import split_keyval

Pair = tuple[str, str | None]  # an option and its value (None: a switch such as -S)


@dataclass(frozen=True)
class RuntimeOnly:
    """One thing of libvirt's line that comes from the run or the host, and what the
    comparison does with it: removed (PLACEHOLDER None) or replaced by PLACEHOLDER."""

    name: str
    reason: str
    placeholder: str | None
    apply: Callable[[list[Pair], Domain | None], list[Pair]]
    # whether `compare` applies it: "always" (what differs between two runs, or between
    # libvirt's dry run and a run), "no-host" (a host's fact virtxlate writes as a
    # placeholder unless a host is asked), "never" (the tests only)
    compare: str = "never"


def placeholder(name: str) -> str:
    return f"<runtime:{name}>"


# A descriptor libvirt opens and passes (a tap's fd, vhostfd, a monitor's fd): its number
# is the running process's, so it is compared as a name only (virtxlate's placeholder for
# it too).
_FD = re.compile(r'((?:^|,)(?:vhost)?fds?=|"(?:vhost)?fds?":")([^,"]+)')


def _drop_master_key(pairs: list[Pair], domain: Domain | None) -> list[Pair]:
    return [p for p in pairs if not (p[0] == "-object" and _qom(p[1]) == ("secret", "masterKey0"))]


def _secrets_under_master_key(pairs: list[Pair], domain: Domain | None) -> list[Pair]:
    out = []
    for flag, value in pairs:
        if flag == "-object" and value is not None and "masterKey0" in value:
            value = _set_keys(value, {"data": placeholder("secret"), "iv": placeholder("iv")})
        out.append((flag, value))
    return out


def _drop_monitor(pairs: list[Pair], domain: Domain | None) -> list[Pair]:
    return [
        p
        for p in pairs
        if not (p[0] == "-chardev" and _id(p[1]) == "charmonitor")
        and not (p[0] == "-mon" and "chardev=charmonitor" in (p[1] or ""))
    ]


def _fds(pairs: list[Pair], domain: Domain | None) -> list[Pair]:
    return [(flag, _FD.sub(r"\1N", value) if value is not None else None) for flag, value in pairs]


def _dry_run_nics(pairs: list[Pair], domain: Domain | None) -> list[Pair]:
    """Every NIC as the dry run writes it: a tap on a descriptor with only the MAC and
    the model of the <interface> kept (qemuConnectDomainXMLToNative replaces each by a
    new type='ethernet' one; libvirt 9.0's line has no bootindex for a NIC with
    <boot order>, which a started domain's has).  Applied to virtxlate's line, which
    writes the back-end a run would have, this keeps exactly what the dry run can show.
    The rebuilt interfaces have no user alias: the dry run names them net<i>/hostnet<i>
    by their place among the domain's interfaces, a run by their alias."""
    renamed: dict[str, str] = {}
    for index, interface in enumerate(domain.interfaces if domain is not None else ()):
        alias = interface.user_alias
        if alias is not None:
            renamed.update({alias: f"net{index}", f"host{alias}": f"hostnet{index}"})
    netdev_ids = set()
    out: list[Pair] = []
    for flag, value in pairs:
        if flag == "-netdev" and value is not None:
            netdev_id = renamed.get(_id(value), _id(value))
            netdev_ids.add(netdev_id)
            value = json.dumps(
                {"type": "tap", "fd": placeholder("fd"), "id": netdev_id}, separators=(",", ":")
            )
        elif (
            flag == "-device"
            and value is not None
            and (
                renamed.get(str(_json(value).get("netdev")), _json(value).get("netdev"))
                in netdev_ids
            )
        ):
            kept = ("driver", "netdev", "id", "mac", "bus", "addr", "multifunction")
            data = _json(value)
            data = {
                k: renamed.get(str(v), v) if k in ("netdev", "id") else v for k, v in data.items()
            }
            value = json.dumps({k: data[k] for k in data if k in kept}, separators=(",", ":"))
        elif flag == "-chardev" and value is not None and _id(value).startswith("charnet"):
            continue  # a vhost-user NIC's socket: the dry run has a tap instead
        out.append((flag, value))
    return out


def _generated_macs(pairs: list[Pair], domain: Domain | None) -> list[Pair]:
    if domain is None:
        return pairs
    random_ids = {f"net{i}" for i, nic in enumerate(domain.interfaces) if nic.mac is None}
    out = []
    for flag, value in pairs:
        if flag == "-device" and value is not None and _json(value).get("id") in random_ids:
            value = _set_keys(value, {"mac": placeholder("mac")}, only_present=True)
        out.append((flag, value))
    return out


def _automatic_vsock_cid(pairs: list[Pair], domain: Domain | None) -> list[Pair]:
    if domain is None:
        return pairs
    auto = {
        f"vsock{i}"
        for i, vsock in enumerate(domain.vsocks)
        if vsock.cid_auto is True or vsock.cid_address is None
    }
    out = []
    for flag, value in pairs:
        if flag == "-device" and value is not None and _json(value).get("id") in auto:
            value = _set_keys(value, {"guest-cid": placeholder("cid")}, only_present=True)
        out.append((flag, value))
    return out


def _generated_uuid(pairs: list[Pair], domain: Domain | None) -> list[Pair]:
    if domain is None or domain.uuid is not None:
        return pairs
    return [(f, placeholder("uuid") if f == "-uuid" else v) for f, v in pairs]


def _rewrite(pattern: str, replacement: str) -> Callable[[list[Pair], Domain | None], list[Pair]]:
    """An entry's rule that puts REPLACEMENT for PATTERN in every option's value."""
    compiled = re.compile(pattern)

    def apply(pairs: list[Pair], domain: Domain | None) -> list[Pair]:
        return [(f, compiled.sub(replacement, v) if v else v) for f, v in pairs]

    return apply


# domain--1-NAME in a dry run, domain-ID-NAME in a run (qemuDomainGetPrivatePath …)
_domain_dirs = _rewrite(r"/domain-(?:-1|\d+)-", "/domain-<id>-")
# ram/-1-NAME in a dry run, ram/ID-NAME in a run; virtxlate writes ram/ID-NAME
_memory_backing_dirs = _rewrite(
    r"/var/lib/libvirt/qemu/ram/(?:-1|\d+|ID)-", "/var/lib/libvirt/qemu/ram/<id>-"
)
# the host's hugetlbfs mount and the per-domain folder on it; virtxlate's placeholder
_hugetlbfs = _rewrite(
    r'"mem-path":"[^"]*/libvirt/qemu/(?:-1|\d+|ID)-',
    f'"mem-path":"{placeholder("hugetlbfs")}/libvirt/qemu/<id>-',
)


def _autoported(domain: Domain) -> set[str]:
    """The graphics types whose ports libvirt picks: every port ('vnc', 'spice'), or
    SPICE's TLS port alone ('spice-tls': tlsPort='-1' beside a written port)."""
    auto = {g.type or "" for g in domain.graphics if g.autoport or g.port in (None, -1)}
    if any(g.type == "spice" and g.tls_port == -1 for g in domain.graphics):
        auto.add("spice-tls")
    return auto


def _autoports(pairs: list[Pair], domain: Domain | None) -> list[Pair]:
    if domain is None:
        return pairs
    auto = _autoported(domain)
    out = []
    for flag, value in pairs:
        if flag == "-vnc" and value is not None and "vnc" in auto:
            head, sep, rest = value.partition(",")
            if ":" in head and not head.startswith("unix:"):
                head = head.rsplit(":", 1)[0] + ":" + placeholder("display")
            value = head + sep + rest
        elif flag == "-spice" and value is not None and "spice" in auto:
            value = re.sub(r"(?<![^,])(port|tls-port)=\d+", rf"\1={placeholder('port')}", value)
        elif flag == "-spice" and value is not None and "spice-tls" in auto:
            value = re.sub(r"(?<![^,])(tls-port)=\d+", rf"\1={placeholder('port')}", value)
        out.append((flag, value))
    return out


def _host_model_cpu(pairs: list[Pair], domain: Domain | None) -> list[Pair]:
    if domain is None or domain.cpu is None or domain.cpu.mode != "host-model":
        return pairs
    return [(f, placeholder("host-cpu") if f == "-cpu" else v) for f, v in pairs]


def _host_config_dirs(pairs: list[Pair], domain: Domain | None) -> list[Pair]:
    # libvirt's qemu.conf channel_target_dir (default /var/lib/libvirt/qemu/channel/target
    # for qemu:///system) against virtxlate's placeholder for it (props/chardev.py)
    dirs = re.compile(r"/var/lib/libvirt/qemu/channel/target/|\{libvirt-channel-target-dir\}/")
    return [(f, dirs.sub(placeholder("channel-dir") + "/", v) if v else v) for f, v in pairs]


def _swtpm_socket(pairs: list[Pair], domain: Domain | None) -> list[Pair]:
    out = []
    for flag, value in pairs:
        if flag == "-chardev" and _id(value) == "chrtpm":
            value = f"{placeholder('swtpm')},id=chrtpm"
        out.append((flag, value))
    return out


def _spice_autoport_placeholder(pairs: list[Pair], domain: Domain | None) -> list[Pair]:
    if domain is None:
        return pairs
    auto = _autoported(domain)
    out = []
    for flag, value in pairs:
        if flag == "-spice" and value is not None and auto & {"spice", "spice-tls"}:
            value = re.sub(
                r"(?<![^,])(port|tls-port)=AUTOPORT", rf"\1={placeholder('port')}", value
            )
        out.append((flag, value))
    return out


RUNTIME_ONLY: tuple[RuntimeOnly, ...] = (
    RuntimeOnly(
        "master-key secret",
        "-object secret id=masterKey0: the key libvirt creates per started domain "
        "(qemuBuildMasterKeyCommandLine: a file under /var/lib/libvirt/qemu/domain-ID-NAME/) "
        "to hand QEMU its secrets, random per run",
        None,
        _drop_master_key,
        compare="always",
    ),
    RuntimeOnly(
        "secrets encrypted with the master key",
        "data= and iv= of a secret object with keyid=masterKey0: encrypted with that run's "
        "random key and IV (qemuBuildSecretInfoProps)",
        placeholder("secret"),
        _secrets_under_master_key,
        compare="always",
    ),
    RuntimeOnly(
        "monitor",
        "-chardev charmonitor and -mon: the socket of libvirt's QMP monitor and the monitor "
        "on it (qemuBuildMonitorCommandLine; a path or a passed fd under the running "
        "domain's directory)",
        None,
        _drop_monitor,
        compare="always",
    ),
    RuntimeOnly(
        "passed descriptors",
        "fd=, vhostfd=, fds=, vhostfds=: descriptors libvirt opens (tap, /dev/vhost-net, "
        "/dev/vhost-vsock, /dev/vhost-scsi) and passes to the process; their numbers are "
        "the process's, compared as N",
        "N",
        _fds,
        compare="always",
    ),
    RuntimeOnly(
        "NIC back-ends of the dry run",
        "domxml-to-native rebuilds every <interface> as type ethernet keeping only mac, "
        "model and script (qemuConnectDomainXMLToNative), so its line shows a tap on a "
        "descriptor where a run has the type's back-end (user, vhost, queues, host_mtu, a "
        "vhost-user socket…) and no bootindex for <boot order> (libvirt 9.0's dry run "
        "writes none; a run does); both lines are compared in the dry run's form",
        placeholder("fd"),
        _dry_run_nics,
        compare="always",
    ),
    RuntimeOnly(
        "generated MACs",
        "an <interface> without <mac> gets a random 52:54:00 address when libvirt parses it",
        placeholder("mac"),
        _generated_macs,
        compare="always",
    ),
    RuntimeOnly(
        "automatic vsock CID",
        "guest-cid of a <vsock> with <cid auto='yes'/> (or no address): libvirt takes the "
        "first CID free on the host from /dev/vhost-vsock when it starts the domain "
        "(virVsockAcquireGuestCid); the dry run never opens it and writes 0",
        placeholder("cid"),
        _automatic_vsock_cid,
        compare="always",
    ),
    RuntimeOnly(
        "generated UUID",
        "-uuid of a domain without <uuid>: libvirt draws a random one when it parses the "
        "domain (virDomainDefParseXML → virUUIDGenerate); virtxlate writes <random-uuid>",
        placeholder("uuid"),
        _generated_uuid,
        compare="always",
    ),
    RuntimeOnly(
        "per-domain paths",
        "/var/lib/libvirt/qemu/domain-ID-NAME/ (and channel/target/domain-ID-NAME/): ID is "
        "-1 in a dry run and the run's domain id in a run",
        "/domain-<id>-",
        _domain_dirs,
        compare="always",
    ),
    RuntimeOnly(
        "memory backing directory",
        "files under qemu.conf's memory_backing_dir that back guest memory (shared memory "
        "for virtiofs and vhost-user, memory devices): a folder ID-NAME per started domain "
        "(qemuGetMemoryBackingDomainPath), -1 in a dry run",
        "/var/lib/libvirt/qemu/ram/<id>-",
        _memory_backing_dirs,
        compare="always",
    ),
    RuntimeOnly(
        "hugetlbfs mount",
        "the mem-path of hugepage-backed guest memory: a folder per started domain on the "
        "host's hugetlbfs mount (qemuGetDomainHupageMemPath); virtxlate writes <hugetlbfs>",
        placeholder("hugetlbfs"),
        _hugetlbfs,
        compare="no-host",
    ),
    RuntimeOnly(
        "autoport numbers",
        "the VNC display and SPICE port(s) of <graphics autoport='yes'> (or without a "
        "port): the first free port from 5900 on the host (virPortAllocatorAcquire)",
        placeholder("port"),
        _autoports,
        compare="always",
    ),
    RuntimeOnly(
        "host-model CPU",
        "-cpu of <cpu mode='host-model'>: the model and features libvirt expands from the "
        "host's CPU (its domain capabilities' host-model)",
        placeholder("host-cpu"),
        _host_model_cpu,
        compare="no-host",
    ),
    RuntimeOnly(
        "channel target directory",
        "the directory of <channel> sockets libvirt names itself (no <source path>): "
        "qemu.conf's channel_target_dir, a fact of the host's configuration",
        placeholder("channel-dir"),
        _host_config_dirs,
        compare="no-host",
    ),
    RuntimeOnly(
        "swtpm socket",
        "-chardev chrtpm of <tpm><backend type='emulator'>: the socket of the swtpm libvirt "
        "starts with the domain (qemuTPMEmulatorStart); the dry run starts none and writes "
        "a null chardev",
        placeholder("swtpm"),
        _swtpm_socket,
        compare="always",
    ),
    RuntimeOnly(
        "SPICE autoport placeholder",
        "the SPICE port(s) of an autoport <graphics>, written by virtxlate as AUTOPORT "
        "(the rule 'autoport numbers' gives libvirt's number the same placeholder)",
        placeholder("port"),
        _spice_autoport_placeholder,
        compare="always",
    ),
)

# Before the binary: LC_ALL, PATH, HOME, XDG_* of the libvirtd that runs it (qemuProcessLaunch
# sets them from its own environment and the domain's private directory); removed first.
ENVIRONMENT = "the environment before the binary"


def without_environment(words: list[str]) -> list[str]:
    """WORDS from the emulator on (libvirt prints VAR=VALUE words before it)."""
    start = next((i for i, w in enumerate(words) if not re.match(r"^[A-Z_][A-Z0-9_]*=", w)), 0)
    return words[start:]


def options(words: list[str]) -> list[Pair]:
    """WORDS (the emulator first) as (flag, value) pairs, None for a flag without one:
    one followed by another flag (libvirt writes no value that starts with '-' but a
    negative number: its values are JSON, key=value, paths and numbers)."""
    return _pairs(words[1:])


def _normalised(
    words: list[str], domain: Domain | None, applies: Callable[[RuntimeOnly], bool]
) -> list[Pair]:
    pairs = options(without_environment(words))
    for rule in RUNTIME_ONLY:
        if applies(rule):
            pairs = rule.apply(pairs, domain)
    return pairs


def without_runtime_only(
    words: list[str], domain: Domain | None = None, host_asked: bool = False
) -> list[Pair]:
    """WORDS as options without what differs between two runs of the same domain or
    between libvirt's dry run and a run, and, unless HOST_ASKED, the host's facts written
    as placeholders (the entries `compare` applies); DOMAIN (the XML's model) says which
    MACs, UUID, ports and CPU were left for libvirt to choose."""
    wanted = ("always",) if host_asked else ("always", "no-host")
    return _normalised(words, domain, lambda rule: rule.compare in wanted)


def normalise(words: list[str], domain: Domain | None = None) -> list[str]:
    """A command line (libvirt's or virtxlate's) with every RUNTIME_ONLY place taken out or
    made a placeholder; DOMAIN (its XML's model) says which MACs, UUID, ports and CPU were
    left for libvirt to choose.  Without DOMAIN those are compared as they are."""
    words = without_environment(words)
    out = words[:1]
    for flag, value in _normalised(words, domain, lambda rule: True):
        out.append(flag)
        if value is not None:
            out.append(value)
    return out


# -- reading option values -------------------------------------------------------------


def _pairs(words: list[str]) -> list[Pair]:
    pairs: list[Pair] = []
    index = 0
    while index < len(words):
        flag = words[index]
        value = words[index + 1] if index + 1 < len(words) else None
        if value is None or value.startswith("-") and not value[1:2].isdigit():
            pairs.append((flag, None))
            index += 1
        else:
            pairs.append((flag, value))
            index += 2
    return pairs


def _json(value: str | None) -> dict[str, object]:
    if value is None or not value.startswith("{"):
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _id(value: str | None) -> str:
    if value is None:
        return ""
    if value.startswith("{"):
        return str(_json(value).get("id", ""))
    found = next((p[3:] for p in split_keyval(value) if p.startswith("id=")), "")
    return found


def _qom(value: str | None) -> tuple[str, str]:
    if value is None:
        return "", ""
    if value.startswith("{"):
        data = _json(value)
        return str(data.get("qom-type", "")), str(data.get("id", ""))
    return value.split(",", 1)[0], _id(value)


def _set_keys(value: str, keys: dict[str, str], only_present: bool = True) -> str:
    """VALUE (JSON or keyval) with the given KEYS' values replaced where present."""
    if value.startswith("{"):
        data = _json(value)
        if not any(k in data for k in keys):
            return value
        for key, new in keys.items():
            if key in data or not only_present:
                data[key] = new
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    for key, new in keys.items():
        value = re.sub(rf"(?<![^,]){re.escape(key)}=[^,]*", f"{key}={new}", value)
    return value
