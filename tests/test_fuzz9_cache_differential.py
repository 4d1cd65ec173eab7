"""The caches and deferrals of issue 18 (reads kept in model objects, deferred option
bodies, per-table kept lists, the batch's stream splitter) against answers no cache fed:
tools/cache_differential.py with small counts (its docstring says the six ways; long runs
use the script).  Mutants of the repository's own domains only: no ../shared needed."""

from __future__ import annotations

import copy
import random
import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
import cache_differential as cd  # noqa: E402

SEED = 9
COUNT = 80  # mutants per in-process way (each way ~1 s)
BATCH = 24  # mutants through the batch, the stream and a process each (~8 s)


@pytest.fixture(scope="module")
def made() -> list[tuple[str, bytes, list[str]]]:
    return cd.mutants(SEED, max(COUNT, BATCH))


def _said(differences: list[cd.Difference]) -> str:
    return "\n".join(str(d) for d in differences)


def test_mutants_are_varied(made: list[tuple[str, bytes, list[str]]]) -> None:
    """The draw reaches several groups of bases and edits them (a differential over one
    unchanged domain would prove little)."""
    bases = {name.split("-", 2)[2] for name, _, _ in made}
    assert len(bases) >= COUNT // 2
    assert sum(bool(edits) for _, _, edits in made) >= COUNT // 2


@pytest.mark.parametrize(
    "way",
    [
        pytest.param(cd.way_multi, id="1-releases-in-one-call"),
        pytest.param(cd.way_reuse, id="2-check-analyze-same-domain"),
        pytest.param(cd.way_uncached, id="5-no-kept-reads"),
        pytest.param(cd.way_agree, id="6-check-agrees-with-analyze"),
    ],
)
def test_in_process_way(way, made: list[tuple[str, bytes, list[str]]]) -> None:  # type: ignore[no-untyped-def]
    differences = [d for name, data, _ in made[:COUNT] for d in way(name, data)]
    assert differences == [], _said(differences)


def test_releases_in_any_order_in_one_call(made: list[tuple[str, bytes, list[str]]]) -> None:
    """Way 1 with 2–6 releases drawn in a random order (sometimes one twice; 2.12 and
    2.11 are one table): each release's findings are those of a call of its own."""
    differences = [
        d
        for index, (name, data, _) in enumerate(made[:COUNT])
        for d in cd.way_multi(name, data, cd.release_set(random.Random(SEED + index)))
    ]
    assert differences == [], _said(differences)


def test_writes_through_the_model(made: list[tuple[str, bytes, list[str]]]) -> None:
    """Way 4: after check and analyze of a Domain, writes through the model; its device
    lists, check and analyze against a fresh load of the written tree."""
    pool = cd.value_pool(cd.corpus())
    differences = [
        d
        for index, (name, data, _) in enumerate(made[:COUNT])
        for d in cd.way_writes(name, data, index, pool)
    ]
    assert differences == [], _said(differences)


def test_batch_and_stream_against_a_process_each(
    made: list[tuple[str, bytes, list[str]]], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Way 3: one batch over a directory and one stream on stdin, in a shuffled order,
    against `virtxlate check FILE --format json` in a fresh process per domain."""
    chosen = made[:BATCH]
    random.Random(SEED).shuffle(chosen)
    differences = cd.way_batch(chosen, workdir=str(tmp_path), seed=SEED)
    assert differences == [], _said(differences)


# --- the differential can fail -------------------------------------------------------------

_DOMAIN = (REPO / "samples" / "q35-storage.xml").read_bytes()


def test_a_stale_read_is_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    """With writes no longer dropping kept reads (note_write a no-op), way 4 finds the
    written domain's answers differ from a fresh load's."""
    from virtxlate.model import fields

    assert cd.way_writes("q35-storage", _DOMAIN, 0) == []
    monkeypatch.setattr(fields, "note_write", lambda: None)
    found = [d for seed in range(6) for d in cd.way_writes("q35-storage", _DOMAIN, seed)]
    assert found, "no difference seen with note_write disabled"
    assert all(d.way == "4" for d in found)


def test_uncached_reads_the_tree_at_each_use() -> None:
    """uncached() (way 5's reference) reads an lxml edit made without note_write(); outside
    it the kept read answers, as documented in model/fields.py."""
    domain = cd._load(_DOMAIN)
    disk = domain.disks[0]
    written = disk.bus
    other = "sata" if written != "sata" else "scsi"
    disk.element.find("target").set("bus", other)
    assert disk.bus == written  # kept: no note_write()
    with cd.uncached():
        assert disk.bus == other
        assert disk.target.bus == other
        before = len(domain.devices)
        domain.element.find("devices").append(copy.deepcopy(disk.element))
        assert len(domain.devices) == before + 1
        assert len(domain.disks) == len([e for e in domain.element.iter("disk")])


def test_a_lost_release_is_seen() -> None:
    """Way 1 names the release whose findings differ (here: a call that drops the last
    release's findings, as a cache keyed without the table would)."""
    import virtxlate.api as api

    real = api.check

    def dropping(domain, releases=(), *args, **kwargs):  # type: ignore[no-untyped-def]
        common, per = real(domain, releases, *args, **kwargs)
        if len(per) > 1:
            per = per[:-1] + [(per[-1][0], per[0][1])]
        return common, per

    text = (REPO / "samples" / "nova-guest.xml").read_bytes()  # (1.5 refuses its machine)
    assert cd.way_multi("nova-guest", text) == []
    try:
        api.check = dropping
        found = cd.way_multi("nova-guest", text)
    finally:
        api.check = real
    assert [d.what for d in found] == ["check --qemu 10.0"]


# --- defects the differential found, fixed (graph/build.py _bus_for) ----------------------


# libvirt 9.0 refuses each: `virsh domxml-to-native qemu-argv` says "XML error: No PCI buses
# available" for isapc, microvm, none and x-remote (the default virtio memballoon needs a
# PCI bus, and libvirt sees none on these machines)
def _bare(machine: str) -> str:
    return (
        "<domain type='qemu'><name>m</name><memory unit='MiB'>64</memory>"
        f"<os><type arch='x86_64' machine='{machine}'>hvm</type></os><devices/></domain>"
    )


def _verdicts(machine: str, release: str) -> tuple[list[str], bool]:
    from virtxlate.api import analyze, check

    common, per = check(_bare(machine), [release])
    return [f.code for f in common + per[0][1] if f.is_error], analyze(_bare(machine), release).ok


@pytest.mark.parametrize("release", ["1.5", "7.2"])
def test_isapc_refused_by_check_and_analyze(release: str) -> None:
    """Where the table has isapc's own family (root bus isa.0), both refuse."""
    assert _verdicts("isapc", release) == (["VX0302"], False)


@pytest.mark.parametrize(
    ("machine", "release"),
    [
        ("isapc", "2.12"),
        ("isapc", "10.0"),
        ("microvm", "7.2"),
        ("none", "7.2"),
        ("x-remote", "7.2"),
    ],
)
def test_no_pci_machine_refused_by_analyze_as_by_check(machine: str, release: str) -> None:
    """Way 6 (seed 21, mutant 1405: isapc): check refuses the default balloon of a domain
    whose machine has no PCI bus, for every release; analyze (`tree`: graph built) built
    a graph and said nothing where the table has no family of the machine: it falls in
    the family "other", whose root bus 'none' is of type System, and graph/build.py's
    _bus_for put a PCI device on any root bus that is not ISA, where
    rules/graph_refusals.py asks for a PCI or PCIE root, as _bus_for now does."""
    assert _verdicts(machine, release) == (["VX0302"], False)


def _errors(machine: str, release: str) -> tuple[list[tuple[str, str, str]], ...]:
    from virtxlate.api import analyze, check

    common, per = check(_bare(machine), [release])
    return tuple(
        [(f.code, f.message, f.xpath) for f in found if f.is_error]
        for found in (common + per[0][1], analyze(_bare(machine), release).findings)
    )


@pytest.mark.parametrize(("machine", "release"), [("isapc", "1.5"), ("isapc", "7.2")])
def test_no_pci_machine_same_finding_from_check_and_analyze(machine: str, release: str) -> None:
    """Way 6: where both refuse isapc's balloon, check words the refusal as libvirt's
    ('No PCI buses available', which it says first) and analyze as QEMU's: one finding
    should read the same whichever command a user runs."""
    checked, analyzed = _errors(machine, release)
    assert checked == analyzed


@pytest.mark.parametrize("machine", ["isapc", "microvm"])
def test_a_users_qemu_line_is_refused_in_qemus_terms_not_libvirts(machine: str) -> None:
    """The graph of a QEMU line the user wrote (from-argv, graph_of_argv) involves no
    libvirt: the same refusal names the missing bus, not libvirt's error."""
    from virtxlate import api
    from virtxlate.native.words import read_command_line

    command = read_command_line(
        f"qemu-system-x86_64 -machine {machine} -device virtio-balloon-pci,id=b", "x.args"
    )
    result = api.graph_of_argv(command, "7.2")
    assert result.graph is None
    assert [(f.code, f.message) for f in result.findings] == [
        ("VX0302", "-device virtio-balloon-pci needs bus= (no PCI bus to put it on)")
    ]


@pytest.mark.integration
@pytest.mark.parametrize("machine", ["isapc", "microvm", "none", "x-remote"])
def test_libvirt_refuses_a_machine_without_pci(tmp_path, virsh, machine: str) -> None:
    """The fact the no-PCI refusals rest on, asked of libvirt 9.0: its dry run refuses the
    default balloon of such a domain before QEMU could."""
    from conftest import virsh_run

    path = tmp_path / "d.xml"
    path.write_text(_bare(machine))
    answer = virsh_run(virsh, "domxml-to-native", "qemu-argv", str(path))
    assert answer.returncode != 0 and "No PCI buses available" in answer.stderr


@pytest.mark.integration
@pytest.mark.parametrize("machine", ["isapc", "microvm"])
def test_qemu_refuses_a_pci_device_without_pci(qemu_binary: str, machine: str) -> None:
    """The fact graph_of_argv's refusal rests on, asked of QEMU 7.2 itself (paused, no
    display): a PCI device on a machine without a PCI bus is refused at start."""
    import subprocess

    answer = subprocess.run(
        [qemu_binary, "-machine", machine, "-accel", "tcg", "-nodefaults", "-display", "none",
         "-S", "-monitor", "none", "-device", "virtio-balloon-pci,id=b"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert answer.returncode != 0
    assert "No 'PCI' bus found for device 'virtio-balloon-pci'" in answer.stderr
