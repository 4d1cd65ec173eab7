"""The machine's built-in devices are in `virtxlate tree` as in QEMU 7.2's `info qtree`,
also when nothing is plugged into them (tests/data/qemu-7.2/builtins-*: a domain with one
virtio disk; q35's ich9-ahci at 00:1f.2 and pc's piix3-ide and isa-fdc are there)."""

from __future__ import annotations

import pytest
from conftest import DATA
from test_qtree_realized import _trees

from virtxlate import caps

CASES = sorted((DATA / "qemu-7.2").glob("builtins-*.xml"))


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_every_builtin_is_in_the_tree_with_its_buses(case):
    ours, real = _trees(case)
    table = caps.load("7.2")
    family = table.family_of(table.machine(case.stem.removeprefix("builtins-")))
    expected = {b.type for b in family.builtins if b.enabled_by is None}
    assert expected  # the table names them
    for kind in sorted(expected):
        mine = [path for path in ours if path[-1][1] == kind]
        assert mine, f"{kind} is missing"
        assert [path for path in real if path[-1][1] == kind] == mine
        assert [b.name for b in ours[mine[0]].buses] == [b.name for b in real[mine[0]].buses], kind
