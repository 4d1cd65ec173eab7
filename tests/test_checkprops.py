"""Every declaration of the model is read by some example (after virt-manager's
tests/test_checkprops.py): a field nobody reads is a mapping nobody tests, or one that
argv, tree and from-argv forgot.

The workload is what the examples are: every case of tests/cases and every sample of
samples/ analyzed (checks, command line and device graph) and checked for QEMU 7.2 and
the releases of its case files, and every libvirt command line of tests/cases read back
(from-argv).  While it runs, the descriptors of virtxlate.model (Field, Flag, Child,
Children, their subclasses and any other descriptor class it defines) record each read
(__get__) and write (__set__); the declarations no run read are listed, less UNREAD_TODAY
(a field from-argv only writes is named as such: nothing reads what it wrote).

New model classes (issue 17) are found by walking virtxlate.model: their fields appear
in the failure until a case reads them or UNREAD_TODAY says why not.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import pkgutil
from pathlib import Path

from cases_support import CASES, expected_files

import virtxlate.model
from virtxlate.api import analyze, check, load
from virtxlate.cli import main
from virtxlate.model.fields import Child, Children, Field, Flag, XmlObject

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
DESCRIPTORS = (Field, Flag, Child, Children)


def _is_declaration(value: object) -> bool:
    """A declaration: one of DESCRIPTORS, or any other descriptor virtxlate.model defines
    (a kind of declaration added later is recorded without naming it here)."""
    kind = type(value)
    return isinstance(value, DESCRIPTORS) or (
        kind.__module__.startswith("virtxlate.model") and hasattr(kind, "__get__")
    )


# "Class.field": why no example reads it today.  The lead extends this at merge for the
# classes of issue 17 that argv does not write yet; an entry that is read now, or whose
# field is gone, fails the test (remove it).
_RAW = "read as raw XML in {}, not through the field (issue 16 item 3 moves such reads)"
# no case or sample has <launchSecurity>: libvirt 9.0 refuses it on a host without SEV or
# s390 PV (a host fact, so no case file can be regenerated); tests/test_launch_security.py
# reads every field (argv, check, from-argv)
_LAUNCH_SECURITY = "<launchSecurity>: libvirt refuses it on hosts without SEV/PV, so no case"
_NUMATUNE = (
    "host-nodes and policy of the RAM back-ends, compared with libvirt in "
    "tests/test_memory_backing.py (a case's .args compares no memory object)"
)
UNREAD_TODAY: dict[str, str] = {
    "Domain.hugepage_pages": "the <page>s of <hugepages>: see HugePage.nodeset",
    "HugePage.nodeset": "which NUMA cells sit on hugepages, checked against libvirt's own "
    "test data in tests/test_memory_backing.py (libvirt here has no hugetlbfs, so no case)",
    "MemNode.cellid": _NUMATUNE,
    "MemNode.mode": _NUMATUNE,
    "MemNode.nodeset": _NUMATUNE,
    "NumaTune.memnodes": _NUMATUNE,
    "NumaTune.mode": _NUMATUNE,
    "NumaTune.nodeset": _NUMATUNE,
    "Domain.memory_allocation_threads": "the RAM back-end's prealloc-threads, compared "
    "with libvirt in tests/test_memory_backing.py (a case's .args compares no memory "
    "object)",
    "Domain.genid": "its vmgenid device is compared with libvirt in "
    "tests/test_machine_devices.py: a case's .args compares no such device",
    "BackingStore.index": "libvirt numbers a chain's -blockdev nodes itself, whatever "
    "index the XML gives (cases/backing-chain-pc: index='3' becomes libvirt-5)",
    "Domain.os_type": _RAW.format("api.py and rules/release.py"),
    "Disk.iotune": "not on libvirt 9.0's command line (cases/disk-snapshot-iotune-pc): it "
    "sets the limits over QMP once QEMU runs",
    "Disk.snapshot": "not on libvirt's command line (cases/disk-snapshot-iotune-pc): the "
    "default of snapshot commands",
    "Disk.transient": "not on libvirt 9.0's command line (cases/transient-disk-pc): it adds "
    "the overlay over QMP at start",
    "DiskSource.startup_policy": "acted on at start only, a missing source being dropped "
    "(cases/cdrom-startup-policy-pc)",
    "DiskSource.type": "<disk type='nvme'>'s source: argv writes no nvme disk "
    "(cases/nvme-disk-q35, a known gap)",
    "DiskSource.managed": "<disk type='nvme'>'s source (cases/nvme-disk-q35, a known gap)",
    "DiskSource.namespace": "<disk type='nvme'>'s source (cases/nvme-disk-q35, a known gap)",
    "DiskSource.path": "read by no code: the path of a source whose type is 'unix' (vhost-user "
    "disks, which argv does not write)",
    "DiskSource.pool": "<disk type='volume'>: libvirt looks the pool up on the host ('Storage "
    "pool not found'); virtxlate asks no host for it",
    "DiskSource.volume": "<disk type='volume'> (as DiskSource.pool)",
    "DiskSource.mode": "<disk type='volume'>'s iSCSI mode (as DiskSource.pool)",
    "Memballoon.stats_period": "not on libvirt 9.0's command line (cases/virtio-family-pc): "
    "it sets the period over QMP once QEMU runs",
    "RngBackend.protocol": "egd's <protocol type='raw'>, the only one: libvirt writes "
    "nothing for it (props/virtio.py)",
    **{
        f"LaunchSecurity.{name}": _LAUNCH_SECURITY
        for name in ("type", "kernel_hashes", "cbitpos", "reduced_phys_bits", "policy")
        + ("dh_cert", "session")
    },
}


# Classes declared for issue 17 whose device kind (or domain-wide part) argv, tree and
# from-argv do not handle yet: their unread fields are allowed.  An entry none of whose
# fields is unread any more fails the test (remove it).
NOT_WRITTEN_YET: tuple[str, ...] = (
    "Audio",
    "AudioDirection",
    "Channel",
    "CharHost",
    "CharSource",
    "Clock",
    "Codec",
    "Cpu",
    "Features",
    "Filesystem",
    "FilesystemDriver",
    "Graphics",
    "HostdevSource",
    "IOThreadIds",
    "Input",
    "Interface",
    "InterfaceDriver",
    "InterfaceGuestOffloads",
    "InterfaceHostOffloads",
    "InterfaceSource",
    "Listen",
    "Loader",
    "MemorySource",
    "MemoryTarget",
    "NumaCell",
    "Nvram",
    "RedirFilterRule",
    "Shmem",
    "Smartcard",
    "SpiceChannel",
    "Timer",
    "TpmBackend",
    "VideoDriver",
    "VideoModel",
    "Vsock",
)
# Fields of classes argv already reads, declared for issue 17's devices and domain-wide
# options (or read as raw XML by placement until it reads the model): the same rule.
NOT_READ_YET: tuple[str, ...] = (
    "Address.base",
    "Address.irq",
    "Address.reg",
    "Controller.bus_nr",
    "Controller.numa_node",
    "Controller.pcihole64",
    "Controller.pcihole64_unit",
    "Controller.target_index",
    "Device.boot_loadparm",
    "Domain.current_memory",
    "Domain.current_memory_unit",
    "Domain.description",
    "Domain.on_lockfailure",
    "Domain.title",
    "Domain.vcpu_cpuset",
    "Domain.vcpu_placement",
    "Hostdev.managed",
    "Hostdev.mode",
    "Hostdev.rawio",
    "Hostdev.sgio",
    "Hostdev.shareable",
    "Hostdev.teaming_type",
    "Os.acpi_table",
    "Os.acpi_table_type",
    "Os.arch",
    "Os.machine",
    "Os.nvram",
    "Os.root",
    "Os.type",
)


def _model_classes() -> list[type]:
    """Every XmlObject subclass of virtxlate.model, its submodules imported first."""
    for module in pkgutil.walk_packages(virtxlate.model.__path__, "virtxlate.model."):
        importlib.import_module(module.name)
    found: list[type] = []
    todo = [XmlObject]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.append(sub)
                todo.append(sub)
    return [cls for cls in found if cls.__module__.startswith("virtxlate.model")]


def declarations() -> dict[int, str]:
    """id(descriptor) → "Class.attribute" for every declaration, named by the class that
    declares it (an inherited field is one declaration)."""
    named: dict[int, str] = {}
    for cls in _model_classes():
        for name, value in vars(cls).items():
            if _is_declaration(value):
                named.setdefault(id(value), f"{cls.__name__}.{name}")
    return named


def _descriptor_types(named: dict[int, str]) -> set[type]:
    """The classes whose __get__/__set__ a declaration's access goes through."""
    kinds: set[type] = set()
    for cls in _model_classes():
        for value in vars(cls).values():
            if _is_declaration(value):
                kinds.update(
                    k for k in type(value).__mro__ if "__get__" in vars(k) or "__set__" in vars(k)
                )
    return kinds


def _record(monkeypatch, kinds: set[type], seen: set[int], written: set[int] | None = None) -> None:
    """Patch KINDS so that reading a declaration adds its id to SEEN, writing to WRITTEN."""
    for kind in kinds:
        for method, into in (("__get__", seen), ("__set__", written)):
            original = vars(kind).get(method)
            if original is None or into is None:
                continue

            def wrapper(self, obj, *rest, _original=original, _into=into):
                if obj is not None:
                    _into.add(id(self))
                return _original(self, obj, *rest)

            monkeypatch.setattr(kind, method, wrapper)


def _quiet_main(*args: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(list(args))


def _translate_examples() -> int:
    """Run every example through what virtxlate does with a domain; how many ran."""
    versions: dict[Path, set[str]] = {}
    for kind in ("args", "qtree", "err"):
        for expected in expected_files(kind):
            versions.setdefault(expected.xml, set()).add(expected.qemu)
    for sample in sorted(SAMPLES.glob("*.xml")):
        versions[sample] = {"7.2"}
    for xml, releases in versions.items():
        domain = load(xml)
        for release in sorted(releases | {"7.2"}):
            analyze(domain, release)
        check(load(xml), sorted(releases | {"7.2"}))
    for args in sorted(CASES.glob("*.qemu-7.2.args")):
        _quiet_main("from-argv", str(args))
    for args in sorted(SAMPLES.glob("*.args")):
        _quiet_main("from-argv", str(args))
    return len(versions)


def test_every_declared_field_is_read_by_an_example(monkeypatch):
    named = declarations()
    assert len(named) > 50, "virtxlate.model declares fewer fields than it did"
    seen: set[int] = set()
    written: set[int] = set()
    _record(monkeypatch, _descriptor_types(named), seen, written)
    assert _translate_examples() > 30
    read = {named[key] for key in seen if key in named}
    declared = set(named.values())
    allowed = set(UNREAD_TODAY) | set(NOT_READ_YET)
    unread = sorted(
        name for name in declared - read - allowed if name.split(".")[0] not in NOT_WRITTEN_YET
    )
    only_written = sorted({named[key] for key in written if key in named} & set(unread))
    assert unread == [], (
        f"{len(unread)} declared fields no example reads: add a case to tests/cases "
        f"that uses them, or say why not in UNREAD_TODAY: {unread} "
        f"(of them, from-argv writes {only_written})"
    )
    stale = sorted(name for name in allowed if name in read or name not in declared)
    stale += [
        cls
        for cls in NOT_WRITTEN_YET
        if not any(n.split(".")[0] == cls and n not in read for n in declared)
    ]
    assert stale == [], f"UNREAD_TODAY names fields read now or no longer declared: {stale}"


def test_recording_sees_a_read_and_a_write(monkeypatch):
    """The instrument itself: a field read, a flag written, a child read are seen."""
    named = declarations()
    seen: set[int] = set()
    written: set[int] = set()
    _record(monkeypatch, _descriptor_types(named), seen, written)
    domain = load(
        "<domain type='qemu'><devices><disk type='file' device='disk'>"
        "<source file='/a.img'/><target dev='vda' bus='virtio'/></disk></devices></domain>"
    )
    disk = domain.disks[0]
    assert disk.target is not None and disk.target.dev == "vda"
    disk.readonly = True
    assert {"Disk.target", "DiskTarget.dev", "Domain.disks"} <= {named[key] for key in seen}
    assert {named[key] for key in written} == {"Disk.readonly"}


def test_a_new_model_class_is_declared():
    """A class added to virtxlate.model (issue 17's devices) is found without naming it."""
    fake = type("FakeDevice", (XmlObject,), {"queues": Field("@queues"), "__module__": __name__})
    fake.__module__ = "virtxlate.model.fake"
    try:
        assert "FakeDevice.queues" in declarations().values()
    finally:
        del fake
        gc.collect()
