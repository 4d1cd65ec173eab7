"""What changed between two capability tables: device types, properties, machine types.

Only what both releases answered is compared: a property copied into a table from
another release's probe (inferred) says nothing about a change."""

from __future__ import annotations

from dataclasses import dataclass, field

from .tables import CapsTable, DeviceType


@dataclass
class TableDiff:
    old: CapsTable
    new: CapsTable
    types_added: list[str] = field(default_factory=list)
    types_removed: list[str] = field(default_factory=list)
    props_added: dict[str, list[str]] = field(default_factory=dict)
    props_removed: dict[str, list[str]] = field(default_factory=dict)
    machines_added: list[str] = field(default_factory=list)
    machines_removed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "from": self.old.version,
            "to": self.new.version,
            "arch": self.new.arch,
            "device_types": {"added": self.types_added, "removed": self.types_removed},
            "properties": {"added": self.props_added, "removed": self.props_removed},
            "machine_types": {"added": self.machines_added, "removed": self.machines_removed},
        }


def _answered(device: DeviceType) -> set[str] | None:
    """The property names the release itself answered for DEVICE; None when it did not."""
    names = {p.name for p in device.props if not p.inferred}
    return names or None


def diff_tables(old: CapsTable, new: CapsTable) -> TableDiff:
    result = TableDiff(old, new)
    old_types, new_types = set(old.devices), set(new.devices)
    # a type a derived release may or may not have is no change either way
    unknown = old.uncertain_devices | new.uncertain_devices
    result.types_added = sorted(new_types - old_types - unknown)
    result.types_removed = sorted(old_types - new_types - unknown)
    for name in sorted(old_types & new_types):
        old_props = _answered(old.devices[name])
        new_props = _answered(new.devices[name])
        if old_props is None or new_props is None:
            continue
        if new_props - old_props:
            result.props_added[name] = sorted(new_props - old_props)
        if old_props - new_props:
            result.props_removed[name] = sorted(old_props - new_props)
    old_machines = {m.name for m in old.machines}
    new_machines = {m.name for m in new.machines}
    result.machines_added = sorted(new_machines - old_machines)
    result.machines_removed = sorted(old_machines - new_machines)
    return result


def diff_text(diff: TableDiff) -> str:
    lines = [f"QEMU {diff.old.version} -> {diff.new.version} ({diff.new.arch})"]

    def section(title: str, names: list[str], mark: str) -> None:
        lines.append(f"{title} ({len(names)}):")
        lines.extend(f"  {mark} {name}" for name in names)

    def props(title: str, table: dict[str, list[str]], mark: str) -> None:
        lines.append(f"{title} ({sum(len(v) for v in table.values())}):")
        for device, names in table.items():
            lines.append(f"  {device}: " + " ".join(f"{mark}{name}" for name in names))

    section("device types added", diff.types_added, "+")
    section("device types removed", diff.types_removed, "-")
    props("properties added", diff.props_added, "+")
    props("properties removed", diff.props_removed, "-")
    section("machine types added", diff.machines_added, "+")
    section("machine types removed", diff.machines_removed, "-")
    return "\n".join(lines) + "\n"
