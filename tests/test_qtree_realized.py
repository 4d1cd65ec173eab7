"""`virtxlate tree` against the `info qtree` real QEMU 7.2 printed for the same command line
(tests/data/qemu-7.2): the values QEMU fills in at realize time are there, and every value
virtxlate prints is QEMU's.  Needs no QEMU at test time."""

from __future__ import annotations

import pytest
from conftest import DATA
from qtree import QBus, QDevice, parse_qtree

from virtxlate.api import analyze, load
from virtxlate.graph.render import qtree_text
from virtxlate.host import FixedHost

CASES = sorted((DATA / "qemu-7.2").glob("*.xml"))
# set by QEMU while realizing a device given without them
REALIZED = ("channel", "scsi-id", "lun", "unit", "disable-legacy")


def _devices(bus: QBus, path: tuple = ()) -> dict[tuple, QDevice]:
    """Every device by its path from the root: (bus name, type, id) per level."""
    found: dict[tuple, QDevice] = {}
    for device in bus.devices:
        key = (*path, (bus.name, device.type, device.id))
        found.setdefault(key, device)
        for child in device.buses:
            found.update(_devices(child, key))
    return found


def _trees(case):
    result = analyze(load(case.read_text()), "7.2", host=FixedHost())
    assert result.graph is not None, result.findings
    real = case.with_name(case.stem + ".real.qtree").read_text()
    return _devices(parse_qtree(qtree_text(result.graph))), _devices(parse_qtree(real))


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_every_value_printed_is_qemus(case):
    ours, real = _trees(case)
    assert ours
    for path, device in ours.items():
        assert path in real, path
        for name, value in device.props.items():
            assert real[path].props.get(name) == value, (path[-1], name)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.stem.startswith("realized-")], ids=lambda p: p.stem
)
def test_realized_values_are_printed(case):
    ours, real = _trees(case)
    checked = 0
    for path, device in ours.items():
        for name in REALIZED:
            if name in real[path].props:
                assert device.props.get(name) == real[path].props[name], (path[-1], name)
                checked += 1
    assert checked >= 5
