"""`virtxlate explain TYPE`: what a QOM device or bus type is in a release, from the tables."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .index import releases_with, summaries, uncertain, versions
from .tables import CapsTable


@dataclass
class Explanation:
    name: str
    qemu: str
    arch: str
    kind: str  # "device type", "bus type" or "unknown"
    exists: bool
    since: str | None = None  # first known release that has it
    until: str | None = None  # last known release that has it, if removed
    oldest_known: bool = False  # since is just the oldest table virtxlate has
    uncertain: bool = False  # a derived release may or may not have it
    since_recorded: bool = True  # False: only the first table that has it
    abstract: bool = False
    creatable: bool = False
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    plugs_into: str | None = None
    provides: list[str] = field(default_factory=list)
    embeds: str | None = None
    embedded_by: list[str] = field(default_factory=list)
    provided_by: list[str] = field(default_factory=list)
    plugged_by: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _releases_with(name: str, arch: str) -> list[str]:
    """The releases whose table has NAME as a device type, alias or bus type (index.py)."""
    found = set(releases_with("devices", name, arch)) | set(releases_with("buses", name, arch))
    return [v for v in versions(arch) if v in found]


def _since_recorded(name: str, since: str | None, arch: str) -> bool:
    """Whether the release before SINCE is known to lack NAME: a captured release lacks
    what its replies lack; a derived one may list NAME as uncertain."""
    known = versions(arch)
    if since is None or since not in known or known.index(since) == 0:
        return since is not None
    before = summaries(arch)[known.index(since) - 1]
    return before["origin"] in ("captured replies", "probed binary") or (
        before["origin"] == "derived from neighbours"
        and name not in uncertain(before["version"], arch)
    )


def explain(name: str, table: CapsTable) -> Explanation:
    releases = _releases_with(name, table.arch)
    known = versions(table.arch)
    device = table.device(name)
    kind = (
        "device type"
        if device is not None
        else ("bus type" if name in table.bus_types else "unknown")
    )
    if kind == "unknown" and releases:
        kind = "device type" if releases_with("devices", name, table.arch) else "bus type"
    # the table's own 'since' (a fact from the sources) wins over the first table with it
    since = (device.since if device is not None else table.bus_type_since.get(name)) or (
        releases[0] if releases else None
    )
    result = Explanation(
        name=device.name if device is not None else name,
        qemu=table.version,
        arch=table.arch,
        kind=kind,
        exists=device is not None or name in table.bus_types,
        since=since,
        until=releases[-1] if releases and releases[-1] != known[-1] else None,
        oldest_known=since == known[0] and not (device is not None and device.since),
        since_recorded=bool((device is not None and device.since) or table.bus_type_since.get(name))
        or since == known[0]
        or _since_recorded(name, since, table.arch),
    )
    result.uncertain = name in table.uncertain_devices
    if device is not None:
        result.abstract = device.abstract
        result.creatable = device.creatable and not device.abstract
        result.parents = table.type_ancestry(device.name)
        result.children = sorted(n for n, d in table.devices.items() if d.parent == device.name)
        result.plugs_into = device.plugs_into
        result.provides = [f"{b.bus_type} '{b.name_rule}'" for b in device.buses]
        result.embeds = device.embeds
        result.embedded_by = sorted(n for n, d in table.devices.items() if d.embeds == device.name)
    elif name in table.bus_types:
        result.parents = table.bus_type_ancestry(name)[1:]
        result.children = sorted(b for b, parent in table.bus_types.items() if parent == name)
        result.provided_by = sorted(
            n
            for n, d in table.devices.items()
            if any(name in table.bus_type_ancestry(b.bus_type) for b in d.buses)
        )
        result.plugged_by = sorted(
            n
            for n, d in table.devices.items()
            if d.plugs_into and name in table.bus_type_ancestry(d.plugs_into)
        )
    return result


def explain_text(ex: Explanation) -> str:
    head = f"{ex.name}: a QOM {ex.kind} (QEMU {ex.qemu}, {ex.arch})"
    if not ex.exists and ex.uncertain:
        return (
            f"{ex.name}: virtxlate does not know whether QEMU {ex.qemu} ({ex.arch}) has "
            "it (no captured replies of this release; its neighbours disagree)"
            + (f"; known from QEMU {ex.since}" if ex.since else "")
            + "\n"
        )
    if not ex.exists:
        where = (
            f"; known from QEMU {ex.since}" + (f" to {ex.until}" if ex.until else "")
            if ex.since
            else "; no release virtxlate knows has it"
        )
        return f"{ex.name}: not in QEMU {ex.qemu} ({ex.arch}){where}\n"
    lines = [head]
    if ex.since and ex.since_recorded:
        lines.append(
            f"  exists since: QEMU {ex.since}"
            + (" or earlier (the oldest release virtxlate knows)" if ex.oldest_known else "")
            + (f"; last seen in {ex.until}" if ex.until else "")
        )
    elif ex.since:
        lines.append(
            f"  first in virtxlate's tables: QEMU {ex.since} (its first release is "
            "not recorded)" + (f"; last seen in {ex.until}" if ex.until else "")
        )
    if ex.parents:
        lines.append("  is a: " + " -> ".join(ex.parents))
    if ex.kind == "device type":
        if ex.abstract:
            lines.append("  abstract: a common parent; it is never created itself")
        else:
            lines.append("  -device can create it: " + ("yes" if ex.creatable else "no"))
        if ex.children:
            lines.append("  its subtypes: " + ", ".join(ex.children))
        if ex.plugs_into:
            lines.append(f"  plugs into: a {ex.plugs_into} bus")
        if ex.provides:
            lines.append("  provides: " + ", ".join(ex.provides))
        if ex.embeds:
            lines.append(f"  a transport proxy: it creates {ex.embeds} on its own bus")
        if ex.embedded_by:
            lines.append(
                "  created inside its transport proxy: "
                + ", ".join(ex.embedded_by)
                + f" (on the proxy's own {ex.plugs_into}); a PCI machine has no "
                f"{ex.plugs_into} of its own, so it is not created directly there"
            )
    else:
        if ex.children:
            lines.append("  its kinds: " + ", ".join(ex.children))
        lines.append("  provided by: " + (", ".join(ex.provided_by) or "no device type listed"))
        lines.append("  devices that plug into it: " + (", ".join(ex.plugged_by) or "none listed"))
    return "\n".join(lines) + "\n"
