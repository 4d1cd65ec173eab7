"""What exists only inside a libvirt-run process, and so only in libvirt's command line:
the list `compare` (and the tests) remove from libvirt's words before setting them beside
virtxlate's, each entry with the reason libvirt writes it.

libvirt's dry run (domainXMLToNative) writes the line of a process it would start: the
master key it would create, the monitor it would talk QMP over, the environment and the
descriptors it would pass.  virtxlate writes what QEMU needs to build the guest, so these
are left out of its line on purpose (argv/writer.py) and out of the comparison here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass


def _json_or_keyval(value: str | None) -> dict[str, str]:
    """VALUE's top-level keys as text (JSON or key=value); {} when it is neither."""
    if not value:
        return {}
    if value.startswith("{"):
        try:
            found = json.loads(value)
        except json.JSONDecodeError:
            return {}
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}
    pairs = [part.partition("=") for part in value.replace(",,", "\0").split(",")]
    return {key: item.replace("\0", ",") for key, _, item in pairs if _}


def _has(**wanted: str) -> Callable[[str | None], bool]:
    def matches(value: str | None) -> bool:
        found = _json_or_keyval(value)
        return all(found.get(key) == item for key, item in wanted.items())

    return matches


@dataclass(frozen=True)
class RuntimeOnly:
    """One option of libvirt's line that only a libvirt-run process has."""

    flag: str
    matches: Callable[[str | None], bool]
    reason: str


RUNTIME_ONLY: tuple[RuntimeOnly, ...] = (
    RuntimeOnly(
        "-object",
        _has(**{"qom-type": "secret", "id": "masterKey0"}),
        "the master key libvirt creates per started domain (qemuBuildMasterKeyCommandLine: "
        "a file under /var/lib/libvirt/qemu/domain-ID-NAME/) to hand QEMU its secrets",
    ),
    RuntimeOnly(
        "-chardev",
        _has(id="charmonitor"),
        "the socket of libvirt's QMP monitor (qemuBuildMonitorCommandLine; a path or a "
        "passed fd under the running domain's directory)",
    ),
    RuntimeOnly(
        "-mon",
        _has(chardev="charmonitor"),
        "libvirt's QMP monitor on that socket (qemuBuildMonitorCommandLine)",
    ),
)

# A descriptor libvirt opens and passes (a tap's fd, vhostfd, a monitor's fd): its number
# is the running process's, so it is compared as a name only (virtxlate's placeholder for
# it too).
_FD = re.compile(r'((?:^|,)(?:vhost)?fds?=|"(?:vhost)?fds?":")([^,"]+)')


def options(words: list[str]) -> list[tuple[str, str | None]]:
    """WORDS (the emulator first) as (flag, value) pairs, None for a flag without one:
    one followed by another flag (libvirt writes no value that starts with '-': its
    values are JSON, key=value, paths and numbers)."""
    found: list[tuple[str, str | None]] = []
    index = 1
    while index < len(words):
        flag = words[index]
        if index + 1 == len(words) or words[index + 1].startswith("-"):
            found.append((flag, None))
            index += 1
        else:
            found.append((flag, words[index + 1]))
            index += 2
    return found


def runtime_reason(flag: str, value: str | None) -> str | None:
    """Why FLAG VALUE exists only in a libvirt-run process; None when it does not."""
    return next((e.reason for e in RUNTIME_ONLY if e.flag == flag and e.matches(value)), None)


def without_runtime_only(words: list[str]) -> list[tuple[str, str | None]]:
    """libvirt's WORDS as options without those of RUNTIME_ONLY, passed descriptors'
    numbers written as 'N'."""
    return [
        (flag, _FD.sub(r"\1N", value) if value is not None else None)
        for flag, value in options(words)
        if runtime_reason(flag, value) is None
    ]
