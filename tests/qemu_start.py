"""Start real QEMU on libvirt's own command line: the second half of "valid".

A domain is valid when libvirt accepts it AND QEMU starts with the command line libvirt
writes for it (`virsh domxml-to-native qemu-argv`).  libvirt's dry run lets through what
QEMU then refuses (a pvscsi LUN other than 0, an mptsas LUN above 1, an IDE unit 2, a
device name QEMU does not have), so the differential tests start QEMU on libvirt's line.

The line is made runnable on any machine without changing what QEMU is asked to build:
- every storage back-end becomes a `null-co` node (no image, no server, no host device):
  protocol nodes of -blockdev (file, host_device, nbd, iscsi, ...) keep their node name and
  generic options; format nodes become `raw` (a qcow2 header cannot be read from null-co);
  -drive loses its file for `file.driver=null-co`;
- what only exists in a process libvirt runs is left out or stands in: the master-key
  secret and the secrets encrypted with it, the pr-manager-helper on libvirt's socket,
  passed file descriptors; the chardevs on
  libvirt's sockets (monitor, guest agent channel) become `null` chardevs of the same id;
- a tap network back-end on a descriptor libvirt passes becomes user networking;
- a TPM emulator's chardev (the socket of the swtpm libvirt starts; `null` in a dry run)
  becomes the socket of a swtpm started here for the run (`started`), as libvirt's
  qemuTPMEmulatorStart does;
- SPICE listens on a free port of this machine instead of libvirt's autoport number, VNC
  on no socket (`-vnc none`): the display server is no device, the graph stays the same;
- a chardev's log file is left out, and a chardev on a file or socket in a folder this
  machine lacks is a `null` one of the same id (the VM host's files);
- the guest's kernel, initrd, device tree and kernel command line are left out (files of
  the VM host; a paused QEMU would load them at start);
- no KVM: `-accel tcg`, `-cpu max` for `-cpu host`;
- QEMU runs paused (-S) with no display, over QMP (virtxlate.qemu.QemuProcess), bounded by
  a timeout, and is told to quit once it answered.

SCSI passthrough (scsi-generic, scsi-block) stands in as a scsi-cd at the same place, and
usb-host loses the path of the host's device.  Lines with vhost-scsi, vhost-vsock (on a
descriptor libvirt opens) or vfio cannot be started without the host's device:
`host_only` names them, and the caller does not count them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from virtxlate.argv.escape import split_keyval
from virtxlate.qemu import QemuError, QemuProcess

SWTPM = "swtpm"

TIMEOUT = 20.0
# how many QEMU starts a test run makes per test at most (CI time), unless told otherwise
BUDGET = int(os.environ.get("VIRTXLATE_QEMU_STARTS", "12"))

# options of every -blockdev node (QAPI BlockdevOptionsBase): kept on the null-co node
_BASE = (
    "node-name",
    "discard",
    "cache",
    "read-only",
    "auto-read-only",
    "force-share",
    "detect-zeroes",
)
# format drivers: a node of one of these has a "file" child and becomes raw
_FORMATS = {
    "raw",
    "qcow2",
    "qcow",
    "qed",
    "vmdk",
    "vdi",
    "vhdx",
    "vpc",
    "luks",
    "parallels",
    "bochs",
    "cloop",
    "dmg",
}
# raw's own options (an offset/size window) are kept
_RAW = ("offset", "size")
# devices that need the host's own device (/dev/vhost-scsi, /dev/vhost-vsock, a VFIO group)
_HOST_DEVICES = {
    "vhost-scsi",
    "vhost-scsi-pci",
    "vhost-scsi-ccw",
    "vfio-pci",
    "vfio-ccw",
    "vfio-ap",
    "vhost-user-blk-pci",
    "pci-assign",
    "vhost-vsock-pci",
    "vhost-vsock-ccw",
}
# SCSI passthrough stands in as a CD-ROM at the same place (the SCSI bus's limits on
# channel, scsi-id and lun are what QEMU checks there); USB passthrough without the path
# of the host's device (usb-host then waits for a device that matches)
_STAND_INS = {"scsi-generic": "scsi-cd", "scsi-block": "scsi-cd"}
_PLACE = ("bus", "channel", "scsi-id", "lun", "drive", "id", "bootindex")
# options QemuProcess gives itself, or that only a libvirt-run process can have
_DROPPED_FLAGS = {
    "-S": 0,
    "-display": 1,
    "-no-user-config": 0,
    "-nodefaults": 0,
    "-add-fd": 1,
    "-enable-kvm": 0,
    "-daemonize": 0,
    "-pidfile": 1,
    "-sandbox": 1,
    "-msg": 1,
    "-kernel": 1,
    "-initrd": 1,
    "-dtb": 1,
    "-append": 1,
}


def _json_or_keyval(value: str) -> tuple[dict[str, object], bool]:
    if value.startswith("{"):
        return json.loads(value), True
    parts = split_keyval(value)
    return dict(part.split("=", 1) for part in parts if "=" in part), False


def _keyval(data: dict[str, object]) -> str:
    return ",".join(f"{key}={str(item).replace(',', ',,')}" for key, item in data.items())


def _blockdev(value: str) -> str:
    data, is_json = _json_or_keyval(value)
    driver = data.get("driver")
    if driver in _FORMATS:
        kept = {k: v for k, v in data.items() if k in _BASE or k in _RAW or k == "file"}
        kept["driver"] = "raw"
    else:
        kept = {k: v for k, v in data.items() if k in _BASE}
        kept["driver"] = "null-co"
    return json.dumps(kept, separators=(",", ":")) if is_json else _keyval(kept)


def _device(value: str) -> str:
    data, is_json = _json_or_keyval(value)
    driver = data.get("driver") if is_json else split_keyval(value)[0]
    if driver in _STAND_INS:
        data = {
            "driver": _STAND_INS[driver],
            **{key: item for key, item in data.items() if key in _PLACE},
        }
    elif driver == "usb-host":
        data = {"driver": driver, **{k: v for k, v in data.items() if k != "hostdevice"}}
    else:
        return value
    if is_json:
        return json.dumps(data, separators=(",", ":"))
    rest = {k: v for k, v in data.items() if k != "driver"}
    return f"{data['driver']},{_keyval(rest)}" if rest else str(data["driver"])


def _drive(value: str) -> str:
    parts = split_keyval(value)
    kept = [
        part
        for part in parts
        if "=" in part
        and part.split("=", 1)[0] not in ("file", "format", "aio")
        and not part.startswith(("file.", "encrypt."))
    ]
    if any(part.startswith("file=") for part in parts):
        kept += ["file.driver=null-co", "format=raw"]
    return ",".join(kept)


def host_only(words: list[str]) -> str | None:
    """Why WORDS cannot start without the host's own devices (None when they can)."""
    for flag, value in zip(words, words[1:], strict=False):
        if flag == "-device":
            data, _ = _json_or_keyval(value)
            driver = data.get("driver") if value.startswith("{") else split_keyval(value)[0]
            if driver in _HOST_DEVICES:
                return f"-device {driver} needs the host's device"
        if flag == "-chardev" and ("fd=" in value or '"fd"' in value):
            return f"{flag} {value[:40]} needs a descriptor libvirt passes"
        if flag == "-tpmdev" and value.startswith("passthrough"):
            return "-tpmdev passthrough needs the host's TPM"
        if flag == "-tpmdev" and value.startswith("emulator") and shutil.which(SWTPM) is None:
            return "-tpmdev emulator needs swtpm (not installed)"
    return None


def _tpm_chardevs(words: list[str]) -> set[str]:
    """The ids of the chardevs a -tpmdev emulator talks to."""
    ids = set()
    for flag, value in zip(words, words[1:], strict=False):
        if flag == "-tpmdev" and value.startswith("emulator"):
            ids |= {p[len("chardev=") :] for p in split_keyval(value) if p.startswith("chardev=")}
    return ids


def _chardev(value: str) -> str:
    """A chardev's file on this host: its log file left out, a file or socket in a folder
    this machine does not have a null chardev (no device changes)."""
    if value.startswith("{"):
        return value
    parts = [p for p in split_keyval(value) if not p.startswith(("logfile=", "logappend="))]
    path = next((p[5:] for p in parts if p.startswith("path=")), None)
    if path is not None and not os.path.isdir(os.path.dirname(path) or "/"):
        chardev_id = next((p for p in parts if p.startswith("id=")), "id=")
        return f"null,{chardev_id}"
    return ",".join(p.replace(",", ",,") for p in parts)


def _free_port() -> int:
    """A TCP port of this machine nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _spice(value: str) -> str:
    parts = [p for p in split_keyval(value) if not p.startswith(("port=", "tls-port="))]
    return ",".join([f"port={_free_port()}", *parts])


def _vnc(value: str) -> str:
    # the display (or socket) and websocket are libvirt's or the host's; the options stay
    parts = [p for p in split_keyval(value)[1:] if not p.startswith("websocket=")]
    return ",".join(["none", *parts])


def runnable(words: list[str], tpm_socket: str | None = None) -> list[str]:
    """libvirt's command line WORDS (emulator first), as QEMU can start it here: storage on
    null-co, without what belongs to a libvirt-run process, on TCG (TPM_SOCKET: the control
    socket of a swtpm started for the run, see `started`)."""
    out = [words[0]]
    tpm_chardevs = _tpm_chardevs(words)
    secrets = {"masterKey0"}
    index = 1
    while index < len(words):
        flag = words[index]
        value = words[index + 1] if index + 1 < len(words) else ""
        if flag in _DROPPED_FLAGS:
            index += 1 + _DROPPED_FLAGS[flag]
            continue
        if not flag.startswith("-") or value.startswith("-") or not value:
            out.append(flag)  # a flag without value (-no-shutdown), or a stray word
            index += 1
            continue
        index += 2
        if flag == "-object":
            data, _ = _json_or_keyval(value)
            qom_type = data.get("qom-type", value.split(",", 1)[0])
            if qom_type == "secret" and (data.get("id") in secrets or data.get("keyid") in secrets):
                continue
            if qom_type == "pr-manager-helper":  # on libvirt's socket; null-co has no PR
                continue
        elif flag == "-chardev" and _json_or_keyval(value)[0].get("id") in tpm_chardevs:
            chardev_id = _json_or_keyval(value)[0].get("id")
            value = f"socket,id={chardev_id},path={tpm_socket}" if tpm_socket else value
        elif flag == "-chardev" and "/var/lib/libvirt/" in value:
            value = f"null,id={_json_or_keyval(value)[0].get('id')}"
        elif flag == "-chardev":
            value = _chardev(value)
        elif flag == "-spice":
            value = _spice(value)
        elif flag == "-vnc":
            value = _vnc(value)
        elif flag == "-uuid" and value == "<random-uuid>":
            value = "c7a5fdbd-cdaf-9455-926a-d65c16db1809"  # libvirt draws one; any will do
        elif flag == "-device":
            # a MAC libvirt makes up where the XML has none (virtxlate's placeholder)
            value = _device(re.sub(r"<random-mac:[^>]*>", "52:54:00:00:00:99", value))
        elif flag == "-blockdev":
            value = _blockdev(value)
        elif flag == "-drive":
            value = _drive(value)
        elif flag == "-netdev" and ("fd" in value):
            data, is_json = _json_or_keyval(value)
            user = {"type": "user", "id": data.get("id")}
            value = (
                json.dumps(user, separators=(",", ":")) if is_json else f"user,id={data.get('id')}"
            )
        elif flag == "-accel":
            value = "tcg"
        elif flag == "-machine":
            value = value.replace("accel=kvm", "accel=tcg")
        elif flag == "-cpu" and value.split(",", 1)[0] == "host":
            value = "max"
        out += [flag, value]
    return out


def qemu_refusal(words: list[str], timeout: float = TIMEOUT) -> str | None:
    """Start the emulator of WORDS paused on their runnable form; QEMU's reason when it
    refuses (exits at start), None when it started and answered `query-status`.  The
    emulator must be installed (the caller skips when it is not)."""
    try:
        with started(words, timeout) as qemu:
            qemu.execute("query-status")
    except QemuError as exc:
        return str(exc)
    return None


@contextmanager
def _swtpm(words: list[str]) -> Iterator[str | None]:
    """A swtpm for the -tpmdev emulator of WORDS (TPM 2.0 unless the line names a TIS/CRB
    device of 1.2), its control socket's path; None when WORDS have none."""
    if not _tpm_chardevs(words):
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="virtxlate-swtpm-") as state:
        path = os.path.join(state, "swtpm.sock")
        command = [SWTPM, "socket", "--tpm2", "--terminate", "--tpmstate", f"dir={state}"]
        command += ["--ctrl", f"type=unixio,path={path}", "--log", "file=-"]
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            for _ in range(200):  # up to 10 s for the socket to appear
                if os.path.exists(path) or process.poll() is not None:
                    break
                time.sleep(0.05)
            if not os.path.exists(path):
                process.kill()
                _, err = process.communicate(timeout=5)
                raise QemuError(f"swtpm did not start: {err.decode(errors='replace')[:200]}")
            yield path
        finally:
            process.kill()
            process.wait(5)


@contextmanager
def started(words: list[str], timeout: float = TIMEOUT) -> Iterator[QemuProcess]:
    """QEMU started paused on the runnable form of libvirt's WORDS (with a swtpm for a TPM
    emulator), ended on the way out."""
    binary = shutil.which(words[0]) or words[0]
    with _swtpm(words) as tpm_socket:
        with QemuProcess(binary, runnable(words, tpm_socket)[1:], timeout=timeout) as qemu:
            yield qemu


class Budget:
    """At most N QEMU starts: a bounded sample per run, the rest passed over."""

    def __init__(self, starts: int = BUDGET):
        self.left = starts

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True
