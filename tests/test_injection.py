"""Hostile values (issue 14): no user string becomes an option, a key or a driver.

Each test names the defect it pins; each asserts exit codes and exact values.
"""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

from virtxlate.api import analyze, load
from virtxlate.argv.escape import split_keyval


def _domain(name: str = "web", devices: str = "", extra: str = "") -> str:
    from xml.sax.saxutils import escape

    return (
        f"<domain type='qemu'><name>{escape(name)}</name>{extra}<memory>1048576</memory>"
        "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
        "<disk type='file' device='disk'><source file='/v/a.img'/>"
        f"<target dev='vda' bus='virtio'/></disk>{devices}</devices></domain>"
    )


def _name_value(argv: list[str]) -> str:
    return argv[argv.index("-name") + 1]


@pytest.mark.parametrize("qemu", ["4.2", "7.2", "2.1"])
@pytest.mark.parametrize("name", ["web,id=1", "process=evil", "a,,b", "x=y,debug-threads=off"])
def test_name_is_the_guest_key(qemu, name):
    """Issue 14.1: libvirt writes -name guest=NAME,debug-threads=on (qemuBuildNameCommandLine);
    the name never stands first, where 'process=…' would be a key."""
    value = _name_value(analyze(load(_domain(name)), qemu).argv)
    parts = split_keyval(value)
    assert parts == [f"guest={name}", "debug-threads=on"]


def test_name_as_libvirt_writes_it():
    argv = analyze(load(_domain("QEMUGuest1")), "7.2").argv
    assert _name_value(argv) == "guest=QEMUGuest1,debug-threads=on"


def test_name_before_2_1_is_the_whole_value():
    """QEMU 1.x has no keys in -name (libvirt's name-guest flag is missing there)."""
    assert _name_value(analyze(load(_domain("seed")), "1.5").argv) == "seed"


@pytest.mark.parametrize(
    ("form", "name"),
    [("guest=web,,id=1,debug-threads=on", "web,id=1"), ("guest=seed", "seed"), ("seed", "seed")],
)
def test_from_argv_reads_both_name_forms(tmp_path, form, name):
    """libvirt's guest= form and the bare one of hand-written lines (QEMU 7.2 itself
    refuses a bare 'web,,id=1': 'Invalid parameter 'id'')."""
    path = tmp_path / "a.args"
    path.write_text(f"qemu-system-x86_64 -name '{form}' -m 512\n")
    result = run_cli("from-argv", str(path))
    assert result.returncode == 0, result.stderr
    assert f"<name>{name}</name>" in result.stdout


@pytest.mark.parametrize("name", ["driver=virtio-blk-pci", "no-such-device", "pci-bridge,x=1"])
def test_pci_model_name_outside_the_enumeration_is_refused(tmp_path, name):
    """Issue 14.2: <model name> becomes the -device driver: libvirt's enumeration only."""
    path = tmp_path / "d.xml"
    path.write_text(
        _domain(
            devices="<controller type='pci' index='1' model='pci-bridge'>"
            f"<model name='{name}'/></controller>"
        )
    )
    for command in ("argv", "check"):
        result = run_cli(command, str(path), "--qemu", "4.2")
        assert result.returncode == 1, (command, result.stdout)
        assert name in result.stdout + result.stderr
        assert "-device " not in result.stdout


def test_pci_model_name_must_fit_the_model(tmp_path):
    path = tmp_path / "d.xml"
    path.write_text(
        _domain(
            devices="<controller type='pci' index='1' model='pci-bridge'>"
            "<model name='ioh3420'/></controller>"
        )
    )
    result = run_cli("argv", str(path), "--qemu", "4.2")
    assert result.returncode == 1
    assert "not valid for a PCI controller with model 'pci-bridge'" in result.stderr


def test_pci_model_name_libvirt_accepts_is_written(tmp_path):
    path = tmp_path / "d.xml"
    path.write_text(
        _domain(
            devices="<controller type='pci' index='1' model='pci-bridge'>"
            "<model name='pci-bridge'/></controller>"
        )
    )
    result = run_cli("argv", str(path), "--qemu", "4.2", "--format", "json")
    assert result.returncode == 0, result.stdout
    assert any(word.startswith("pci-bridge,chassis_nr=1") for word in json.loads(result.stdout))


def test_lines_format_keeps_a_newline_inside_its_option(tmp_path):
    """Issue 14.3: a newline in a value split `--format lines` over three lines; it is
    written as bash's $'…' now, and reading the lines back gives the json format's words."""
    from virtxlate.native.words import split_words

    path = tmp_path / "d.xml"
    path.write_text(_domain().replace("/v/a.img", "/v/a&#10;-device&#10;e1000"))
    for qemu in ("2.5", "7.2"):
        lines = run_cli("argv", str(path), "--qemu", qemu, "--format", "lines")
        words = json.loads(run_cli("argv", str(path), "--qemu", qemu, "--format", "json").stdout)
        assert lines.returncode == 0
        text = lines.stdout.rstrip("\n").split("\n")
        assert all(line.startswith("-") for line in text[1:])
        assert len(text) == 1 + sum(1 for word in words if word.startswith("-"))
        assert [w for line in text for w in split_words(line)] == words
        # key=value -drive (2.5) carries the newline itself, JSON -blockdev (7.2) its escape
        newline = "\n" if qemu == "2.5" else "\\n"
        assert any(f"/v/a{newline}-device{newline}e1000" in word for word in words)


@pytest.mark.parametrize(
    "chain",
    [
        [
            '{"driver":"qcow2","node-name":"a","file":"b"}',
            '{"driver":"raw","node-name":"b","file":"a"}',
        ],
        ["driver=qcow2,node-name=a,file=a"],
        ['{"driver":"copy-on-read","node-name":"a","file":"a"}'],
    ],
)
def test_from_argv_blockdev_cycle_is_an_error(tmp_path, chain):
    """Issue 14.4: a node naming itself, or a↔b, looped for ever."""
    path = tmp_path / "c.args"
    path.write_text(
        "qemu-system-x86_64 "
        + " ".join(f"-blockdev '{c}'" for c in chain)
        + " -device virtio-blk-pci,drive=a\n"
    )
    result = run_cli("from-argv", str(path))
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1 and "loops back to node 'a'" in result.stderr


def test_a_long_shell_word_is_read_in_linear_time(tmp_path):
    """Issue 14.7: a 2 MiB shell word took 141 s (shlex); JSON took 0.35 s."""
    import time

    from virtxlate.native.words import read_command_line

    word = "a" * (2 * 1024 * 1024)
    for text in (
        f"q -device {word}",
        f"q -device '{word}'",
        f'q -device "{word}"',
        "q -device " + "\\ a" * 500_000,
    ):
        start = time.monotonic()
        command = read_command_line(text)
        assert time.monotonic() - start < 2
        assert len(command.words) == 2


def _deep(count: int) -> str:
    return '{"a":' * count + "1" + "}" * count


_BLOCKDEV = (
    'qemu-system-x86_64 -blockdev \'{{"node-name":"n","driver":"raw",'
    '"file":{}}}\' -device virtio-blk-pci,drive=n'
)


@pytest.mark.parametrize(
    "text",
    [
        'qemu-system-x86_64 -device \'{"driver":"virtio-blk-pci","x":' + _deep(1000) + "}'",
        _BLOCKDEV.format(_deep(1000)),
        _BLOCKDEV.format(_deep(200)),
        '["qemu-system-x86_64", ' + "[" * 3000 + "]" * 3000 + "]",
    ],
)
@pytest.mark.parametrize("command", [["from-argv"], ["tree", "--qemu", "7.2", "--argv"]])
def test_deep_json_options_are_an_input_error(tmp_path, text, command):
    """Issue 14.8: JSON 1,000 deep gave RecursionError tracebacks."""
    path = tmp_path / "d.args"
    path.write_text(text + "\n")
    result = run_cli(*command, str(path))
    assert result.returncode == 3, result.stderr[-300:]
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_deep_graph_json_is_an_input_error(tmp_path):
    """Issue 14.8: from-tree with 2,000-deep JSON."""
    bus: dict = {"name": "pci.0", "type": "PCI", "devices": []}
    root = bus
    for number in range(200):
        inner = {"name": f"b{number}", "type": "PCI", "devices": []}
        bus["devices"].append(
            {"type": "pci-bridge", "id": f"b{number}", "props": {}, "buses": [inner]}
        )
        bus = inner
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"qemu": "7.2", "machine": "pc", "root": root}))
    (tmp_path / "u.json").write_text('{"qemu":"7.2","root":' + "[" * 2000 + "]" * 2000 + "}")
    (tmp_path / "v.json").write_text(json.dumps({"qemu": "1" * 5000, "machine": "pc", "root": {}}))
    for name in ("t.json", "u.json", "v.json"):
        result = run_cli("from-tree", str(tmp_path / name))
        assert result.returncode == 3, result.stderr[-300:]
        assert result.stderr.count("\n") == 1


def test_deep_bridge_chain_is_an_input_error(tmp_path):
    """Issue 14.8: tree --argv with a 5,000-deep pci-bridge chain."""
    words, bus = ["qemu-system-x86_64", "-M", "pc"], "pci.0"
    for number in range(1, 5001):
        words += [
            "-device",
            f"pci-bridge,id=br{number},chassis_nr={number % 255 + 1},bus={bus},addr=0x1",
        ]
        bus = f"br{number}"
    path = tmp_path / "c.args"
    path.write_text(" ".join(words) + "\n")
    result = run_cli("tree", "--argv", str(path), "--qemu", "7.2")
    assert result.returncode == 3, result.stderr[-300:]
    assert result.stderr.count("\n") == 1 and "devices deep" in result.stderr


@pytest.mark.parametrize(
    "device",
    [
        "-M q35 -device pcie-root-port,id=pci.1,bus=pcie.0,chassis=1,addr=0xZZ",
        "-M q35 -device pcie-root-port,id=pci.1,bus=pcie.0,chassis=1,port=zz",
    ],
)
def test_tree_argv_bad_number_is_the_one_line_error(tmp_path, device):
    """Issue 14.9: tree --argv gave tracebacks where from-argv gives a one-line error."""
    path = tmp_path / "n.args"
    path.write_text(f"qemu-system-x86_64 {device}\n")
    for command in (["tree", "--argv", str(path), "--qemu", "7.2"], ["from-argv", str(path)]):
        result = run_cli(*command)
        assert result.returncode == 3, result.stderr[-300:]
        assert result.stderr.count("\n") == 1
        assert f"cannot read '{device.removeprefix('-M q35 ')}'" in result.stderr


def test_tree_argv_bad_zpci_uid_is_the_one_line_error(tmp_path):
    path = tmp_path / "z.args"
    path.write_text(
        "qemu-system-s390x -M s390-ccw-virtio -device zpci,uid=zz,fid=1,"
        "target=virtio-disk0 -device virtio-blk-pci,id=virtio-disk0\n"
    )
    result = run_cli("tree", "--argv", str(path), "--qemu", "11.0")
    assert result.returncode == 3, result.stderr[-300:]
    assert result.stderr.count("\n") == 1
    assert "cannot read '-device zpci,uid=zz,fid=1,target=virtio-disk0'" in result.stderr


def test_comment_inside_name_reaches_the_command_line_whole():
    """Issue 14.17: <name>sc<!-- x -->tail</name> gave -name sc."""
    domain = load(_domain().replace("<name>web</name>", "<name>sc<!-- x -->tail</name>"))
    assert _name_value(analyze(domain, "7.2").argv) == "guest=sctail,debug-threads=on"


@pytest.mark.parametrize("source", ["<source/>", "<source file=''/>", ""])
def test_a_hard_disk_without_a_source_is_refused(tmp_path, source):
    """Issue 14.18: an empty <source/> was written as "filename":""; libvirt 9.0 says
    "missing source information for device vda" (virDomainDiskDefValidate)."""
    path = tmp_path / "d.xml"
    path.write_text(_domain().replace("<source file='/v/a.img'/>", source))
    result = run_cli("check", str(path), "--qemu", "7.2")
    assert result.returncode == 1
    assert "VX0100: missing source information for device vda" in result.stdout
    assert run_cli("argv", str(path), "--qemu", "7.2").returncode == 1


@pytest.mark.parametrize("qemu", ["2.5", "7.2"])
def test_a_cdrom_with_an_empty_file_is_an_empty_drive(qemu):
    xml = (
        _domain()
        .replace("device='disk'><source file='/v/a.img'/>", "device='cdrom'><source file=''/>")
        .replace("dev='vda' bus='virtio'", "dev='hdc' bus='ide'")
    )
    result = analyze(load(xml), qemu)
    argv = result.argv
    assert argv is not None, result.findings
    assert not any(
        '"filename":""' in word or "file=," in word or word.endswith("file=") for word in argv
    )
    assert any("ide-cd" in word for word in argv)


def test_disks_without_bus_are_written_on_the_bus_libvirt_derives():
    """Issue 15.10: libvirt 9.0 (domxml-to-native) writes these four bus-less disks as
    virtio-blk-pci, scsi-hd on an implied lsi, ide-cd on ide.1 and floppy unit 0."""
    xml = (
        "<domain type='qemu'><name>nb</name><memory>1048576</memory><os>"
        "<type arch='x86_64' machine='pc'>hvm</type></os><devices>"
        "<disk type='file' device='disk'><source file='/v/a.img'/><target dev='vda'/></disk>"
        "<disk type='file' device='disk'><source file='/v/b.img'/><target dev='sda'/></disk>"
        "<disk type='file' device='cdrom'><source file='/v/c.iso'/><target dev='hdc'/>"
        "</disk><disk type='file' device='floppy'><source file='/v/f.img'/>"
        "<target dev='fda'/></disk></devices></domain>"
    )
    result = analyze(load(xml), "7.2")
    assert not [f for f in result.findings if f.severity != "info"], result.findings
    devices = [json.loads(word) for word in result.argv if word.startswith('{"driver"')]
    by_id = {d.get("id"): d for d in devices}
    assert by_id["virtio-disk0"]["driver"] == "virtio-blk-pci"
    assert by_id["scsi0-0-0"]["driver"] == "scsi-hd"
    assert by_id["scsi0"]["driver"] == "lsi"
    assert by_id["ide0-1-0"] == {
        "driver": "ide-cd",
        "bus": "ide.1",
        "unit": 0,
        "drive": by_id["ide0-1-0"]["drive"],
        "id": "ide0-1-0",
    }
    assert by_id["fdc0-0-0"]["driver"] == "floppy"


@pytest.mark.parametrize("qemu", ["2.5", "7.2"])
def test_disk_format_outside_libvirts_list_is_refused(tmp_path, qemu):
    """The format becomes the block driver ("driver":"raw,file.filename=…" or
    format=raw,,…); libvirt: "unknown driver format value"."""
    path = tmp_path / "d.xml"
    path.write_text(
        _domain().replace(
            "<source file", "<driver name='qemu' type='raw,file.filename=/etc/shadow'/><source file"
        )
    )
    result = run_cli("argv", str(path), "--qemu", qemu)
    assert result.returncode == 1
    assert "/etc/shadow" not in result.stdout


def test_old_aio_format_is_raw():
    xml = _domain().replace("<source file", "<driver name='qemu' type='aio'/><source file")
    argv = analyze(load(xml), "7.2").argv
    assert any('"driver":"raw"' in word for word in argv)
    assert not any('"aio"' in word for word in argv)


_ROOT_PORT = (
    "<domain type='qemu'><name>rp</name><memory>1048576</memory><os>"
    "<type arch='x86_64' machine='q35'>hvm</type></os><devices>"
    "<controller type='pci' index='0' model='pcie-root'/>"
    "<controller type='pci' index='1' model='pcie-root-port'>{model}"
    "<target chassis='1' port='0x10'/>"
    "<address type='pci' domain='0' bus='0' slot='2' function='0'/></controller>"
    "<disk type='file' device='disk'><source file='/a'/>"
    "<target dev='vda' bus='virtio'/>"
    "<address type='pci' domain='0' bus='1' slot='0' function='0'/></disk>"
    "</devices></domain>"
)


def test_pci_model_name_the_release_lacks_is_refused():
    """Issue 14.2, the tables' side: pcie-root-port came with QEMU 2.9."""
    result = analyze(load(_ROOT_PORT.format(model="<model name='pcie-root-port'/>")), "2.5")
    errors = [f for f in result.findings if f.is_error]
    assert [(f.code, f.since) for f in errors] == [("VX0303", "2.9")]
    assert (
        analyze(load(_ROOT_PORT.format(model="<model name='pcie-root-port'/>")), "2.9").argv
        is not None
    )


@pytest.mark.parametrize(
    ("device", "dev", "message"),
    [
        ("disk", "fda", "Invalid harddisk device name: fda"),
        ("floppy", "vda", "Invalid floppy device name: vda"),
    ],
)
def test_target_name_must_fit_the_device(device, dev, message):
    """libvirt 9.0 refuses these when it reads the XML (virDomainDiskDefValidate); a
    disk without target/@bus takes its bus from the name, so the name must fit."""
    xml = (
        _domain()
        .replace("device='disk'", f"device='{device}'")
        .replace("<target dev='vda' bus='virtio'/>", f"<target dev='{dev}'/>")
    )
    result = analyze(load(xml), "7.2")
    assert [(f.code, f.message) for f in result.findings if f.is_error] == [("VX0100", message)]
