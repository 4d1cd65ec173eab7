"""`virtxlate from-argv`: QEMU command lines back to domain XML.

Every .args file of ../shared/conformance/libvirt reads back into XML whose storage
devices match the case's input XML (target, bus, device, source, format, drive address,
driver attributes), whose other devices match it kind by kind (NICs, RNGs, channels,
serials, filesystems, vsocks, …) and which keeps nothing in <qemu:commandline>, or the
file is listed in tests/data/readback-gaps.tsv with the reason.
Disks are paired by what the command line carries: the drive address of a SCSI, IDE,
SATA or floppy disk, the index in the alias of a virtio or USB disk.
"""

from __future__ import annotations

import json
import os

import pytest
from conftest import CONFORMANCE, DATA, run_cli
from test_conformance import LATEST_INPUTS

from virtxlate.api import load
from virtxlate.native import domain_from_argv
from virtxlate.native.words import read_command_line
from virtxlate.placement.addresses import disk_index, drive_address

DRIVER_ATTRIBUTES = (
    "cache",
    "io",
    "discard",
    "detect_zeroes",
    "error_policy",
    "rerror_policy",
    "copy_on_read",
    "iothread",
    "queues",
)


def _facts(xml: str) -> dict[tuple, dict[str, object]]:
    """The storage facts of each disk, keyed by what pairs it with its read-back twin."""
    found = {}
    for disk in load(xml).disks:
        source, driver = disk.source, disk.driver
        address = drive_address(disk) if disk.bus in ("scsi", "ide", "sata", "fdc") else None
        key = (
            disk.bus,
            tuple(address) if address is not None else disk_index(disk.dev),
        )
        facts: dict[str, object] = {
            "target": disk.dev,
            "device": disk.effective_device,
            "type": disk.type or "file",
            "source": None
            if source is None
            else tuple(
                source.element.get(name) for name in ("file", "dev", "dir", "protocol", "name")
            ),
            "format": (driver.type if driver is not None else None) or "raw",
        }
        for name in DRIVER_ATTRIBUTES:
            facts[name] = getattr(driver, name) if driver is not None else None
        found[key] = facts
    return found


# a tap's fd names neither the network nor the bridge libvirt plugged it into: those
# types read back as 'ethernet' (virtxlate/native/devices.py)
_TAP_TYPES = {"network": "ethernet", "bridge": "ethernet", "ethernet": "ethernet"}
# kinds libvirt adds to a domain that does not name them (a balloon, a USB controller,
# PS/2 inputs, a video for graphics, the console of the first serial, a virtio-serial
# controller for a virtio console): compared only
# when the input names them
_IMPLICIT = {"memballoon", "usb", "input", "video", "console", "virtio-serial"}


def _device_facts(xml: str) -> dict[str, list[tuple]]:
    """Per kind, the sorted facts of each non-storage device a command line carries."""
    domain = load(xml)
    facts: dict[str, list[tuple]] = {
        "interface": [
            (_TAP_TYPES.get(str(n.type), n.type), n.model or "virtio", n.mac)
            for n in domain.interfaces
        ],
        "rng": [(r.model, r.backend.model if r.backend else None) for r in domain.rngs],
        "filesystem": [(f.source_dir, f.target_dir) for f in domain.filesystems],
        "vsock": [(v.cid_address,) for v in domain.vsocks],
        "channel": [(c.type, c.target_type, c.target_name) for c in domain.channels],
        # libvirt makes the first non-virtio console a serial when there is none
        "serial": [(c.type,) for c in domain.serials]
        or [(c.type,) for c in domain.consoles[:1] if c.target_type in (None, "serial")],
        "console": [(c.type,) for c in domain.consoles if c.target_type == "virtio"],
        "sound": [(n.model,) for n in domain.sounds],
        "video": [(n.model.type if n.model else "default",) for n in domain.videos],
        "graphics": [(n.type,) for n in domain.graphics],
        "redirdev": [(n.type,) for n in domain.redirdevs],
        "watchdog": [(n.model,) for n in domain.watchdogs],
        "hostdev": [(n.type,) for n in domain.hostdevs if n.type in ("pci", "usb")],
        "input": [(n.type, n.bus) for n in domain.inputs if n.bus not in (None, "ps2")],
        "memballoon": [(n.model,) for n in domain.memballoons],
        "virtio-serial": [(c.index or 0,) for c in domain.controllers if c.type == "virtio-serial"],
        # a USB controller without a model is the machine's default one
        "usb": [
            (c.model,)
            for c in domain.controllers
            if c.type == "usb" and c.model not in (None, "none")
        ],
    }
    return {kind: sorted(items, key=repr) for kind, items in facts.items()}


def _device_differences(wanted: str, back: str) -> list[str]:
    want, got = _device_facts(wanted), _device_facts(back)
    return [
        f"{kind}: {want[kind]} != {got[kind]}"
        for kind in want
        if want[kind] != got[kind] and (want[kind] or kind not in _IMPLICIT)
    ]


def _input_of(args) -> str | None:
    case = args.parent.name
    if args.name.endswith(".x86_64-latest.args") and case in LATEST_INPUTS:
        return (args.parent / LATEST_INPUTS[case]).read_text()
    xml = args.parent / f"{case}.xml"
    return xml.read_text() if xml.exists() else None


def read_back_differences(args) -> str | None:
    """None when ARGS reads back into the case's disks and other devices with nothing
    left in <qemu:commandline>, else what differs."""
    wanted = _input_of(args)
    if wanted is None:
        return "no input XML in the corpus"
    back = domain_from_argv(read_command_line(args.read_text(), str(args)))
    want, got = _facts(wanted), _facts(back.xml)
    differences = []
    for key, facts in want.items():
        mine = got.get(key)
        if mine is None:
            differences.append(f"{facts['target']} missing")
            continue
        differences += [
            f"{facts['target']}.{name}: {value!r} != {mine[name]!r}"
            for name, value in facts.items()
            if mine[name] != value
        ]
    differences += [f"extra {got[key]['target']}" for key in got if key not in want]
    differences += _device_differences(wanted, back.xml)
    kept = [f.message.split("'")[1] for f in back.findings if f.code == "VX0601"]
    differences += [f"kept in <qemu:commandline>: {text}" for text in kept]
    return "; ".join(differences) or None


def _gaps() -> dict[str, str]:
    gaps = {}
    for line in (DATA / "readback-gaps.tsv").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, reason = line.split("\t")
            gaps[name] = reason
    return gaps


def test_every_args_file_reads_back(shared):
    results = {
        args.name: read_back_differences(args) for args in sorted(CONFORMANCE.glob("*/*.args"))
    }
    gaps = _gaps()
    unexpected = {name: why for name, why in results.items() if why and name not in gaps}
    assert not unexpected, unexpected
    fixed = [name for name in gaps if results.get(name, "gone") is None]
    assert not fixed, f"now reading back, remove from readback-gaps.tsv: {fixed}"
    assert not [name for name in gaps if name not in results]
    print(
        f"\nfrom-argv: {sum(why is None for why in results.values())} of {len(results)} "
        ".args files read back into their input's devices"
    )


SEED_ARGS = """LC_ALL=C PATH=/bin /usr/bin/qemu-system-x86_64 -name seed \\
-machine pc-1.5,accel=tcg -m 512 -device virtio-scsi-pci,id=scsi0,bus=pci.0,addr=0x3 \\
-drive file=/img/a,,b.img,format=qcow2,if=none,id=drive-scsi0-0-0-0,cache=none \\
-device scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=2,drive=drive-scsi0-0-0-0,id=d,bootindex=1 \\
-drive file=/dev/sdz,format=raw,if=none,id=drive-virtio-disk1,readonly=on \\
-device virtio-blk-pci,drive=drive-virtio-disk1,id=virtio-disk1,bus=pci.0,addr=0x4 \\
-hdc /iso/boot.iso -fda /img/floppy.img \\
-netdev user,id=n0 -device e1000,netdev=n0 -netdev socket,id=s0,listen=:1234 \\
-device rtl8139,netdev=s0,mac=52:54:00:00:00:02
"""


def test_from_argv_reads_each_syntax_and_keeps_what_it_cannot_map(tmp_path):
    path = tmp_path / "seed.args"
    path.write_text(SEED_ARGS)
    result = run_cli("from-argv", str(path))
    assert result.returncode == 0, result.stderr
    disks = _facts(result.stdout)
    assert disks[("scsi", (0, 0, 0, 2))]["source"] == ("/img/a,b.img", None, None, None, None)
    assert disks[("scsi", (0, 0, 0, 2))]["cache"] == "none"
    assert disks[("virtio", 1)]["target"] == "vdb"
    assert disks[("virtio", 1)]["type"] == "block"
    assert disks[("ide", (0, 1, 0, 0))]["target"] == "hdc"
    assert disks[("fdc", (0, 0, 0, 0))]["source"][0] == "/img/floppy.img"
    # a user NIC is an <interface type='user'>
    assert '<interface type="user">\n      <model type="e1000"/>' in result.stdout
    # a socket back-end does not map (yet): a warning each, and kept as they were
    assert result.stderr.count("warning: VX0601") == 2
    assert '<qemu:arg value="-netdev"/>\n    <qemu:arg value="socket,id=s0,listen=:1234"/>' in (
        result.stdout
    )
    as_json = run_cli(
        "from-argv",
        "-",
        stdin=json.dumps(
            ["/usr/bin/qemu-system-x86_64", "-drive", "file=/x.img,if=virtio"]
        ).encode(),
    )
    assert _facts(as_json.stdout)[("virtio", 0)]["source"][0] == "/x.img"


def test_unreadable_command_lines_exit_3(tmp_path):
    for text in ("", "qemu -drive 'unclosed", "[1, 2]"):
        result = run_cli("from-argv", "-", stdin=text.encode())
        assert result.returncode == 3 and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize("name", ["disk-scsi-disk-split", "disk-virtio-scsi-reservations"])
def test_wrapped_args_words_join(shared, name):
    """libvirt's .args files break long words with a backslash-newline: they join."""
    words = read_command_line((CONFORMANCE / name / f"{name}.args").read_text()).words
    assert all(not word.endswith(",") for word in words)


# --- tree --argv and from-tree ------------------------------------------------------------

SEED_COMMAND_LINE = (
    "qemu-system-x86_64 -drive file=/img/seed.img,if=none,id=drive0 "
    "-device virtio-scsi-pci,id=scsi -device scsi-hd,drive=drive0"
)
# QOM-FACTS.md §3 and §4: before 1.5 the proxy owns the SCSI bus; from 1.5 it carries a
# virtio-bus with the virtio-scsi-device, which owns it; a bus of a device with an id is
# named '<id>.0' (scsi.0) both times.
SEED_TREES = {
    "1.2": ['dev: virtio-scsi-pci, id "scsi"', "bus: scsi.0", "type SCSI", 'dev: scsi-hd, id ""'],
    "1.5": [
        'dev: virtio-scsi-pci, id "scsi"',
        "bus: virtio-bus",
        "type virtio-pci-bus",
        'dev: virtio-scsi-device, id ""',
        "bus: scsi.0",
        "type SCSI",
        'dev: scsi-hd, id ""',
    ],
}


@pytest.mark.parametrize("release", sorted(SEED_TREES))
def test_tree_of_the_seed_command_line(release):
    result = run_cli("tree", "--argv", "-", "--qemu", release, stdin=SEED_COMMAND_LINE.encode())
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    start = lines.index('dev: virtio-scsi-pci, id "scsi"')
    end = lines.index('dev: PIIX4_PM, id ""')  # the machine's built-ins follow
    shown = [line for line in lines[start:end] if " = " not in line]
    assert shown == SEED_TREES[release]
    assert "drive = drive0" in lines[lines.index('dev: scsi-hd, id ""') + 1 :]
    if release == "1.5":  # the proxy's settings live in the embedded device
        inner = lines.index('dev: virtio-scsi-device, id ""')
        assert "num_queues = 1" in lines[inner : lines.index("bus: scsi.0")]


def test_tree_of_a_command_line_qemu_would_refuse():
    result = run_cli(
        "tree",
        "--argv",
        "-",
        "--qemu",
        "1.2",
        stdin=b"qemu-system-x86_64 -device scsi-hd,bus=nowhere.0",
    )
    assert result.returncode == 1 and "VX0302" in result.stderr


def _structure(node: dict) -> list[tuple]:
    """(device type, id, bus names) of every device below NODE, depth first."""
    found = []
    for device in node.get("devices", []):
        found.append((device["type"], device["id"], tuple(b["name"] for b in device["buses"])))
        for bus in device["buses"]:
            found += _structure(bus)
    return found


@pytest.mark.parametrize(
    "sample",
    [
        "seed-virtio-scsi.xml",
        "scsi-controller-models.xml",
        "virtio-blk-and-ide-cdrom.xml",
        "q35-storage.xml",
        "usb-and-floppy.xml",
        "sata-ahci.xml",
        "usb-hub.xml",
    ],
)
def test_from_tree_gives_a_domain_with_the_same_graph(tmp_path, sample):
    from conftest import SAMPLES

    tree = run_cli("tree", str(SAMPLES / sample), "--qemu", "7.2", "--format", "json")
    back = run_cli("from-tree", "-", stdin=tree.stdout.encode())
    assert back.returncode == 0 and "warning" not in back.stderr, back.stderr
    (tmp_path / "back.xml").write_text(back.stdout)
    again = run_cli("tree", str(tmp_path / "back.xml"), "--qemu", "7.2", "--format", "json")
    assert again.returncode == 0, again.stderr
    assert _structure(json.loads(again.stdout)["root"]) == _structure(
        json.loads(tree.stdout)["root"]
    )


def test_qemu_names_the_machine_of_a_command_line_without_one():
    line = b"qemu-system-x86_64 -hda /img/a.img"
    assert (
        'machine="pc-i440fx-1.5"' in run_cli("from-argv", "-", "--qemu", "1.5", stdin=line).stdout
    )
    assert "machine=" not in run_cli("from-argv", "-", stdin=line).stdout


# --- broken command lines -------------------------------------------------------------

_ODD = [
    "",
    "x",
    "-1",
    "0x",
    "99999999999999999999",
    "a,b",
    "{",
    '{"driver":1}',
    "é",
    "=",
    ",,",
    "[1]",
    "null",
]


@pytest.fixture
def corpus_lines(shared):
    return [read_command_line(p.read_text()).words for p in sorted(CONFORMANCE.glob("*/*.args"))]


def test_broken_command_lines_get_a_message_never_a_traceback(corpus_lines):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from virtxlate.errors import VirtxlateError
    from virtxlate.native.words import CommandLine

    # the strategies drawn from in every example, made once (hypothesis checks a strategy
    # made anew at each draw anew)
    lines, steps = st.sampled_from(corpus_lines), st.integers(1, 3)
    odd_words = st.one_of(st.sampled_from(_ODD), st.text(max_size=8))

    @settings(
        max_examples=int(os.environ.get("VIRTXLATE_ARGV_FUZZ_EXAMPLES", "1000")),
        deadline=None,
        database=None,
    )
    @given(data=st.data())
    def check(data):
        words = list(data.draw(lines))
        for _ in range(data.draw(steps)):
            if not words:
                break
            index = data.draw(st.integers(0, len(words) - 1))
            odd = data.draw(odd_words)
            word = words[index]
            if word.startswith("{"):
                try:
                    fields = json.loads(word)
                    key = data.draw(st.sampled_from(sorted(fields)))
                    fields[key] = data.draw(st.sampled_from([None, 1, "x", [], {}, -5, odd]))
                    words[index] = json.dumps(fields)
                    continue
                except (ValueError, TypeError):
                    pass
            if "=" in word and data.draw(st.booleans()):
                parts = word.split(",")
                at = data.draw(st.integers(0, len(parts) - 1))
                parts[at] = parts[at].split("=", 1)[0] + "=" + odd
                words[index] = ",".join(parts)
            else:
                words[index] = odd
        try:
            back = domain_from_argv(CommandLine("/usr/bin/qemu-system-x86_64", words, "f"))
        except VirtxlateError as exc:
            assert "\n" not in str(exc)
            return
        load(back.xml)  # what it writes is XML virtxlate reads

    check()


def test_from_tree_names_a_placeholder_for_each_drive():
    """A graph names a device's drive, never its file; libvirt refuses a hard disk
    without a source (issue 14.18), so the drive's file is a named placeholder."""
    from conftest import SAMPLES

    tree = run_cli("tree", str(SAMPLES / "usb-and-floppy.xml"), "--qemu", "7.2", "--format", "json")
    back = run_cli("from-tree", "-", stdin=tree.stdout.encode())
    assert back.returncode == 0, back.stderr
    assert back.stdout.count('<source file="/unknown-source/libvirt-') == 2
    assert back.stdout.count("<source") == 2  # the empty floppy stays empty


def test_libvirts_dc_390_reads_back_as_model_dc390():
    """libvirt 9.0 writes -device dc-390 for model dc390 (tests/data/libvirt-9.0/scsi-dc390):
    its line reads back as that controller, not as an option kept in <qemu:commandline>."""
    case = DATA / "libvirt-9.0" / "scsi-dc390"
    readback = domain_from_argv(read_command_line(case.with_suffix(".args").read_text(), str(case)))
    controllers = [(c.type, c.model) for c in load(readback.xml).controllers if c.type == "scsi"]
    assert controllers == [("scsi", "dc390")]
    assert "dc-390" not in readback.xml


def test_user_aliases_read_back():
    """libvirt writes a user alias as the id (tests/data/libvirt-9.0/user-aliases-pc): it
    reads back as <alias>, each controller at its own index, and gives the same line."""
    from virtxlate.api import analyze

    case = DATA / "libvirt-9.0" / "user-aliases-pc"
    readback = domain_from_argv(read_command_line(case.with_suffix(".args").read_text(), str(case)))
    domain = load(readback.xml)
    assert [
        (c.index, c.element.xpath("string(alias/@name)"))
        for c in domain.controllers
        if c.type == "scsi"
    ] == [(0, "ua-myscsi"), (1, "ua-lsi")]
    first = analyze(load(case.with_suffix(".xml").read_text()), "7.2").argv
    again = analyze(domain, "7.2").argv
    # libvirt made up the line's -uuid for an XML without one: it reads back as <uuid>,
    # where virtxlate's line of that XML has its placeholder
    assert first is not None and again is not None
    uuid = again.index("-uuid") + 1
    assert first[uuid] == "<random-uuid>" and again[uuid] == domain.uuid
    assert again[:uuid] + again[uuid + 1 :] == first[:uuid] + first[uuid + 1 :]


@pytest.mark.parametrize(
    ("case", "written"),
    [
        ("builtins-vmport-off-pc", '<vmport state="off"/>'),
        ("builtins-hpet-off-pc", '<timer name="hpet" present="no"/>'),
        ("builtins-no-acpi-pc", None),
    ],
)
def test_from_tree_reads_the_machine_options_from_missing_builtins(tmp_path, case, written):
    """A built-in the graph lacks says which machine feature was off (vmport=off: no vmport
    or vmmouse; -no-hpet: no hpet; -no-acpi: no PIIX4_PM): from-tree writes it back, and the
    domain it gives has the same graph (tools/caps-facts/builtin-needs.tsv)."""
    from cases_support import CASES

    tree = run_cli("tree", str(CASES / f"{case}.xml"), "--qemu", "7.2", "--format", "json")
    back = run_cli("from-tree", "-", stdin=tree.stdout.encode())
    assert back.returncode == 0, back.stderr
    if written is not None:
        assert written in back.stdout
    else:
        assert "<acpi" not in back.stdout
    (tmp_path / "back.xml").write_text(back.stdout)
    again = run_cli("tree", str(tmp_path / "back.xml"), "--qemu", "7.2", "--format", "json")
    assert _structure(json.loads(again.stdout)["root"]) == _structure(
        json.loads(tree.stdout)["root"]
    )
