"""<launchSecurity> against the release: libvirt's qemuValidateDomainDef refuses a launch
security type whose QEMU object the binary lacks, and SEV's kernelHashes where sev-guest
has no kernel-hashes property (libvirt's flag sev-guest-kernel-hashes).

The releases that have each object come from the captured replies (caps/data/
launch-security.tsv); whether the VM's host can run the guest is a host fact, judged where
the command line is written (props/domain.py: an info without a host, an error with one).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from ..caps import CapsTable
from ..caps.tables import normalize_version
from ..findings import Finding, finding_at
from ..model import Domain
from ..props.domain import LAUNCH_SECURITY_OBJECTS
from ..resources import CAPS_DIR

_NAMES = {"sev": "SEV", "s390-pv": "S390 PV"}


@functools.cache
def object_since() -> dict[tuple[str, str], str]:
    """caps/data/launch-security.tsv: (launchSecurity type, arch) → first QEMU release."""
    found = {}
    for line in (CAPS_DIR / "launch-security.tsv").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        kind, arch, qom_type, since, _source = line.split("\t")
        if LAUNCH_SECURITY_OBJECTS.get(kind) != qom_type:
            raise ValueError(f"launch-security.tsv: {kind} is not {qom_type} in props/domain.py")
        found[(kind, arch)] = since
    return found


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in normalize_version(version).split("."))


def _release_key(caps: CapsTable) -> tuple[int, ...]:
    """The release CAPS describes; a release candidate X.Y.90 or later (QEMU's numbering
    before X.Y+1.0, as the 2.12 table's 2.11.90) counts as X.Y+1."""
    parts = [int(p) for p in (caps.release or caps.version).split(".")[:3] if p.isdigit()]
    if len(parts) == 3 and parts[2] >= 90:
        return parts[0], parts[1] + 1
    return _key(caps.version)


def launch_security_findings(domain: Domain, caps: CapsTable) -> list[Finding]:
    return list(_findings(domain, caps))


def _findings(domain: Domain, caps: CapsTable) -> Iterator[Finding]:
    security = domain.launch_security
    if security is None or security.type not in LAUNCH_SECURITY_OBJECTS:
        return
    name = _NAMES[security.type]
    since = object_since().get((security.type, domain.arch or caps.arch))
    if since is None or _release_key(caps) < _key(since):
        qemu = f"QEMU {caps.version} for {domain.arch or caps.arch}"
        yield finding_at(
            "VX0303",
            "error",
            f"{name} launch security needs QEMU's {LAUNCH_SECURITY_OBJECTS[security.type]} "
            f'object, which {qemu} does not have (libvirt: "{name} launch security is not '
            'supported with this QEMU binary")',
            security,
            domain.source,
            xpath_suffix="/@type",
            since=since,
        )
        return
    if security.kernel_hashes is not None and not caps.has_flag("sev-guest-kernel-hashes"):
        yield finding_at(
            "VX0303",
            "error",
            f"kernelHashes needs sev-guest's kernel-hashes property, which QEMU {caps.version} "
            'does not have (libvirt: "SEV measured direct kernel boot is not supported with '
            'this QEMU binary")',
            security,
            domain.source,
            xpath_suffix="/@kernelHashes",
        )


__all__ = ["launch_security_findings", "object_since"]
