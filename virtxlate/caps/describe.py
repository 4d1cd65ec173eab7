"""Tables as people read them: `caps list`, `caps show` and `explain`."""

from __future__ import annotations

from typing import Any

from .index import arches, summaries
from .tables import CapsTable, DeviceType


def list_text() -> str:
    """One line per shipped table, from the index (no table is read)."""
    lines = []
    for arch in arches():
        for entry in summaries(arch):
            lines.append(
                f"{entry['version']:<6} {entry['release']:<8} {arch:<8} "
                f"{entry['devices']:>4} device types  {entry['machines']:>3} machine "
                f"types  storage: -{entry['storage']}  ({entry['origin']})"
            )
    lines.sort(key=lambda line: (_key(line.split()[0]), line.split()[2]))
    return "\n".join(lines) + "\n"


def list_json() -> list[dict[str, str]]:
    found = [
        {"version": e["version"], "release": e["release"], "arch": arch, "origin": e["origin"]}
        for arch in arches()
        for e in summaries(arch)
    ]
    return sorted(found, key=lambda e: (_key(e["version"]), e["arch"]))


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _device_line(device: DeviceType) -> str:
    kind = "abstract" if device.abstract else ("-device" if device.creatable else "built-in only")
    parts = [f"{device.name} ({kind})"]
    if device.parent:
        parts.append(f"parent {device.parent}")
    if device.plugs_into:
        parts.append(f"plugs into {device.plugs_into}")
    if device.embeds:
        parts.append(f"embeds {device.embeds}")
    if device.buses:
        parts.append("provides " + ", ".join(f"{b.bus_type} '{b.name_rule}'" for b in device.buses))
    return "; ".join(parts)


def show_text(table: CapsTable) -> str:
    lines = [
        f"QEMU {table.version} ({table.release}), {table.arch}",
        f"emulator: {table.emulator}",
        f"libvirt storage options: -{table.storage_style}",
        "machine types:",
    ]
    for machine in table.machines:
        extra = "".join(
            [
                f" = {machine.alias}" if machine.alias else "",
                " (default)" if machine.default else "",
            ]
        )
        lines.append(f"  {machine.name}{extra}  [{machine.family}]")
    lines.append("machine families:")
    for family in table.families.values():
        lines.append(
            f"  {family.name}: {family.host_bridge} with {family.root_bus} ({family.root_bus_type})"
        )
        for builtin in family.builtins:
            buses = ", ".join(name for name, _ in builtin.buses)
            lines.append(
                f"    built in: {builtin.type}"
                + (f" at {builtin.addr}" if builtin.addr else "")
                + (f" with {buses}" if buses else "")
            )
    lines.append(f"device types ({len(table.devices)}):")
    for device in table.devices.values():
        lines.append(f"  {_device_line(device)}")
        for prop in device.props:
            default = f" = {prop.default}" if prop.default is not None else ""
            lines.append(f"      {prop.name}: {prop.type}{default}")
    lines.append(f"libvirt flags ({len(table.flags)}): " + " ".join(sorted(table.flags)))
    return "\n".join(lines) + "\n"


def show_json(table: CapsTable) -> dict[str, Any]:
    return {
        "version": table.version,
        "release": table.release,
        "arch": table.arch,
        "emulator": table.emulator,
        "libvirt_storage": table.storage_style,
        "flags": sorted(table.flags),
        "machines": [_plain(m) for m in table.machines],
        "families": {name: _plain(f) for name, f in table.families.items()},
        "device_types": {name: _plain(d) for name, d in table.devices.items()},
    }


def _plain(value: Any) -> Any:
    """A table record (a named tuple) as JSON data: an object of its fields, nested
    records and tuples within it converted too."""
    if hasattr(value, "_fields"):
        return {name: _plain(getattr(value, name)) for name in value._fields}
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value
