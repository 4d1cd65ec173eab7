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


@dataclass
class Bus:
    name: str
    type: str
    devices: list[Device] = field(default_factory=list)


@dataclass
class Graph:
    qemu: str
    machine: str
    root: Bus
    value_style: str
