"""The whole domain, not only its storage (issue 17's measures), against real libvirt 9.0
and QEMU 7.2:

- `virtxlate argv --qemu 7.2` equals libvirt's `domxml-to-native` token for token once
  tests/runtime_only.py took out what only a libvirt-run process or its host has, for
  every sample and for generated guests holding every device kind (tests/whole_guests.py;
  VIRTXLATE_WHOLE_EXAMPLES of them, 25 by default);
- QEMU 7.2 starts (paused, storage on null-co) on virtxlate's line, and its `info qtree`
  is `virtxlate tree`, the machine's built-in devices included;
- the graph virtxlate builds of libvirt's own line is QEMU's (the graph alone, whatever
  argv writes yet).

Device kinds whose options virtxlate does not write yet are named in KINDS_NOT_WRITTEN:
their options are left out of both lines.  A kind written correctly while still listed
fails test_kinds_not_written_are_not_written, so the list only shrinks.  The same holds
for the built-in devices the graph does not model yet (BUILTINS_NOT_MODELLED, empty now).

QEMU runs here under TCG (tests/qemu_start.py), whatever accelerator the line asks for:
a KVM guest's tree is compared as the graph of the line QEMU was given (under KVM QEMU
makes kvm-ioapic, kvm-i8259, kvm-pit and a kvmclock instead, which the graph leaves out).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SAMPLES, run_cli, virsh_run
from hypothesis import HealthCheck, given, settings
from qemu_start import host_only, runnable, started
from qtree import QBus, parse_qtree
from runtime_only import normalise
from samples_support import NOT_RUNNABLE
from test_libvirt_defined import _defined
from whole_guests import Guest, guests

from virtxlate import caps
from virtxlate.api import analyze, load, table_arch
from virtxlate.graph import build_graph
from virtxlate.graph.render import qtree_text
from virtxlate.native.options import parse_options
from virtxlate.native.words import read_command_line
from virtxlate.option import Option
from virtxlate.qemu import QemuError

pytestmark = pytest.mark.integration

URI = "qemu:///system"
EXAMPLES = int(os.environ.get("VIRTXLATE_WHOLE_EXAMPLES", "25"))

# Every kind of option on libvirt's line (kind_of).  The domain-wide ones are named after
# the qemuBuild*CommandLine that writes them, the devices after their XML element.
KINDS = frozenset(
    {
        # domain-wide
        "name", "machine", "cpu", "memory", "smp", "iothreads", "numa", "uuid", "smbios",
        "display", "defaults", "clock", "lifecycle", "pm", "boot", "firmware", "features",
        "sandbox", "msg", "launch-security",
        # devices
        "pci-controller", "usb-controller", "storage-controller", "virtio-serial-controller",
        "ccid-controller", "hub", "disk", "storage-hostdev", "filesystem", "interface",
        "smartcard", "serial", "parallel", "channel", "console", "tpm", "input", "audio",
        "graphics", "video", "sound", "watchdog", "redirdev", "hostdev", "memballoon", "rng",
        "panic", "shmem", "vsock", "iommu", "memory-device",
        # an option this list does not know: always compared
        "other",
    }
)  # fmt: skip

# The kinds whose options virtxlate does not write as libvirt does yet (the lead empties
# it as each kind lands; test_kinds_not_written_are_not_written says when one is done).
KINDS_NOT_WRITTEN: frozenset[str] = frozenset()

# Built-in devices QEMU 7.2 creates with the machine that virtxlate's graph does not show
# yet, left out of QEMU's tree when comparing.  Empty: the table records every built-in of
# QEMU 7.2's bare machines (caps/interpret.py, tools/caps-facts/builtin-releases.tsv) and
# the graph leaves out those the line turns off (builtin-needs.tsv).
BUILTINS_NOT_MODELLED: frozenset[str] = frozenset()

# Known defects of the options virtxlate writes for kinds it does write (placement), each
# with the smallest guest that shows it; a generated guest running into one is compared
# without the kinds GAP_LEAVES_OUT names for it (all of its line when None).
# test_known_gaps_are_still_gaps fails once a reproducer matches libvirt: remove it then.
_HEAD = "<domain type='qemu'><name>g</name><memory>262144</memory><os><type arch='x86_64'"
KNOWN_GAPS: dict[str, tuple[str, str]] = {}


GAP_LEAVES_OUT: dict[str, frozenset[str] | None] = {}


def known_gaps(xml: str) -> set[str]:
    """The KNOWN_GAPS a generated guest runs into."""
    found: set[str] = set()
    return found


# -- kinds of options ------------------------------------------------------------------

_DEVICE_IDS = (
    (r"pci\.\d+", "pci-controller"),
    (r"usb\d*", "usb-controller"),
    (r"(scsi|sata|ide|fdc)\d*", "storage-controller"),
    (r"virtio-serial\d+", "virtio-serial-controller"),
    (r"ccid\d+", "ccid-controller"),
    (r"hub\d+", "hub"),
    (r"(virtio-disk|sata|ide|scsi|fdc|usb-disk|ua-).*", "disk"),
    (r"fs\d+", "filesystem"),
    (r"net\d+", "interface"),
    (r"smartcard\d+", "smartcard"),
    (r"serial\d+", "serial"),
    (r"parallel\d+", "parallel"),
    (r"channel\d+", "channel"),
    (r"console\d+", "console"),
    (r"tpm\d+", "tpm"),
    (r"input\d+", "input"),
    (r"video\d+", "video"),
    (r"sound\d+(-codec\d+)?", "sound"),
    (r"watchdog\d+", "watchdog"),
    (r"redir\d+", "redirdev"),
    (r"balloon\d+", "memballoon"),
    (r"rng\d+", "rng"),
    (r"shmem\d+", "shmem"),
    (r"vsock\d+", "vsock"),
    (r"iommu\d+", "iommu"),
    (r"(dimm|nvdimm|virtiomem|virtiopmem)\d+", "memory-device"),
)
_DEVICE_DRIVERS = {
    "pvpanic": "panic",
    "pvpanic-pci": "panic",
    "intel-iommu": "iommu",
    "scsi-generic": "storage-hostdev",
    "scsi-block": "storage-hostdev",
    "vhost-scsi-pci": "storage-hostdev",
    "vfio-pci": "hostdev",
    "usb-host": "hostdev",
}
_CHARDEV_IDS = (
    (r"charserial\d+", "serial"),
    (r"charparallel\d+", "parallel"),
    (r"charchannel\d+", "channel"),
    (r"charconsole\d+", "console"),
    (r"charredir\d+", "redirdev"),
    (r"charsmartcard\d+", "smartcard"),
    (r"chrtpm.*", "tpm"),
    (r"charrng\d+", "rng"),
    (r"charnet\d+", "interface"),
    (r"chr-vu-fs\d+", "filesystem"),
    (r"charshmem\d+", "shmem"),
)
_FLAGS = {
    "-name": "name", "-S": "name", "-machine": "machine", "-accel": "machine",
    "-cpu": "cpu", "-m": "memory", "-overcommit": "memory", "-mem-prealloc": "memory",
    "-mem-path": "memory", "-smp": "smp", "-numa": "numa", "-uuid": "uuid",
    "-smbios": "smbios", "-display": "display", "-no-user-config": "defaults",
    "-nodefaults": "defaults", "-rtc": "clock", "-no-hpet": "clock",
    "-no-shutdown": "lifecycle", "-no-reboot": "lifecycle", "-action": "lifecycle",
    "-boot": "boot", "-kernel": "boot", "-initrd": "boot", "-append": "boot",
    "-dtb": "boot", "-bios": "firmware", "-no-acpi": "features", "-sandbox": "sandbox",
    "-msg": "msg", "-blockdev": "disk", "-drive": "disk", "-netdev": "interface",
    "-fsdev": "filesystem", "-tpmdev": "tpm", "-audiodev": "audio", "-spice": "graphics",
    "-vnc": "graphics", "-watchdog-action": "watchdog", "-watchdog": "watchdog",
}  # fmt: skip
_OBJECTS = (
    (r"iothread", r".*", "iothreads"),
    (r"memory-backend-.*", r"pc\.ram|.*\.ram", "memory"),
    (r"memory-backend-.*", r"ram-node\d+", "numa"),
    (r"memory-backend-.*", r"mem(dimm|nvdimm|virtiomem|virtiopmem)\d+", "memory-device"),
    (r"memory-backend-.*", r"shmmem-.*", "shmem"),
    (r"rng-.*", r".*", "rng"),
    (r"secret|throttle-group|pr-manager-helper", r".*", "disk"),
    (r"sev-guest|s390-pv-guest", r".*", "launch-security"),
    (r"tls-creds-x509", r".*", "graphics"),
)
_GLOBALS = (
    (r"(kvm-pit|PIT|mc146818rtc)\..*", "clock"),
    (r"(PIIX4_PM|ICH9-LPC)\.disable_s[34]=.*", "pm"),
    (r"isa-fdc\..*", "disk"),
    (r"(cfi\.pflash01|driver=cfi\.pflash01).*", "firmware"),
)


def _value(value: str | None) -> dict[str, object]:
    if value is None:
        return {}
    if value.startswith("{"):
        data = json.loads(value)
        return data if isinstance(data, dict) else {}
    parts = value.split(",")
    found: dict[str, object] = {"driver": parts[0], "qom-type": parts[0]}
    found.update(p.split("=", 1) for p in parts[1:] if "=" in p)
    return found


def kind_of(flag: str, value: str | None) -> str:
    """The kind of one option of libvirt's line (KINDS)."""
    data = _value(value)
    if flag == "-device":
        driver, device_id = str(data.get("driver", "")), str(data.get("id", ""))
        if driver in _DEVICE_DRIVERS:
            return _DEVICE_DRIVERS[driver]
        if "masterbus" in data:
            return "usb-controller"  # a UHCI companion has no id
        return next((k for rx, k in _DEVICE_IDS if re.fullmatch(rx, device_id)), "other")
    if flag == "-chardev":
        chardev_id = str(data.get("id", ""))
        return next((k for rx, k in _CHARDEV_IDS if re.fullmatch(rx, chardev_id)), "other")
    if flag == "-object":
        qom, object_id = str(data.get("qom-type", "")), str(data.get("id", ""))
        return next(
            (k for t, i, k in _OBJECTS if re.fullmatch(t, qom) and re.fullmatch(i, object_id)),
            "other",
        )
    if flag == "-blockdev" and "pflash" in str(data.get("node-name", "")):
        return "firmware"
    if flag == "-global":
        return next((k for rx, k in _GLOBALS if re.fullmatch(rx, value or "")), "other")
    return _FLAGS.get(flag, "other")


def options(words: list[str]) -> list[tuple[str, str, str | None]]:
    """WORDS (emulator first) as (kind, flag, value) triples."""
    found = []
    index = 1
    while index < len(words):
        flag = words[index]
        value = words[index + 1] if index + 1 < len(words) else None
        if value is not None and value.startswith("-") and not value[1:2].isdigit():
            value = None
        found.append((kind_of(flag, value), flag, value))
        index += 1 if value is None else 2
    return found


def compared(words: list[str], leave_out: frozenset[str] = KINDS_NOT_WRITTEN) -> list[str]:
    """WORDS without the options of the kinds LEAVE_OUT names."""
    out = words[:1]
    for kind, flag, value in options(words):
        if kind not in leave_out:
            out += [flag] if value is None else [flag, value]
    return out


# -- the two lines ----------------------------------------------------------------------


@functools.cache
def libvirt_line(xml: str) -> tuple[tuple[str, ...] | None, str]:
    """libvirt's line for the domain XML (environment included), or None and its reason."""
    with tempfile.NamedTemporaryFile("w", suffix=".xml") as file:
        file.write(xml)
        file.flush()
        answer = virsh_run("virsh", "domxml-to-native", "qemu-argv", file.name)
    if answer.returncode != 0:
        return None, " ".join(answer.stderr.split())
    return tuple(shlex.split(answer.stdout.replace("\\\n", ""))), ""


def lines(xml: str) -> tuple[list[str], list[str]]:
    """(virtxlate's, libvirt's) lines for XML, normalised (tests/runtime_only.py); a
    failure when one refuses what the other accepts."""
    domain = load(xml)
    result = analyze(domain, "7.2")
    theirs, refusal = libvirt_line(xml)
    if theirs is None:
        assert not result.ok, f"libvirt refuses it ({refusal}); virtxlate accepts it"
        pytest.skip("refused by both")
    # (the graph of a line missing a kind not written yet may lack a bus, VX0302: the
    # line is still compared; the QEMU tests below want no error at all)
    errors = [f.message for f in result.findings if f.is_error and f.code != "VX0302"]
    assert not errors and result.argv, errors
    return normalise(list(result.argv), domain), normalise(list(theirs), domain)


def _samples() -> list[Path]:
    return [p for p in sorted(SAMPLES.glob("*.xml")) if p.name not in NOT_RUNNABLE]


def _guests_drawn(count: int) -> Iterator[Guest]:
    """COUNT generated guests, the same ones every run (a fixed draw)."""
    drawn: list[Guest] = []

    @settings(max_examples=count, derandomize=True, deadline=None, database=None)
    @given(guests())
    def draw(guest: Guest) -> None:
        drawn.append(guest)

    draw()
    return iter(drawn)


# -- argv -------------------------------------------------------------------------------


def test_every_kind_left_out_is_a_kind():
    assert KINDS_NOT_WRITTEN <= KINDS


@pytest.mark.parametrize("sample", _samples(), ids=lambda p: p.name)
def test_whole_line_of_each_sample_is_libvirts(virsh, sample):
    ours, theirs = lines(sample.read_text())
    assert compared(ours) == compared(theirs)


@pytest.mark.parametrize("name", ["virt-install-q35.xml", "nova-guest.xml"])
def test_the_cli_writes_the_line_compared(name):
    """What the tests compare (api.analyze) is what `virtxlate argv` prints."""
    sample = SAMPLES / name
    printed = run_cli("argv", str(sample), "--qemu", "7.2", "--format", "json")
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == analyze(load(sample.read_text()), "7.2").argv


@pytest.mark.parametrize("sample", _samples(), ids=lambda p: p.name)
def test_whole_line_of_each_sample_as_libvirt_defines_it_is_libvirts(virsh, sample, tmp_path):
    """The sample as `virsh define` + `dumpxml --inactive` give it back (every address,
    controller and default libvirt fills in written out)."""
    defined = _defined(virsh, sample.read_text(), tmp_path)
    if defined is None:
        pytest.skip("libvirt does not define it")
    ours, theirs = lines(defined)
    assert compared(ours) == compared(theirs)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(guest=guests())
def test_whole_line_of_generated_guests_is_libvirts(virsh, guest):
    ours, theirs = lines(guest.xml)
    gaps = [GAP_LEAVES_OUT[gap] for gap in known_gaps(guest.xml)]
    if None in gaps:
        return
    leave_out = KINDS_NOT_WRITTEN.union(*(kinds for kinds in gaps if kinds is not None))
    assert compared(ours, leave_out) == compared(theirs, leave_out), guest.xml


@pytest.mark.parametrize("gap", sorted(KNOWN_GAPS))
def test_known_gaps_are_still_gaps(virsh, gap):
    assert GAP_LEAVES_OUT.keys() == KNOWN_GAPS.keys()
    ours, theirs = lines(KNOWN_GAPS[gap][1])
    assert compared(ours) != compared(theirs), f"{gap} is fixed: remove it from KNOWN_GAPS"


def test_kinds_not_written_are_not_written(virsh):
    """A kind still in KINDS_NOT_WRITTEN whose options equal libvirt's wherever they
    appear (samples and a fixed draw of guests) is written: remove it from the list."""
    equal: dict[str, list[bool]] = {kind: [] for kind in KINDS_NOT_WRITTEN}
    texts = [p.read_text() for p in _samples()]
    texts += [guest.xml for guest in _guests_drawn(EXAMPLES)]
    for xml in texts:
        result = analyze(load(xml), "7.2")
        theirs, _ = libvirt_line(xml)
        if theirs is None or not result.ok or not result.argv:
            continue
        domain = load(xml)
        ours_by_kind, theirs_by_kind = (
            [(k, f, v) for k, f, v in options(normalise(list(line), domain))]
            for line in (result.argv, theirs)
        )
        for kind in equal:
            mine = [(f, v) for k, f, v in ours_by_kind if k == kind]
            libvirts = [(f, v) for k, f, v in theirs_by_kind if k == kind]
            if mine or libvirts:
                equal[kind].append(mine == libvirts)
    stale = sorted(kind for kind, seen in equal.items() if seen and all(seen))
    assert not stale, f"written as libvirt does: remove {stale} from KINDS_NOT_WRITTEN"


# -- QEMU's tree ------------------------------------------------------------------------


def _devices(bus: QBus, path: tuple = ()) -> list[tuple]:
    """Every device's path from the root, (bus, type, id) per level, in qtree order,
    without the built-ins the graph does not model yet."""
    found = []
    for device in bus.devices:
        if device.type in BUILTINS_NOT_MODELLED and not device.id:
            continue
        key = (*path, (bus.name, device.type, device.id))
        found.append(key)
        for child in device.buses:
            found += _devices(child, key)
    return found


def _props(bus: QBus, path: tuple = ()) -> dict[tuple, dict[str, str]]:
    """Every device's properties by its path; a device with no id whose (bus, type) comes
    more than once on a bus (the eight smbus-eeprom) keyed by its place among them too."""
    found = {}
    seen: dict[tuple, int] = {}
    for device in bus.devices:
        key = (*path, (bus.name, device.type, device.id))
        seen[key] = seen.get(key, -1) + 1
        if seen[key]:
            key = (*key, seen[key])
        found[key] = device.props
        for child in device.buses:
            found.update(_props(child, key))
    return found


def _qemu_tree(words: list[str]) -> str:
    try:
        with started(words) as qemu:
            return str(qemu.hmp("info qtree")).replace("\r\n", "\n")
    except QemuError as exc:
        pytest.fail(f"QEMU 7.2 refuses the line: {exc}")


# Properties qemu_start.runnable takes off a device to start it on this host, so QEMU's
# tree cannot show them: usb-host's hostdevice (the VM host's USB device)
CHANGED_TO_START = {("usb-host", "hostdevice")}


def assert_same_tree(ours_text: str, real_text: str) -> None:
    """Same devices on the same buses in the same order; every value ours prints is
    QEMU's (but those runnable changed to start QEMU here)."""
    ours, real = parse_qtree(ours_text), parse_qtree(real_text)
    assert _devices(ours) == _devices(real)
    real_props = _props(real)
    for path, props in _props(ours).items():
        for name, value in props.items():
            if (path[-1][1], name) in CHANGED_TO_START or re.fullmatch(r'"<[a-z-]+:[^>]*>"', value):
                continue  # (a named placeholder for a host fact: runnable gave QEMU a value)
            assert real_props[path].get(name) == value, (path[-1], name)


def _our_line_and_tree(xml: str) -> tuple[list[str], str]:
    result = analyze(load(xml), "7.2")
    assert result.ok and result.argv and result.graph is not None, [
        f.message for f in result.findings if f.is_error
    ]
    words = list(result.argv)
    if _accel_of(words) == "kvm":
        # QEMU runs it under TCG here: the graph of the line it is given
        return words, _graph_of(runnable(words))
    return words, qtree_text(result.graph)


def _accel_of(words: list[str]) -> str:
    for flag, value in zip(words, words[1:], strict=False):
        if flag == "-accel":
            return value.split(",", 1)[0]
        if flag == "-machine" and "accel=kvm" in value:
            return "kvm"
    return "tcg"


@pytest.mark.parametrize("sample", _samples(), ids=lambda p: p.name)
def test_qemu_builds_our_tree_on_our_line_for_each_sample(sample):
    words, tree = _our_line_and_tree(sample.read_text())
    if host_only(words):
        pytest.skip(host_only(words))
    assert_same_tree(tree, _qemu_tree(words))


@pytest.mark.parametrize("sample", _samples(), ids=lambda p: p.name)
def test_qemu_builds_our_tree_on_our_line_for_each_sample_as_libvirt_defines_it(
    virsh, sample, tmp_path
):
    """The sample as `virsh define` + `dumpxml --inactive` give it back: the PS/2 inputs,
    balloon, USB controller and addresses libvirt adds change nothing of the machine's own
    built-ins but what the XML turns off."""
    defined = _defined(virsh, sample.read_text(), tmp_path)
    if defined is None:
        pytest.skip("libvirt does not define it")
    words, tree = _our_line_and_tree(defined)
    if host_only(words):
        pytest.skip(host_only(words))
    assert_same_tree(tree, _qemu_tree(words))


@settings(max_examples=max(3, EXAMPLES // 5), deadline=None)
@given(guest=guests())
def test_qemu_builds_our_tree_on_our_line_for_generated_guests(guest):
    words, tree = _our_line_and_tree(guest.xml)
    assert_same_tree(tree, _qemu_tree(words))


def _graph_of(words: list[str]) -> str:
    """The graph graph/build.py makes of the line WORDS: its -device options and those that
    change the machine's built-ins or realized values (-global, -usb, -no-acpi, -no-hpet,
    -machine, -accel).  (`tree --argv` reads a line through native/tree.py, which passes only the
    first three: the graph alone is tested here.)"""
    table = caps.load("7.2", table_arch(read_command_line(shlex.join(words)).arch))
    parsed = parse_options(words[1:], "libvirt's line")
    wanted = next(str(o.get("type")) for o in parsed if o.flag == "-machine")
    machine = table.machine(wanted)
    assert machine is not None, wanted
    given = []
    for option in parsed:
        if option.flag in ("-device", "-machine", "-accel"):
            implied = str(option.get({"-device": "driver", "-machine": "type"}.get(option.flag)))
            if option.flag == "-accel":
                implied = str(option.value).split(",", 1)[0]
            props = [(k, v) for k, v in option.fields.items() if k not in ("driver", "type")]
            given.append(Option(option.flag, implied, props))
        elif option.flag in ("-global", "-usb", "-no-acpi", "-no-hpet", "-enable-kvm"):
            given.append(Option(option.flag, option.value))
    return qtree_text(build_graph(table, machine.name, table.family_of(machine), given))


def _libvirts_words(virsh: str, xml: str) -> list[str]:
    theirs, refusal = libvirt_line(xml)
    if theirs is None:
        pytest.skip(f"libvirt refuses it: {refusal}")
    words = list(theirs)
    return words[next(i for i, w in enumerate(words) if w.startswith("/")) :]


@pytest.mark.parametrize("sample", _samples(), ids=lambda p: p.name)
def test_our_graph_of_libvirts_line_is_qemus_for_each_sample(virsh, sample):
    words = _libvirts_words(virsh, sample.read_text())
    if host_only(words):
        pytest.skip(host_only(words))
    # (the line QEMU is given: passthrough devices stand in as qemu_start says)
    assert_same_tree(_graph_of(runnable(words)), _qemu_tree(words))


@settings(
    max_examples=max(3, EXAMPLES // 5),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(guest=guests())
def test_our_graph_of_libvirts_line_is_qemus_for_generated_guests(virsh, guest):
    words = _libvirts_words(virsh, guest.xml)
    assert_same_tree(_graph_of(runnable(words)), _qemu_tree(words))


@pytest.mark.parametrize("machine", ["pc", "q35"])
def test_builtins_not_modelled_are_not_in_our_tree(machine):
    """A built-in the graph now shows must leave BUILTINS_NOT_MODELLED."""
    xml = (
        "<domain type='qemu'><name>b</name><memory>262144</memory>"
        f"<os><type arch='x86_64' machine='{machine}'>hvm</type></os></domain>"
    )
    result = analyze(load(xml), "7.2")
    assert result.graph is not None
    shown = {path[-1][1] for path in _devices_all(parse_qtree(qtree_text(result.graph)))}
    assert not shown & BUILTINS_NOT_MODELLED, "remove them from BUILTINS_NOT_MODELLED"


def _devices_all(bus: QBus, path: tuple = ()) -> list[tuple]:
    found = []
    for device in bus.devices:
        key = (*path, (bus.name, device.type, device.id))
        found.append(key)
        for child in device.buses:
            found += _devices_all(child, key)
    return found
