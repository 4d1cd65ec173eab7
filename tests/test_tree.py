"""`virtxlate tree`: the device graph QEMU builds, per release."""

from __future__ import annotations

import json

import pytest
from conftest import DATA, SAMPLES, run_cli

from virtxlate import caps
from virtxlate.api import analyze, load
from virtxlate.graph.render import graph_json

CASES = sorted(DATA.glob("*.qemu-*.qtree"))


def _case(path):
    name, _, rest = path.name.partition(".qemu-")
    return DATA / f"{name}.xml", rest.removesuffix(".qtree")


@pytest.mark.parametrize("expected", CASES, ids=lambda p: p.name)
def test_qtree_matches_expected(expected):
    xml, version = _case(expected)
    result = run_cli("tree", str(xml), "--qemu", version)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected.read_text()


def test_json_shape_is_stable():
    result = run_cli(
        "tree", str(SAMPLES / "seed-virtio-scsi.xml"), "--qemu", "1.5", "--format", "json"
    )
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert set(data) == {"qemu", "machine", "root"}
    assert data["qemu"] == "1.5" and data["machine"] == "pc-i440fx-1.5"

    def walk_bus(bus, path):
        assert set(bus) == {"name", "type", "devices"}
        for device in bus["devices"]:
            assert set(device) == {"type", "id", "props", "buses"}
            yield path + [(bus["name"], device["type"], device["id"])]
            for child in device["buses"]:
                yield from walk_bus(child, path + [(bus["name"], device["type"], device["id"])])

    deepest = max(walk_bus(data["root"], []), key=len)
    assert deepest == [
        ("main-system-bus", "i440FX-pcihost", None),
        ("pci.0", "virtio-scsi-pci", "scsi0"),
        ("virtio-bus", "virtio-scsi-device", None),
        ("scsi0.0", "scsi-hd", "scsi0-0-0-0"),
    ]
    inner = data["root"]["devices"][0]["buses"][0]["devices"][0]["buses"][0]["devices"][0]
    assert inner["props"] == {"num_queues": 1, "max_sectors": 65535, "cmd_per_lun": 128}


def test_controller_options_reach_the_embedded_device():
    domain = load("""<domain type='qemu'><devices>
        <controller type='scsi' index='0' model='virtio-scsi'>
          <driver queues='4' cmd_per_lun='50'/></controller>
        <memballoon model='none'/></devices></domain>""")
    tree = graph_json(analyze(domain, "1.5").graph)
    proxy = tree["root"]["devices"][0]["buses"][0]["devices"][0]
    inner = proxy["buses"][0]["devices"][0]
    assert "num_queues" not in proxy["props"]
    assert inner["props"]["num_queues"] == 4
    assert inner["props"]["cmd_per_lun"] == 50
    old = graph_json(analyze(domain, "1.2").graph)
    assert old["root"]["devices"][0]["buses"][0]["devices"][0]["props"]["num_queues"] == 4


def test_ide_disk_hangs_on_the_builtin_controller():
    domain = load("""<domain type='qemu'><features><acpi/></features><devices>
        <disk type='file' device='cdrom'><source file='/x.iso'/>
          <target dev='hdc' bus='ide'/></disk><memballoon model='none'/></devices></domain>""")
    tree = graph_json(analyze(domain, "1.5").graph)
    pci = tree["root"]["devices"][0]["buses"][0]["devices"]
    # the machine's built-ins as QEMU lists them on pci.0, the newest first (QEMU 1.x
    # pc_init1: i440FX, PIIX3, piix3-ide, then PIIX4_PM, which needs ACPI on;
    # tools/caps-facts/builtins.tsv, builtin-needs.tsv),
    # after the USB controller libvirt adds
    assert [d["type"] for d in pci] == [
        "piix3-usb-uhci",
        "PIIX4_PM",
        "piix3-ide",
        "PIIX3",
        "i440FX",
    ]
    piix = pci[2]
    assert piix["props"] == {"addr": "01.1"}
    # as qtree lists them: the newest bus first (real QEMU 7.2 on pc: ide.1, then ide.0)
    assert [b["name"] for b in piix["buses"]] == ["ide.1", "ide.0"]
    assert piix["buses"][0]["devices"][0]["type"] == "ide-cd"
    assert piix["buses"][0]["devices"][0]["props"]["unit"] == 0


def test_a_device_the_release_lacks_is_an_error():
    # vhost-scsi-pci does not exist before 1.5 (QOM-FACTS.md §1)
    from virtxlate.caps import load as load_caps
    from virtxlate.graph import GraphError, build_graph
    from virtxlate.option import Option

    table = load_caps("1.2")
    machine = table.machine("pc")
    with pytest.raises(GraphError, match="no device type 'vhost-scsi-pci'"):
        build_graph(
            table,
            machine.name,
            table.family_of(machine),
            [Option("-device", "vhost-scsi-pci", [("id", "vs0")])],
        )


@pytest.mark.parametrize(("version", "machine"), [("1.2", "pc-1.2"), ("1.5", "pc-i440fx-1.5")])
def test_seed_command_line_gives_both_seed_trees(version, machine):
    """Issue 15.4: `-M` was not read ('machine type None'); the seed's line names -M pc."""
    seed = str(SAMPLES / "seed-command-line.args")
    result = run_cli("tree", "--argv", seed, "--qemu", version, "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["machine"] == machine
    pci = data["root"]["devices"][0]["buses"][0]
    # the NIC is in the graph when the release's table knows e1000 (1.5's is built from
    # captured replies; 1.2's hand-written table holds storage only), newest first as in
    # QEMU's info qtree
    nic = ["e1000"] if caps.load(version).has_device("e1000") else []
    builtins = ["PIIX4_PM", "piix3-ide", "PIIX3", "i440FX"]  # the machine's, after them
    assert [d["type"] for d in pci["devices"]] == nic + ["virtio-scsi-pci", *builtins]
    text = run_cli("tree", "--argv", seed, "--qemu", version).stdout
    assert 'dev: scsi-hd, id ""' in text and "drive = drive0" in text


@pytest.mark.parametrize(
    "flag", ["-M pc-0.15", "-machine pc-0.15,accel=kvm", "-machine type=pc-0.15"]
)
def test_tree_argv_reads_the_machine_option(tmp_path, flag):
    path = tmp_path / "a.args"
    path.write_text(f"qemu-kvm -enable-kvm -name win2003 {flag} -m 512\n")
    result = run_cli("tree", "--argv", str(path), "--qemu", "1.2", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["machine"] == "pc-0.15"


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        # tools/caps-facts/builtins.tsv: QEMU named the LPC and SMBus functions
        # 'ICH9 LPC' until 2.1 and 'ICH9 SMB' until 6.0 (the captured qom-list-types)
        ("1.5", ["ICH9 SMB", "ich9-ahci", "ICH9 LPC", "mch"]),
        ("2.1", ["ICH9 SMB", "ich9-ahci", "ICH9-LPC", "mch"]),
        ("5.2", ["ICH9 SMB", "ich9-ahci", "ICH9-LPC", "mch"]),
        ("7.2", ["ICH9-SMB", "ich9-ahci", "ICH9-LPC", "mch"]),
    ],
)
def test_q35_builtins_with_the_names_of_their_release(version, expected):
    domain = load("""<domain type='qemu'><os><type arch='x86_64' machine='q35'>hvm</type>
        </os><devices/></domain>""")
    result = analyze(domain, version)
    assert result.graph is not None, result.findings
    root = graph_json(result.graph)["root"]
    pcie = next(d for d in root["devices"] if d["type"] == "q35-pcihost")["buses"][0]
    assert pcie["name"] == "pcie.0"
    builtins = [d for d in pcie["devices"] if d["id"] is None]  # (libvirt's root ports)
    assert [d["type"] for d in builtins] == expected
    smb = builtins[0]
    assert smb["props"] == {"addr": "1f.3"} and [b["name"] for b in smb["buses"]] == ["i2c"]


@pytest.mark.parametrize("acpi_off", ["-no-acpi", "-machine pc-i440fx-7.2,acpi=off"])
def test_tree_of_a_line_without_acpi_has_no_piix4_pm(acpi_off):
    """tree --argv builds the machine as the line asks: pc_init1 creates no PIIX4_PM with
    ACPI off (QEMU 7.2's qtree of libvirt's -no-acpi lines has none)."""
    line = f"qemu-system-x86_64 -machine pc-i440fx-7.2 {acpi_off} -device virtio-scsi-pci,id=s"
    with_acpi = run_cli(
        "tree", "--argv", "-", "--qemu", "7.2", stdin=line.replace(acpi_off, "").encode()
    )
    without = run_cli("tree", "--argv", "-", "--qemu", "7.2", stdin=line.encode())
    assert (with_acpi.returncode, without.returncode) == (0, 0), without.stderr
    assert "dev: PIIX4_PM" in with_acpi.stdout
    assert "dev: PIIX4_PM" not in without.stdout and "dev: virtio-scsi-pci" in without.stdout


@pytest.mark.parametrize(
    ("option", "gone"),
    [
        ("-no-hpet", ["hpet"]),
        ("-machine pc-i440fx-7.2,hpet=off", ["hpet"]),
        ("-machine pc-i440fx-7.2,vmport=off", ["vmport", "vmmouse"]),
    ],
)
def test_tree_of_a_line_turning_a_feature_off_lacks_its_builtins(option, gone):
    """QEMU 7.2's pc_basic_device_init creates no hpet with -no-hpet or hpet=off, and
    pc_superio_init no vmport or vmmouse with vmport=off (tools/caps-facts/builtin-needs.tsv;
    tests/cases/builtins-*-pc.qemu-7.2.qtree)."""
    line = f"qemu-system-x86_64 -machine pc-i440fx-7.2 {option} -device virtio-scsi-pci,id=s"
    plain = run_cli("tree", "--argv", "-", "--qemu", "7.2", stdin=line.replace(option, "").encode())
    without = run_cli("tree", "--argv", "-", "--qemu", "7.2", stdin=line.encode())
    assert (plain.returncode, without.returncode) == (0, 0), without.stderr
    for kind in gone:
        assert f"dev: {kind}," in plain.stdout and f"dev: {kind}," not in without.stdout
