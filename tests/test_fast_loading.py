"""The fast paths of start-up and batches give what the plain ones give (issue 18).

A table's device types are decoded when first asked for (caps/tables.py reads them off the
lines store.dumps writes); a directory's listing is held as sorted runs of names merged
when read (batch._Listing).  Each is checked here against the plain way of doing it.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from virtxlate import batch
from virtxlate.caps.tables import parse_table, table_from_node
from virtxlate.resources import CAPS_DIR

TABLES = sorted(CAPS_DIR.glob("qemu-*.json"))


def _values(table):  # type: ignore[no-untyped-def]
    return (
        table.version,
        table.release,
        table.arch,
        table.emulator,
        table.storage_style,
        table.json_device,
        table.qtree_value_style,
        table.flags,
        table.machines,
        table.families,
        table.bus_types,
        table.bus_type_since,
        table.machines_complete,
        table.uncertain_devices,
        table._aliases,
        list(table.devices.items()),
    )


@pytest.mark.parametrize("path", TABLES, ids=[path.stem for path in TABLES])
def test_lazy_table_equals_whole_decode(path: Path) -> None:
    whole = table_from_node(json.loads(path.read_text(encoding="utf-8")), path)
    lazy = parse_table(path)
    assert len(lazy.devices) > 0
    assert _values(lazy) == _values(whole)


def test_aliases_are_found_without_decoding_device_types() -> None:
    table = parse_table(CAPS_DIR / "qemu-7.2-x86_64.json")
    # QEMU's -device aliases: lsi and ahci name lsi53c895a and ich9-ahci
    assert table.device("lsi") is not None and table.device("lsi").name == "lsi53c895a"
    assert table.device("ahci") is not None and table.device("ahci").name == "ich9-ahci"


def test_unusual_layout_is_decoded_whole(tmp_path: Path) -> None:
    source = CAPS_DIR / "qemu-1.5-x86_64.json"
    copy = tmp_path / "qemu-1.5-x86_64.json"
    copy.write_text(json.dumps(json.loads(source.read_text(encoding="utf-8"))))  # one line
    assert _values(parse_table(copy))[:-1] == _values(parse_table(source))[:-1]
    assert dict(parse_table(copy).devices.items()) == dict(parse_table(source).devices.items())


def test_listing_order_is_name_order_across_runs(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(batch, "_RUN", 3)  # many runs to merge
    names = ["a.xml", "a-b.xml", "a b.xml", "b.xml", "é.xml", "Z.xml", "0.xml", "x.txt"]
    names += [f"d{n:03d}.xml" for n in random.Random(1).sample(range(200), 40)]
    for name in names:
        (tmp_path / name).write_text("")
    for directory in ("a", "c.d", "z"):
        (tmp_path / directory).mkdir()
    expected = [
        (entry.is_dir(), entry.path)
        for entry in sorted(os.scandir(tmp_path), key=lambda entry: entry.name)
        if entry.is_dir() or entry.name.endswith(".xml")
    ]
    assert list(batch._Listing(str(tmp_path))) == expected
    assert len(expected) == len(names) - 1 + 3
