"""tests/data/libvirt-9.0-started: domains libvirt 9.0 started, and the command line it
gave QEMU 7.2 (from libvirt's log of the domain, /var/log/libvirt/qemu/NAME.log).

What libvirt's dry run (domxml-to-native) does not show — a NIC's properties and its
vhost-user back-end, replaced there by a bare tap — is on the line of a started domain.
Each case is NAME.xml (a domain named NAME) and NAME.args (the line, from the emulator
on, one option a line).  The cases' vhost-user sockets are in a folder that does not
exist, so QEMU stops at once ("Failed to connect") or, when told to reconnect, waits and
is destroyed: the line is written before either.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import DATA

STARTED = DATA / "libvirt-9.0-started"
URI = "qemu:///system"
LOGS = Path("/var/log/libvirt/qemu")
START_TIMEOUT = 20


def _last_command_line(log: str) -> str:
    """The last command line of a libvirt domain log, from the emulator on."""
    lines = log.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("/usr/bin/qemu-system-"))
    found = []
    for line in lines[start:]:
        found.append(line)
        if not line.endswith(" \\"):
            break
    return "\n".join(found) + "\n"


def regenerate_started(virsh: str, xml: Path) -> None:
    """Start the domain of XML with libvirt (it is never left running) and write the
    line libvirt gave QEMU beside it."""
    name = xml.stem
    log = LOGS / f"{name}.log"
    try:
        subprocess.run(
            [virsh, "-c", URI, "create", str(xml)], capture_output=True, timeout=START_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        pass  # QEMU waits for the back-end to reconnect: the line is written already
    finally:
        subprocess.run([virsh, "-c", URI, "destroy", name], capture_output=True, timeout=60)
    xml.with_suffix(".args").write_text(_last_command_line(log.read_text(errors="replace")))
