"""The NIC rows (props/device_table.py) in both directions, against the command line
libvirt 9.0 gave QEMU 7.2 when it started the domain.

libvirt's dry run (domxml-to-native) rebuilds every <interface> as a bare tap, so the NIC
properties of the rows and a vhost-user back-end are only on the line of a domain libvirt
starts: tests/data/libvirt-9.0-started holds such domains, each a vhost-user NIC on a
socket nobody serves, and the line libvirt wrote into its log for it (QEMU then stops:
"Failed to connect", or is stopped).  `argv` must write that NIC token for token (a row
missing from the table leaves its property out), and from-argv must read libvirt's line
back to every row's field (a row missing leaves the NIC unread: it stays in
<qemu:commandline>).  VIRTXLATE_REGENERATE=1 starts them again with the local libvirt
(tests/started_domains.py).
"""

from __future__ import annotations

import os

import pytest
from conftest import DATA
from started_domains import STARTED, regenerate_started

from virtxlate.api import analyze, load
from virtxlate.model import Interface
from virtxlate.native import domain_from_argv
from virtxlate.native.words import read_command_line
from virtxlate.props import device_table
from virtxlate.props.mapping import Row

CASES = sorted(STARTED.glob("*.xml"))
NIC_ROWS: tuple[Row, ...] = (
    *device_table.NIC_VIRTIO,
    *device_table.NIC_VIRTIO_QUEUES,
    device_table.NIC_MAC,
    device_table.NIC_BOOT,
    device_table.ROMBAR,
)
# host_mtu: libvirt cannot start a vhost-user NIC with <mtu> and no host port (VX0100);
# tests/test_interface_line.py writes it for a tap
NOT_ON_A_STARTED_LINE = {"host_mtu"}


def _words(case) -> list[str]:
    return read_command_line(case.with_suffix(".args").read_text(), case.name).words


def _nic_options(words: list[str]) -> list[tuple[str, str]]:
    """The options of the NICs: their -chardev (charnetN, char + a user alias), -netdev
    and the -device with netdev=."""
    netdevs = {w.split('"id":"')[1].split('"')[0] for w in words if '"type":"vhost-user"' in w}
    chardevs = {"char" + n.removeprefix("host") for n in netdevs}
    found = []
    for flag, value in zip(words, words[1:], strict=False):
        if flag == "-netdev" or (
            flag == "-chardev" and value.split(",")[1].removeprefix("id=") in chardevs
        ):
            found.append((flag, value))
        elif flag == "-device" and '"netdev":' in value:
            found.append((flag, value))
    return found


@pytest.fixture(scope="module", autouse=True)
def _regenerated(request):
    if os.environ.get("VIRTXLATE_REGENERATE") == "1":
        virsh = request.getfixturevalue("virsh")
        for case in CASES:
            regenerate_started(virsh, case)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_nics_are_libvirts_started_line(case):
    result = analyze(load(case.read_text()), "7.2")
    assert result.argv is not None and result.ok, [f.message for f in result.findings]
    ours = _nic_options(list(result.argv))
    assert ours and ours == _nic_options(_words(case))


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_every_nic_row_reads_back_from_libvirts_line(case):
    given = load(case.read_text()).interfaces
    line = read_command_line(case.with_suffix(".args").read_text(), case.name)
    back = load(domain_from_argv(line).xml).interfaces
    assert [nic.type for nic in back] == [nic.type for nic in given] == ["vhostuser"] * len(given)
    for ours, theirs in zip(given, back, strict=True):
        differences = [
            f"{row.qemu}: {row.read(ours)!r} != {row.read(theirs)!r}"
            for row in NIC_ROWS
            if row.read(ours) != row.read(theirs)
        ]
        assert not differences
        assert (theirs.source.path, theirs.source.mode) == (ours.source.path, ours.source.mode)
        assert theirs.source.reconnect_enabled == ours.source.reconnect_enabled
        assert theirs.source.reconnect_timeout == ours.source.reconnect_timeout


def test_every_nic_row_is_set_by_a_case():
    """A row no case sets is a mapping nobody checked against libvirt's line."""
    nics: list[Interface] = [nic for case in CASES for nic in load(case.read_text()).interfaces]
    unset = [
        row.qemu
        for row in NIC_ROWS
        if row.qemu not in NOT_ON_A_STARTED_LINE and all(row.read(nic) is None for nic in nics)
    ]
    assert not unset


def test_a_row_taken_out_breaks_both_directions(monkeypatch):
    """The writer and the reader share the row: without it argv leaves the property out
    and from-argv does not read the NIC (it stays in <qemu:commandline>)."""
    from virtxlate.native import devices
    from virtxlate.props import net

    case = STARTED / "vhostuser-nic-rows-pc.xml"
    row = next(r for r in device_table.NIC_VIRTIO_QUEUES if r.qemu == "rx_queue_size")
    monkeypatch.setattr(
        net, "NIC_VIRTIO_QUEUES", tuple(r for r in net.NIC_VIRTIO_QUEUES if r is not row)
    )
    monkeypatch.setattr(devices, "_NIC_ROWS", tuple(r for r in devices._NIC_ROWS if r is not row))
    monkeypatch.setattr(devices, "_NIC_KEYS", devices._NIC_KEYS - {row.qemu})
    result = analyze(load(case.read_text()), "7.2")
    assert '"rx_queue_size"' not in " ".join(result.argv or ())
    line = read_command_line(case.with_suffix(".args").read_text(), case.name)
    assert load(domain_from_argv(line).xml).interfaces == []


def test_vhostuser_needs_a_virtio_model():
    """libvirt 9.0 refuses any other model (qemuValidateDomainDeviceDefNetwork: "vhostuser
    requires the virtio-net* frontend"), also the default one (checked with virsh)."""
    for model in ("<model type='e1000'/>", ""):
        xml = (DATA / "libvirt-9.0-started" / "vhostuser-nic-server-q35.xml").read_text()
        xml = xml.replace("<model type='virtio'/>", model)
        result = analyze(load(xml), "7.2")
        assert [f.code for f in result.findings if f.is_error] == ["VX0100"]


def test_vhostuser_on_private_memory_is_a_warning():
    """libvirt 9.0 and QEMU 7.2 start it (measured: QEMU got as far as connecting), but
    the back-end cannot map unshared guest memory."""
    xml = (STARTED / "vhostuser-nic-server-q35.xml").read_text()
    xml = xml.replace("<memoryBacking><source type='memfd'/><access mode='shared'/>", "")
    xml = xml.replace("</memoryBacking>", "")
    result = analyze(load(xml), "7.2")
    assert result.ok
    assert [f.code for f in result.findings if f.severity == "warning"] == ["VX0405"] * 2


# --- video cards: libvirt's dry run writes them whole (tests/data/display) ---------------

DISPLAY = DATA / "display"
VIDEO_CASES = sorted(
    xml
    for xml in DISPLAY.glob("*.xml")
    if "<video" in xml.read_text() and xml.with_suffix(".qemu-7.2.args").exists()
)
VIDEO_ROWS = (*device_table.VIDEO, *device_table.VIDEO_RESOLUTION)


def _cards(videos) -> list[device_table.Card]:
    """Each <video> as the rows see it, in libvirt's order (primary='yes' first): its
    model and its type."""
    videos = sorted(videos, key=lambda v: not v.primary)
    return [
        device_table.Card(v.model, (v.model.type if v.model is not None else None) or "cirrus")
        for v in videos
    ]


@pytest.mark.parametrize("case", VIDEO_CASES, ids=lambda p: p.stem)
def test_every_video_row_reads_back_from_libvirts_line(case):
    """from-argv of libvirt's line gives cards whose rows write libvirt's values again
    (a size libvirt fills in, qxl's ram, comes back as that size)."""
    given = [c for c in _cards(load(case.read_text()).videos) if c.kind != "none"]
    line = read_command_line(case.with_suffix(".qemu-7.2.args").read_text(), case.name)
    back = _cards(load(domain_from_argv(line).xml).videos)
    assert [c.kind for c in back] == [c.kind for c in given]
    for ours, theirs in zip(given, back, strict=True):
        differences = [
            f"{row.qemu}: {row.value(ours)!r} != {row.value(theirs)!r}"
            for row in VIDEO_ROWS
            if row.applies(ours.kind, None) and row.value(ours) != row.value(theirs)
        ]
        assert not differences


def test_every_video_row_is_set_by_a_case():
    videos = [v for case in VIDEO_CASES for v in load(case.read_text()).videos]
    kinds = [(v.model.type if v.model is not None else None) or "cirrus" for v in videos]
    unset = [
        row.qemu
        for row in VIDEO_ROWS
        if not any(
            row.applies(kind, None) and row.read(video) is not None
            for video, kind in zip(videos, kinds, strict=True)
        )
    ]
    assert not unset


def test_vhostuser_multiqueue_needs_its_release():
    """queues > 1 on a vhost-user NIC needs libvirt's vhost-user-multiqueue capability,
    from QEMU 2.4 in the tables."""
    xml = (STARTED / "vhostuser-nic-server-q35.xml").read_text().replace("pc-q35-7.2", "q35")
    xml = xml.replace("<model type='virtio-non-transitional'/>", "<model type='virtio'/>")
    refused = [f for f in analyze(load(xml), "2.3").findings if f.is_error]
    assert [(f.code, f.since) for f in refused] == [("VX0303", "2.4")]
    assert analyze(load(xml), "2.4").ok
