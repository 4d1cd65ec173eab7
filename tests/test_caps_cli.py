"""`caps list/show/diff` and `explain`, with expectations from the seed and QOM-FACTS.md."""

from __future__ import annotations

import json

from conftest import run_cli

# QOM-FACTS.md §1: types that 1.5.3's qom-list-types has and 1.2 lacked (the mission's seed
# names these for `caps diff 1.2 1.5`).
SEED_ADDED = [
    "vhost-scsi",
    "vhost-scsi-pci",
    "virtio-blk-device",
    "virtio-scsi-device",
    "virtio-net-device",
    "virtio-serial-device",
    "virtio-balloon-device",
    "virtio-scsi-common",
    "virtio-rng-pci",
]


def test_caps_list():
    result = run_cli("caps", "list", "--format", "json")
    assert result.returncode == 0
    releases = json.loads(result.stdout)
    assert {
        "version": "1.2",
        "release": "1.2.2",
        "arch": "x86_64",
        "origin": "captured replies",
    } in releases
    assert {
        "version": "7.1",
        "release": "7.1.0",
        "arch": "x86_64",
        "origin": "captured replies",
    } in releases
    assert {
        "version": "2.2",
        "release": "2.2.0",
        "arch": "x86_64",
        "origin": "derived from neighbours",
    } in releases
    assert run_cli("caps", "list").stdout.startswith("1.2 ")


def test_caps_diff_of_adjacent_captures_shows_only_real_changes():
    """issue 13: `caps diff 7.1 7.2` called ~39 old types 'added' (dated 7.2 by the old
    derivation); between captured releases only what the replies changed is listed."""
    diff = json.loads(run_cli("caps", "diff", "7.1", "7.2", "--format", "json").stdout)
    assert diff["device_types"] == {
        "added": ["vhost-user-gpio-device", "vhost-user-gpio-pci", "vhost-user-gpio-pci-base"],
        "removed": [],
    }
    assert diff["machine_types"] == {"added": ["pc-i440fx-7.2", "pc-q35-7.2"], "removed": []}
    assert diff["properties"]["removed"] == {}


def test_caps_diff_1_2_to_1_5_shows_the_refactoring():
    result = run_cli("caps", "diff", "1.2", "1.5", "--format", "json")
    assert result.returncode == 0
    diff = json.loads(result.stdout)
    for name in SEED_ADDED:
        assert name in diff["device_types"]["added"], name
    assert diff["device_types"]["removed"] == []
    assert "pc-i440fx-1.5" in diff["machine_types"]["added"]
    text = run_cli("caps", "diff", "1.2", "1.5").stdout
    assert "  + virtio-scsi-device\n" in text
    assert text.startswith("QEMU 1.2 -> 1.5 (x86_64)\n")


def test_caps_diff_accepts_every_version_form():
    forms = [("1.2", "1.5"), ("1.2.2", "1.5.3"), ("1002002", "1005003"), ("v1.2.0", "1.5")]
    outputs = {run_cli("caps", "diff", a, b).stdout for a, b in forms}
    assert len(outputs) == 1


def test_caps_show():
    result = run_cli("caps", "show", "1.5", "--format", "json")
    table = json.loads(result.stdout)
    assert table["release"] == "1.5.3"
    proxy = table["device_types"]["virtio-scsi-pci"]
    assert proxy["embeds"] == "virtio-scsi-device"
    assert run_cli("caps", "show", "1.5").stdout.startswith("QEMU 1.5 (1.5.3), x86_64\n")
    assert run_cli("caps", "show", "0.15").returncode == 2


def _explain(name, version="1.5"):
    result = run_cli("explain", name, "--qemu", version, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_explain_virtio_bus():
    """What is virtio-bus, and which devices provide one (QOM-FACTS.md §1, §2, §6)."""
    bus = _explain("virtio-bus")
    assert bus["kind"] == "bus type"
    assert bus["children"] == ["virtio-pci-bus"]
    assert bus["since"] == "1.4"
    assert {"virtio-scsi-pci", "virtio-blk-pci", "vhost-scsi-pci"} <= set(bus["provided_by"])
    assert {"virtio-scsi-device", "virtio-blk-device"} <= set(bus["plugged_by"])


def test_explain_virtio_devices_live_inside_their_proxy():
    """How virtio-scsi-device and virtio-blk-device are used: inside the transport proxy."""
    for name, proxy in (
        ("virtio-scsi-device", "virtio-scsi-pci"),
        ("virtio-blk-device", "virtio-blk-pci"),
    ):
        device = _explain(name)
        assert device["embedded_by"] == [proxy]
        assert device["plugs_into"] == "virtio-bus"
        assert device["since"] == "1.5"
        text = run_cli("explain", name, "--qemu", "1.5").stdout
        assert f"created inside its transport proxy: {proxy}" in text
        assert "not created directly there" in text
    scsi = _explain("virtio-scsi-device")
    assert scsi["provides"] == ["SCSI '{proxy-id}.0'"]
    assert scsi["parents"][:2] == ["virtio-scsi-common", "virtio-device"]


def test_explain_virtio_scsi_common():
    """What virtio-scsi-common is: the common parent of virtio-scsi-device and vhost-scsi."""
    common = _explain("virtio-scsi-common")
    assert common["children"] == ["vhost-scsi", "virtio-scsi-device"]
    assert common["creatable"] is False


def test_explain_in_a_release_that_lacks_the_type():
    result = run_cli("explain", "virtio-scsi-device", "--qemu", "1.2")
    assert result.returncode == 0
    assert result.stdout == "virtio-scsi-device: not in QEMU 1.2 (x86_64); known from QEMU 1.5\n"
    unknown = run_cli("explain", "no-such-device", "--qemu", "1.5")
    assert unknown.returncode == 1


def test_a_huge_version_number_is_a_one_line_usage_error():
    result = run_cli("check", "samples/seed-virtio-scsi.xml", "--qemu", "9" * 5000)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "not a QEMU version" in result.stderr
    assert "Traceback" not in result.stderr
