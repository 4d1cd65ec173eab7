"""Devices and buses, as `info qtree` shows them.

Records with slots and a tuple (a graph of a thousand disks makes tens of thousands of
them; a dataclass also costs a quarter of a millisecond to define at every start); they
compare by value and show their fields, as the dataclasses they were did."""

from __future__ import annotations

from typing import NamedTuple

from ..records import Record

PropValue = str | int | bool


class Prop(NamedTuple):
    """A property as qtree shows it: its name, QEMU type and value.  A tuple: a type's
    defaults are made once and shared by all its devices (realize replaces a value, it
    never changes one in place)."""

    name: str
    type: str
    value: PropValue


class Device(Record):
    """A device: its type, id, shown properties and the buses it provides."""

    __slots__ = ("type", "id", "props", "buses", "builtin_rank")
    _fields = __slots__

    def __init__(
        self,
        type: str,
        id: str | None,
        props: list[Prop] | None = None,
        buses: list[Bus] | None = None,
        builtin_rank: int | None = None,  # creation order of a machine's built-in device
    ) -> None:
        self.type = type
        self.id = id
        self.props: list[Prop] = props if props is not None else []
        self.buses: list[Bus] = buses if buses is not None else []
        self.builtin_rank = builtin_rank


class Bus(Record):
    """A bus: its name, type and the devices on it, as qtree lists them."""

    __slots__ = ("name", "type", "devices")
    _fields = __slots__

    def __init__(self, name: str, type: str, devices: list[Device] | None = None) -> None:
        self.name = name
        self.type = type
        self.devices: list[Device] = devices if devices is not None else []

    def plug(self, device: Device) -> None:
        """Add DEVICE as QEMU does: the newest device first (bus_add_child inserts at the
        head), after which come the machine's built-in devices, created before any
        -device, newest first as well."""
        devices = self.devices
        rank = device.builtin_rank
        if rank is None:
            devices.insert(0, device)
            return
        if _in_plug_order(devices):
            # where sorting them all would put it: after the built-ins of a rank as high
            # or higher (a stable sort keeps an equal one after those already there)
            at = len(devices)
            while at and (below := devices[at - 1].builtin_rank) is not None and below < rank:
                at -= 1
            devices.insert(at, device)
            return
        devices.append(device)
        plugged = [d for d in devices if d.builtin_rank is None]
        builtins = sorted(
            (d for d in devices if d.builtin_rank is not None),
            key=lambda d: -(d.builtin_rank or 0),
        )
        devices[:] = plugged + builtins


def _in_plug_order(devices: list[Device]) -> bool:
    """Whether DEVICES are as plug leaves them: the plugged ones, then the built-ins by
    rank, highest first."""
    last: int | None = None
    for device in devices:
        rank = device.builtin_rank
        if rank is None:
            if last is not None:
                return False
        elif last is not None and rank > last:
            return False
        else:
            last = rank
    return True


class Graph(Record):
    """The device graph of one command line on one QEMU release."""

    __slots__ = ("qemu", "machine", "root", "value_style")
    _fields = __slots__

    def __init__(self, qemu: str, machine: str, root: Bus, value_style: str) -> None:
        self.qemu = qemu
        self.machine = machine
        self.root = root
        self.value_style = value_style
