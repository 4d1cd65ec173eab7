"""since/until without loading tables: which releases have a device type, bus type,
machine type or flag, as tools/build_tables.py computed them into caps/data/index.json."""

from __future__ import annotations

import functools
import json
from typing import Any

from ..resources import CAPS_DIR

KINDS = ("devices", "buses", "machines", "flags")


@functools.cache
def _index() -> dict[str, Any]:
    return json.loads((CAPS_DIR / "index.json").read_text(encoding="utf-8"))


def arches() -> list[str]:
    return sorted(_index())


def summaries(arch: str) -> list[dict[str, Any]]:
    """Per release of ARCH, oldest first: version, release, counts, storage style, origin."""
    return list(_index().get(arch, {}).get("tables", []))


def versions(arch: str) -> list[str]:
    return list(_index().get(arch, {}).get("versions", []))


def releases_with(kind: str, name: str, arch: str) -> list[str]:
    """The releases of ARCH whose table has NAME (a device type or one of its aliases, a
    bus type, a machine type or alias, a libvirt flag), oldest first."""
    entry = _index().get(arch)
    if entry is None:
        return []
    known = entry["versions"]
    return [
        known[position]
        for first, last in entry[kind].get(name, [])
        for position in range(first, last + 1)
    ]


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def first_with(kind: str, name: str, arch: str, after: str | None = None) -> str | None:
    """The oldest release (newer than AFTER) that has NAME: a 'since' hint."""
    return next(
        (v for v in releases_with(kind, name, arch) if after is None or _key(v) > _key(after)), None
    )


def last_with(kind: str, name: str, arch: str, before: str | None = None) -> str | None:
    """The newest release (older than BEFORE) that has NAME: where a removed thing was
    last."""
    return next(
        (
            v
            for v in reversed(releases_with(kind, name, arch))
            if before is None or _key(v) < _key(before)
        ),
        None,
    )


def uncertain(version: str, arch: str) -> set[str]:
    """The device types a derived release may or may not have."""
    entry = _index().get(arch, {})
    known = entry.get("versions", [])
    if version not in known:
        return set()
    return set(entry.get("uncertain", {}).get(str(known.index(version)), []))
