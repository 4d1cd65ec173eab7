"""Every sample, run in real QEMU 7.2 (TCG, paused, images in a temp dir) from
`virtxlate argv --qemu 7.2`: QEMU accepts the whole command line, and the storage subtree
of its `info qtree` (over QMP) is what `virtxlate tree --qemu 7.2` prints — device types,
ids, bus names, and the drive, channel, scsi-id, lun and ccw devno properties."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import _missing
from qemu_start import started
from qtree import QBus, parse_qtree
from samples_support import runnable_samples, with_images

from virtxlate.api import analyze, load
from virtxlate.graph.render import qtree_text

pytestmark = pytest.mark.integration

PROPS = ("drive", "channel", "scsi-id", "lun", "devno")


def _compare(ours: QBus, real: QBus, where: str = "") -> int:
    assert (real.name, real.type) == (ours.name, ours.type), where
    shown = [(d.type, d.id) for d in ours.devices]
    real_devices = [d for d in real.devices if (d.type, d.id) in shown]
    assert [(d.type, d.id) for d in real_devices] == shown, f"{where}/{ours.name}"
    count = len(shown)
    for mine, theirs in zip(ours.devices, real_devices, strict=True):
        for name in PROPS:
            if name in mine.props:
                assert theirs.props.get(name) == mine.props[name], (mine.type, mine.id, name)
        real_buses = {bus.name: bus for bus in theirs.buses}
        assert [b.name for b in theirs.buses if b.name in {m.name for m in mine.buses}] == [
            b.name for b in mine.buses
        ], (where, mine.type, "bus order")
        for bus in mine.buses:
            assert bus.name in real_buses, (mine.type, mine.id, bus.name)
            count += _compare(bus, real_buses[bus.name], f"{where}/{ours.name}/{mine.type}")
    return count


@pytest.mark.parametrize("sample", runnable_samples(), ids=lambda p: p.name)
def test_sample_runs_and_builds_what_tree_says(tmp_path, sample):
    result = analyze(load(with_images(sample, tmp_path)), "7.2")
    assert result.ok, [f.message for f in result.findings if f.is_error]
    # the emulator of the guest's architecture (qemu-system-s390x for an s390x sample)
    emulator = Path(result.argv[0]).name
    binary = shutil.which(emulator)
    if binary is None:
        _missing(emulator, "VIRTXLATE_REQUIRE_INTEGRATION")
    # (started: runnable's form of the line, with a swtpm for a TPM emulator; a USB host
    # device without the host's path, a tap's descriptor only libvirt passes stands in as
    # user networking)
    with started([binary, *result.argv[1:]]) as qemu:
        real = parse_qtree(qemu.hmp("info qtree"))
    ours = parse_qtree(qtree_text(result.graph))
    assert _compare(ours, real) >= 3
