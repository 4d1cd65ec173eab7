"""`info qtree` text as dataclasses, for tests that compare graphs (virtxlate's reader)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from virtxlate.qemu.qtree import parse_qtree as _parse


@dataclass
class QBus:
    name: str
    type: str = ""
    devices: list[QDevice] = field(default_factory=list)


@dataclass
class QDevice:
    type: str
    id: str
    props: dict[str, str] = field(default_factory=dict)
    buses: list[QBus] = field(default_factory=list)


def _bus(data: dict[str, Any]) -> QBus:
    return QBus(
        data["name"],
        data["type"],
        [
            QDevice(d["type"], d["id"] or "", dict(d["props"]), [_bus(b) for b in d["buses"]])
            for d in data["devices"]
        ],
    )


def parse_qtree(text: str) -> QBus:
    return _bus(_parse(text))


def find_device(bus: QBus, type_: str, id_: str | None = None) -> QDevice | None:
    for device in bus.devices:
        if device.type == type_ and (id_ is None or device.id == id_):
            return device
        for child in device.buses:
            found = find_device(child, type_, id_)
            if found is not None:
                return found
    return None
