"""Devices and buses, as `info qtree` shows them."""

from __future__ import annotations

from dataclasses import dataclass, field

PropValue = str | int | bool


@dataclass
class Prop:
    name: str
    type: str
    value: PropValue


@dataclass
class Device:
    type: str
    id: str | None
    props: list[Prop] = field(default_factory=list)
    buses: list[Bus] = field(default_factory=list)
    builtin_rank: int | None = None  # creation order of a machine's built-in device


@dataclass
class Bus:
    name: str
    type: str
    devices: list[Device] = field(default_factory=list)

    def plug(self, device: Device) -> None:
        """Add DEVICE as QEMU does: the newest device first (bus_add_child inserts at the
        head), after which come the machine's built-in devices, created before any
        -device, newest first as well."""
        if device.builtin_rank is None:
            self.devices.insert(0, device)
            return
        self.devices.append(device)
        plugged = [d for d in self.devices if d.builtin_rank is None]
        builtins = sorted(
            (d for d in self.devices if d.builtin_rank is not None),
            key=lambda d: -(d.builtin_rank or 0),
        )
        self.devices[:] = plugged + builtins


@dataclass
class Graph:
    qemu: str
    machine: str
    root: Bus
    value_style: str
