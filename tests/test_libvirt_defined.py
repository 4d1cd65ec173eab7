"""Domains as libvirt keeps them, and command lines read back, against real libvirt 9.0.

- A domain libvirt has defined (`virsh define` + `virsh dumpxml`) names every PCI root port
  and bridge and every device's place; virtxlate's argv of it must equal libvirt's
  (storage options and PCI controllers, byte for byte), also after a disk without an
  address is added to it (libvirt's first empty root port or bridge slot).
- "Valid" is libvirt accepting it AND QEMU starting on libvirt's line: QEMU is started
  (tests/qemu_start.py) on every sample's and hand-written domain's line, and on a bounded
  sample of the generated ones (VIRTXLATE_QEMU_STARTS per test); where QEMU refuses,
  virtxlate must refuse.
- The XML `from-argv` reads back from virtxlate's argv must mean the same to libvirt:
  libvirt's argv of the read-back XML equals virtxlate's first argv.  So must the XML it
  reads back from libvirt's own command lines (the corpus's x86_64-latest .args files):
  libvirt 9.0 writes the same storage options and PCI controllers again, or the file is
  listed in tests/data/libvirt-readback-gaps.tsv with the reason.
.ci/run starts libvirtd (.ci/start-libvirtd)."""

from __future__ import annotations

import json
import os
import random
import shlex
import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import CONFORMANCE, DATA, SAMPLES, skip_when_no_emulator, virsh_run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from qemu_start import Budget
from test_libvirt import _libvirt_argv, libvirt_then_qemu, qemu_refuses
from test_placement import CASES as PLACEMENT_CASES
from test_round_trip import domains, placed_storage, places

from virtxlate.api import analyze, load
from virtxlate.argv.storage import device_driver, storage_options
from virtxlate.host import FixedHost
from virtxlate.native import domain_from_argv
from virtxlate.native.words import CommandLine, read_command_line

pytestmark = pytest.mark.integration

# the domains libvirt 9.0 defines and translates here (x86_64: QEMU 7.2 is what runs)
X86_SAMPLES = [
    p
    for p in sorted(SAMPLES.glob("*.xml"))
    if "arch='x86_64'" in p.read_text() or 'arch="x86_64"' in p.read_text()
]
EXAMPLES = int(os.environ.get("VIRTXLATE_LIBVIRT_EXAMPLES", "25"))
HOST = FixedHost()  # no CD-ROM drives and no SCSI devices, like this machine


def placed(words: list[str]) -> list[tuple[str, str]]:
    """PCI controllers and USB hubs, then storage options, as written."""
    wanted = places(words)
    controllers = [
        (flag, value)
        for flag, value in zip(words, words[1:], strict=False)
        if flag == "-device" and device_driver(value) in wanted
    ]
    return controllers + storage_options(words)


def _virsh(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    return virsh_run(binary, *args)  # (through libvirt-python: conftest.virsh_run)


def _domain_name() -> str:
    """A name no other run defines at the same time (parallel runs share libvirtd, and
    their tmp_path names repeat)."""
    return f"vx-defined-{uuid.uuid4().hex}"


def _defined(binary: str, xml: str, tmp_path: Path) -> str | None:
    """XML as libvirt keeps it once defined (None when libvirt refuses to define it)."""
    root = etree.fromstring(xml.encode())
    name = _domain_name()
    root.find("name").text = name
    for node in root.findall("uuid"):
        root.remove(node)
    path = tmp_path / "define.xml"
    path.write_bytes(etree.tostring(root))
    defined = _virsh(binary, "define", str(path))
    if defined.returncode != 0:
        skip_when_no_emulator(defined.stderr)
        return None
    try:
        dumped = _virsh(binary, "dumpxml", "--inactive", name)
        assert dumped.returncode == 0, dumped.stderr
        return dumped.stdout
    finally:
        _virsh(binary, "undefine", name)


def _ours(xml: str) -> list[str] | None:
    result = analyze(load(xml), "7.2", host=HOST)
    return result.argv if result.ok else None


def _theirs(binary: str, xml: str, tmp_path: Path, name: str) -> list[str] | None:
    path = tmp_path / name
    path.write_text(xml)
    words, _ = _libvirt_argv(binary, path)
    return words


_NEW_DISKS = (
    "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
    "<source file='/img/added-{n}.img'/><target dev='vd{letter}' bus='virtio'/></disk>",
    "<disk type='file' device='disk' model='virtio-transitional'><driver name='qemu' "
    "type='raw'/><source file='/img/added-t{n}.img'/><target dev='vd{letter}' "
    "bus='virtio'/></disk>",
)


def _with_new_disks(xml: str) -> str:
    """XML with two virtio disks (one transitional) that have no address yet."""
    root = etree.fromstring(xml.encode())
    devices = root.find("devices")
    taken = {t.get("dev") for t in root.iterfind("devices/disk/target")}
    letters = (c for c in "pqrstuvwxyz" if f"vd{c}" not in taken)
    for n, template in enumerate(_NEW_DISKS):
        devices.append(etree.fromstring(template.format(n=n, letter=next(letters))))
    return etree.tostring(root, encoding="unicode")


def _same_as_libvirt(
    binary: str, xml: str, tmp_path: Path, name: str, budget: Budget | None = None
) -> bool:
    """virtxlate's argv of XML equals libvirt's (asserted); False when libvirt refuses, or
    QEMU refuses libvirt's line (then virtxlate must refuse it too).  QEMU is started on
    libvirt's line unless BUDGET (a bounded sample of the generated domains) is spent."""
    path = tmp_path / name
    path.write_text(xml)
    theirs, why = libvirt_then_qemu(binary, path, budget.take() if budget else True)
    if theirs is None:
        if why.startswith("QEMU refuses"):
            assert _ours(xml) is None, f"virtxlate accepts what {why}\n{xml}"
        return False
    ours = _ours(xml)
    assert ours is not None, f"virtxlate refuses what libvirt translates: {name}"
    assert placed(ours) == placed(theirs), name
    return True


@pytest.mark.parametrize("sample", X86_SAMPLES, ids=lambda p: p.name)
def test_defined_domain_equals_libvirts(virsh, tmp_path, sample):  # noqa: F811
    dumped = _defined(virsh, sample.read_text(), tmp_path)
    if dumped is None:  # libvirt refuses the domain (needs-newer-qemu.xml): so must we
        assert _ours(sample.read_text()) is None
        return
    assert "type='pci'" in dumped
    assert _same_as_libvirt(virsh, dumped, tmp_path, "dumped.xml")
    assert _same_as_libvirt(virsh, _with_new_disks(dumped), tmp_path, "added.xml")


def _compare_generated(strategy, compare) -> None:  # type: ignore[no-untyped-def]
    """COMPARE(xml) on EXAMPLES domains drawn from STRATEGY; most must be compared (True:
    libvirt translated them), not refused."""
    compared = []

    # derandomized: the threshold below is checked on the same draws every run
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(xml=strategy)
    def check(xml):
        if compare(xml):
            compared.append(xml)

    check()
    assert len(compared) >= EXAMPLES // 2, len(compared)


def _defined_and_added(
    virsh: str,  # noqa: F811
    tmp_path: Path,
    xml: str,
    budget: Budget | None = None,
) -> bool:
    """XML as libvirt keeps it, then with two disks added, equal to libvirt's argv."""
    dumped = _defined(virsh, xml, tmp_path)
    if dumped is None or not _same_as_libvirt(virsh, dumped, tmp_path, "dumped.xml", budget):
        return False
    assert _same_as_libvirt(virsh, _with_new_disks(dumped), tmp_path, "added.xml", budget)
    return True


def test_generated_defined_domains_equal_libvirts(virsh, tmp_path_factory):  # noqa: F811
    budget = Budget()
    _compare_generated(
        domains(),
        lambda xml: _defined_and_added(virsh, tmp_path_factory.mktemp("defined"), xml, budget),
    )


@pytest.mark.parametrize("sample", X86_SAMPLES, ids=lambda p: p.name)
def test_read_back_means_the_same_to_libvirt(virsh, tmp_path, sample):  # noqa: F811
    first = _ours(sample.read_text())
    if _theirs(virsh, sample.read_text(), tmp_path, "first.xml") is None:
        assert first is None  # both refuse it
        return
    assert first is not None, "libvirt translates it, virtxlate refuses it"
    back = domain_from_argv(CommandLine(first[0], first[1:], str(sample)), host=HOST)
    theirs = _theirs(virsh, back.xml, tmp_path, "back.xml")
    assert theirs is not None, back.xml
    assert placed(theirs) == placed(first), back.xml


def test_placed_lists_controllers_first():
    words = shlex.split(
        "qemu -device pcie-root-port,id=pci.1,bus=pcie.0,addr=0x1 "
        "-device virtio-blk-pci,bus=pci.1,addr=0x0,drive=d,id=virtio-disk0 "
        "-device e1000,id=net0"
    )
    assert [flag for flag, _ in placed(words)] == ["-device", "-device"]
    assert json.dumps(placed(words)).count("pcie-root-port") == 1


def _readback_gaps() -> dict[str, str]:
    rows = (
        line.split("\t")
        for line in (DATA / "libvirt-readback-gaps.tsv").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    return {name: reason for name, reason in rows}


def test_corpus_read_back_means_the_same_to_libvirt(virsh, tmp_path, shared):  # noqa: F811
    gaps, same, differing = _readback_gaps(), [], {}
    # libvirt's test mocks: /dev/sg0 for every local SCSI host device
    mock = FixedHost(scsi_generic="/dev/sg0")
    for path in sorted(CONFORMANCE.glob("*/*.x86_64-latest.args")):
        command = read_command_line(path.read_text(), str(path))
        back = domain_from_argv(command, host=mock)
        # libvirt's tests name an emulator that is not installed here
        xml = back.xml.replace("/usr/bin/qemu-system-i686", "/usr/bin/qemu-system-x86_64")
        theirs = _theirs(virsh, xml, tmp_path, "corpus.xml")
        ours = [command.emulator or "", *command.words]
        if theirs is not None and placed_storage(theirs) == placed_storage(ours):
            same.append(path.name)
        else:
            differing[path.name] = "refused" if theirs is None else "differs"
    assert not {k: v for k, v in differing.items() if k not in gaps}
    assert not [name for name in same if name in gaps and not gaps[name].startswith("host:")]
    assert len(same) >= 30, same


def _pc_with_virtio_disks(count: int) -> str:
    disks = "".join(
        f"<disk type='file' device='disk'><driver name='qemu' type='raw'/><source "
        f"file='/img/{n}.img'/><target dev='vd{chr(97 + n // 26)}{chr(97 + n % 26)}' "
        "bus='virtio'/></disk>"
        for n in range(count)
    )
    return (
        "<domain type='qemu'><name>many</name><memory unit='MiB'>256</memory><os>"
        "<type arch='x86_64' machine='pc'>hvm</type></os><devices><emulator>"
        f"/usr/bin/qemu-system-x86_64</emulator>{disks}</devices></domain>"
    )


# around the root bus's 30 free slots and the 31 of each pci-bridge libvirt adds,
# including the counts where libvirt finds no slot for a bridge it adds (59, 89, 90)
@pytest.mark.parametrize("count", [27, 28, 29, 45, 58, 59, 60, 75, 88, 89, 90])
def test_a_full_root_bus_is_bridged_as_libvirt_bridges_it(virsh, tmp_path, count):  # noqa: F811
    xml = _pc_with_virtio_disks(count)
    if not _same_as_libvirt(virsh, xml, tmp_path, "many.xml"):
        assert _ours(xml) is None  # libvirt refuses: so does virtxlate


_PC = (
    "<domain type='qemu'><name>hand</name><memory unit='MiB'>256</memory><os><type "
    "arch='x86_64' machine='pc'>hvm</type></os><devices><emulator>"
    "/usr/bin/qemu-system-x86_64</emulator>{}</devices></domain>"
)
_VIRTIO = (
    "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source "
    "file='/img/{0}.img'/><target dev='{0}' bus='virtio'/></disk>"
)
_UEFI = (
    "<domain type='qemu'><name>hand</name><memory unit='MiB'>256</memory><os><type "
    "arch='x86_64' machine='{}'>hvm</type>{}</os><features><acpi/></features><devices>"
    "<emulator>/usr/bin/qemu-system-x86_64</emulator>" + _VIRTIO.format("vda") + "</devices>"
    "</domain>"
)
_CODE = "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>"
HAND_WRITTEN = {
    **{name: xml for name, (xml, _) in PLACEMENT_CASES.items()},
    # UEFI named by its files (issue 15.10): libvirt's pflash nodes
    "pc-uefi-code-and-vars": _UEFI.format(
        "pc", _CODE + "<nvram>/var/lib/libvirt/qemu/nvram/hand_VARS.fd</nvram>"
    ),
    "q35-uefi-default-vars": _UEFI.format("q35", _CODE),
    "q35-uefi-vars-source": _UEFI.format(
        "q35", _CODE + "<nvram type='file'><source file='/v/hand_VARS.fd'/></nvram>"
    ),
    "q35-uefi-writable": _UEFI.format(
        "q35", "<loader readonly='no' type='pflash'>/v/OVMF.fd</loader>"
    ),
    # a pci-bridge without an address takes the first free root slot before any device
    "pc-unaddressed-bridge": _PC.format(
        _VIRTIO.format("vda") + "<controller type='scsi' model='virtio-scsi'/>"
        "<controller type='pci' index='1' model='pci-bridge'/>" + _VIRTIO.format("vdb")
    ),
    "pc-two-bridges": _PC.format(
        _VIRTIO.format("vda") + "<controller type='pci' index='2' model='pci-bridge'/>"
        "<controller type='pci' index='1' model='pci-bridge'><address type='pci' bus='0' "
        "slot='9'/></controller>" + _VIRTIO.format("vdb")
    ),
}


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_hand_written_domains_equal_libvirts(virsh, tmp_path, name):  # noqa: F811
    # also keeps tests/test_placement.py's expectations true to the running libvirt
    # (QEMU is not started on the UEFI ones: qemu_start's null-co stand-in has 1 GiB, and
    # QEMU refuses system firmware larger than 8 MiB, a size of the file, not of the line)
    budget = Budget(0) if "uefi" in name else None
    assert _same_as_libvirt(virsh, HAND_WRITTEN[name], tmp_path, f"{name}.xml", budget)


# non-storage devices that take PCI places (or USB ports) before, between and after the
# disks in libvirt's order: they decide where the storage goes
_NON_STORAGE = [
    "<interface type='user'><model type='virtio'/></interface>",
    "<interface type='user'><model type='e1000e'/></interface>",
    "<interface type='user'><model type='rtl8139'/></interface>",
    "<interface type='user'><model type='virtio-transitional'/></interface>",
    "<controller type='virtio-serial'/>",
    "<sound model='ich9'/>",
    "<sound model='ich6'/>",
    "<video><model type='virtio' primary='yes'/></video>",
    "<video><model type='qxl'/></video>",
    "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>",
    "<watchdog model='i6300esb'/>",
    "<input type='tablet' bus='usb'/>",
    "<input type='keyboard' bus='virtio'/>",
    "<vsock model='virtio'><cid auto='yes'/></vsock>",
    "<filesystem type='mount' accessmode='passthrough'><source dir='/srv'/>"
    "<target dir='srv'/></filesystem>",
]


@st.composite
def vm_domains(draw) -> str:
    xml = draw(domains())
    extra = draw(st.lists(st.sampled_from(_NON_STORAGE), max_size=6))
    if "<video>" in "".join(extra) and "primary='yes'" not in "".join(extra):
        extra.insert(0, _NON_STORAGE[7])  # a second card needs a first
    return xml.replace("</devices>", "".join(extra) + "</devices>")


def test_storage_beside_other_devices_goes_where_libvirt_puts_it(
    virsh,  # noqa: F811
    tmp_path_factory,
):
    budget = Budget()

    def compare(xml: str) -> bool:
        tmp_path = tmp_path_factory.mktemp("vm")
        # as written, then as libvirt keeps it (every device addressed) with disks added
        return _same_as_libvirt(virsh, xml, tmp_path, "vm.xml", budget) and _defined_and_added(
            virsh, tmp_path, xml, budget
        )

    _compare_generated(vm_domains(), compare)


def _edited(dumped: str, seed: int) -> str:
    """A dumped domain as a user edits it: some addresses taken out (PCI controllers'
    ones too), some unused root ports removed."""
    chance = random.Random(seed)
    root = etree.fromstring(dumped.encode())
    for node in root.iterfind("devices/*"):
        address = node.find("address")
        if (
            address is not None
            and address.get("type") in ("pci", "usb", "drive")
            and chance.random() < 0.4
        ):
            node.remove(address)
    for node in root.findall("devices/controller[@model='pcie-root-port']"):
        on_it = root.xpath(f"devices/*/address[@type='pci'][@bus='{int(node.get('index')):#04x}']")
        if not on_it and chance.random() < 0.2:
            node.getparent().remove(node)
    return etree.tostring(root, encoding="unicode")


def test_edited_dumps_go_where_libvirt_puts_them(virsh, tmp_path_factory):  # noqa: F811
    budget = Budget()

    def compare(case: tuple[str, int]) -> bool:
        tmp_path = tmp_path_factory.mktemp("edited")
        dumped = _defined(virsh, case[0], tmp_path)
        if dumped is None:
            return False
        xml = _edited(dumped, case[1])
        path = tmp_path / "edited.xml"
        path.write_text(xml)
        theirs, why = libvirt_then_qemu(virsh, path, start_qemu=False)
        result = analyze(load(xml), "7.2", host=HOST)
        if theirs is None:  # libvirt refuses it: so must virtxlate
            assert not result.ok, xml
            return False
        if budget.take() and (refusal := qemu_refuses(theirs)) is not None:
            assert not result.ok, (refusal, xml)  # QEMU refuses libvirt's line: so must we
        # equal, even where QEMU would then refuse libvirt's command line (VX0302: a
        # bridge on a root port written after it)
        assert result.argv is not None, (result.findings, xml)
        assert placed(result.argv) == placed(theirs), xml
        return True

    _compare_generated(st.tuples(vm_domains(), st.integers(0, 2**32)), compare)


def test_defined_names_do_not_repeat():
    assert _domain_name() != _domain_name()


def test_generated_domains_are_the_same_every_run():
    """The "most must be compared" threshold is deterministic: the same draws each time."""
    runs: list[list[str]] = [[], []]
    for drawn in runs:
        _compare_generated(domains(), lambda xml, drawn=drawn: drawn.append(xml) or True)
    assert runs[0] and runs[0] == runs[1]
