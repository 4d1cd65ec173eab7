"""A table made of another (CapsTable.replace, as tests and scripts make them) leaves the
other as it was.  The copy was given the original's own dict of -device aliases and
added its devices' aliases to it: QEMU 1.5's table, loaded once per process and shared
by every later check, then answered 'ac97' with 10.0's AC97 alias (1.5 has no device of
that name), for the rest of the process."""

from __future__ import annotations

from virtxlate import caps


def _answers(table, names):  # type: ignore[no-untyped-def]
    found = {}
    for name in names:
        device = table.device(name)
        found[name] = device.name if device is not None else None
    return found


def test_a_copy_with_other_devices_leaves_the_original_as_it_was():
    old, new = caps.load("1.5", "x86_64"), caps.load("10.0", "x86_64")
    names = sorted(set(old.devices) | set(new.devices) | set(new._aliases) | {"ac97"})
    before = _answers(old, names)
    assert before["ac97"] is None  # (1.5 has AC97 under that name only)
    copy = old.replace(devices={name: new.devices[name] for name in new.devices})
    assert copy.device("ac97") is not None  # the copy has 10.0's devices and aliases
    assert _answers(old, names) == before
    assert caps.load("1.5", "x86_64") is old  # (the table every later check is given)
