"""The domain-wide options (props/domain.py: -machine … -boot, -sandbox, -msg) against
libvirt 9.0's own line, and the runtime-only list `compare` removes (argv/runtime.py).

tests/cases/domain-*.xml each hold one domain-wide feature (ACPI, q35 with vmport/smm,
<pm>, lifecycle, clock and timers, CPU model/features, host-passthrough, hyperv and kvm
hidden, ioapic, iothreads, <maxMemory> with NUMA, NUMA cells, memoryBacking, SMBIOS
sysinfo, -bios, -kernel/-initrd/-append, boot menu, topology); their .qemu-7.2.args come
from `virsh domxml-to-native` of libvirt 9.0 (tests/cases/README.md).
"""

from __future__ import annotations

import json

import pytest
from cases_support import CASES, args_words
from conftest import DATA

import virtxlate
from virtxlate.argv.runtime import RUNTIME_ONLY, options, without_runtime_only
from virtxlate.graph.render import graph_json

# the options props/domain.py writes (and the -object/-global kinds it writes)
DOMAIN_WIDE = frozenset(
    {
        "-name",
        "-S",
        "-machine",
        "-accel",
        "-cpu",
        "-bios",
        "-m",
        "-overcommit",
        "-smp",
        "-numa",
        "-uuid",
        "-smbios",
        "-display",
        "-no-user-config",
        "-nodefaults",
        "-rtc",
        "-no-hpet",
        "-no-shutdown",
        "-no-reboot",
        "-no-acpi",
        "-boot",
        "-kernel",
        "-initrd",
        "-append",
        "-dtb",
        "-sandbox",
        "-msg",
    }
)
DOMAIN_OBJECTS = ('"qom-type":"memory-backend-ram"', '"qom-type":"iothread"')


def _domain_wide(pairs: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    return [
        (flag, value)
        for flag, value in pairs
        if flag in DOMAIN_WIDE
        or (flag == "-object" and value is not None and value.startswith(DOMAIN_OBJECTS))
        or (flag == "-global" and value is not None and not value.startswith("isa-fdc."))
    ]


DOMAIN_CASES = sorted(CASES.glob("domain-*.qemu-7.2.args"))


def test_there_are_domain_cases():
    assert len(DOMAIN_CASES) >= 20


@pytest.mark.parametrize("expected", DOMAIN_CASES, ids=lambda p: p.name.split(".")[0])
def test_domain_wide_options_are_libvirts(expected):
    xml = expected.with_name(expected.name.split(".")[0] + ".xml")
    ours = virtxlate.analyze(virtxlate.load(xml), "7.2").argv
    assert ours is not None
    theirs = _domain_wide(without_runtime_only(args_words(expected.read_text())))
    assert theirs and theirs[0][0] == "-name"
    assert _domain_wide(options(ours)) == theirs


def _argv(xml: str, qemu: str) -> list[str]:
    argv = virtxlate.analyze(virtxlate.load(xml), qemu).argv
    assert argv is not None
    return argv


def _domain(body: str = "", machine: str = "pc") -> str:
    return (
        "<domain type='qemu'><name>d</name><memory unit='MiB'>256</memory>"
        f"<os><type arch='x86_64' machine='{machine}'>hvm</type></os>{body}"
        "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>"
    )


def _pci_types(xml: str, qemu: str) -> list[str]:
    graph = virtxlate.analyze(virtxlate.load(xml), qemu).graph
    assert graph is not None
    host = next(d for d in graph_json(graph)["root"]["devices"] if d["buses"])  # the PCI host
    return [d["type"] for d in host["buses"][0]["devices"]]


def test_without_acpi_qemu_7_2_gets_no_acpi_and_no_piix4_pm():
    """libvirt 9.0 writes -no-acpi where QEMU does not report ACPI per machine (7.2), and
    QEMU's pc_init1 then creates no PIIX4_PM (tests/cases/*-pc.qemu-7.2.qtree)."""
    assert "-no-acpi" in _argv(_domain(), "7.2")
    assert "PIIX4_PM" not in _pci_types(_domain(), "7.2")
    with_acpi = _domain("<features><acpi/></features>")
    assert "-no-acpi" not in _argv(with_acpi, "7.2")
    assert "PIIX4_PM" in _pci_types(with_acpi, "7.2")


def test_qemu_8_0_reports_acpi_so_the_machine_says_acpi_off():
    """From QEMU 8.0 query-machines reports acpi per machine (the tables' machine acpi);
    libvirt (9.2 on: the installed 9.0 has no acpi= yet) writes it last in -machine, as
    its own test data shows
    (../shared/conformance/libvirt/disk-virtio/disk-virtio.x86_64-latest.args:
    `-machine pc,usb=off,dump-guest-core=off,memory-backend=pc.ram,acpi=off`)."""
    argv = _argv(_domain(), "8.0")
    assert "-no-acpi" not in argv
    assert argv[argv.index("-machine") + 1] == (
        "pc-i440fx-8.0,usb=off,dump-guest-core=off,memory-backend=pc.ram,acpi=off"
    )
    assert "PIIX4_PM" not in _pci_types(_domain(), "8.0")
    acpi = _argv(_domain("<features><acpi/></features>"), "8.0")
    assert acpi[acpi.index("-machine") + 1].endswith(",acpi=on")
    assert "PIIX4_PM" in _pci_types(_domain("<features><acpi/></features>"), "8.0")


def test_before_libvirt_9s_releases_accel_is_a_machine_property():
    """QEMU 1.5: libvirt of its time wrote accel= in -machine, no -accel, -overcommit or
    -msg (its table has no msg-timestamp flag)."""
    argv = _argv(_domain(), "1.5")
    assert argv[argv.index("-machine") + 1] == "pc-i440fx-1.5,accel=tcg,usb=off"
    for flag in ("-accel", "-overcommit", "-msg", "-sandbox"):
        assert flag not in argv
    boot = argv.index("-boot")
    assert argv[boot - 1 : boot + 2] == ["-no-acpi", "-boot", "strict=on"]


def test_memory_backend_from_the_machines_default_ram_id():
    """QEMU 5.2 on names the machine's RAM back-end (default-ram-id): libvirt writes
    memory-backend=pc.ram and the object; 5.1 has none."""
    new = _argv(_domain(), "5.2")
    assert "memory-backend=pc.ram" in new[new.index("-machine") + 1]
    assert "memory-backend-ram,id=pc.ram,size=268435456" in new  # keyval before 6.2
    old = _argv(_domain(), "5.1")
    assert "memory-backend" not in " ".join(old)


def test_the_seed_at_7_2_is_libvirts_line_but_its_devices():
    seed = (DATA / "seed-virtio-scsi.xml").read_text()
    argv = _argv(seed, "7.2")
    assert argv[-4:] == [
        "-sandbox",
        "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
        "-msg",
        "timestamp=on",
    ]


def test_runtime_only_options_are_removed_with_their_reason():
    words = [
        "/usr/bin/qemu-system-x86_64",
        "-S",
        "-object",
        '{"qom-type":"secret","id":"masterKey0","format":"raw","file":"/x/master-key.aes"}',
        "-object",
        '{"qom-type":"secret","id":"sec0","format":"raw","file":"/s"}',
        "-chardev",
        "socket,id=charmonitor,fd=23,server=on,wait=off",
        "-mon",
        "chardev=charmonitor,id=monitor,mode=control",
        "-netdev",
        '{"type":"tap","fd":"27","vhost":true,"vhostfd":"29","id":"hostnet0"}',
        "-netdev",
        "tap,fd=27,id=hostnet1",
    ]
    assert without_runtime_only(words) == [
        ("-S", None),
        ("-object", '{"qom-type":"secret","id":"sec0","format":"raw","file":"/s"}'),
        # the dry run rebuilds every NIC as a tap: compared in that form
        ("-netdev", '{"type":"tap","fd":"<runtime:fd>","id":"hostnet0"}'),
        ("-netdev", '{"type":"tap","fd":"<runtime:fd>","id":"hostnet1"}'),
    ]
    assert all(entry.reason for entry in RUNTIME_ONLY)


def _libvirt_says(monkeypatch, argv):  # type: ignore[no-untyped-def]
    from virtxlate import live

    monkeypatch.setattr(live, "native_argv", lambda uri, xml: argv)


def test_compare_compares_the_whole_line_by_default(monkeypatch):
    from virtxlate import api

    seed = DATA / "seed-virtio-scsi.xml"
    ours = virtxlate.analyze(seed, "7.2").argv
    assert ours is not None
    monitor = ["-chardev", "socket,id=charmonitor,fd=9,server=on,wait=off"]
    theirs = [*ours[:3], *monitor, *ours[3:]]
    _libvirt_says(monkeypatch, theirs)
    assert api.compare_with_libvirt(seed, "qemu:///system", "7.2").agree
    # a domain-wide difference shows in the default view, not in the storage one
    other = [w.replace("timestamp=on", "timestamp=off") for w in theirs]
    _libvirt_says(monkeypatch, other)
    whole = api.compare_with_libvirt(seed, "qemu:///system", "7.2")
    assert not whole.agree
    assert "--msg timestamp=off" in whole.diff and "+-msg timestamp=on" in whole.diff
    assert api.compare_with_libvirt(seed, "qemu:///system", "7.2", storage=True).agree


def test_compare_cli_has_the_storage_view(monkeypatch, capsys):
    from virtxlate.cli import main

    seed = DATA / "seed-virtio-scsi.xml"
    ours = virtxlate.analyze(seed, "7.2").argv
    assert ours is not None
    _libvirt_says(monkeypatch, [w.replace("-no-acpi", "-no-hpet") for w in ours])
    args = ["compare", str(seed), "--connect", "qemu:///system", "--qemu", "7.2"]
    assert main(args) == 1
    assert "+-no-acpi" in capsys.readouterr().out
    assert main([*args, "--storage"]) == 0
    assert json.dumps(ours)  # the line virtxlate wrote is plain words


def test_qemu_8_2_writes_hpet_and_acpi_in_the_machine():
    """QEMU 5.2 on has the machine's hpet property (libvirt's machine-hpet flag, in the
    tables from 8.0): hpet=off there, no -no-hpet; libvirt writes it after the RAM
    back-end, before acpi= (a libvirt line for pc-q35-8.2 on qemu-devel:
    `-machine pc-q35-8.2,usb=off,smm=on,dump-guest-core=off,memory-backend=pc.ram,
    hpet=off,acpi=on`)."""
    xml = _domain(
        "<features><acpi/><smm state='on'/></features>"
        "<clock offset='utc'><timer name='hpet' present='no'/></clock>",
        machine="q35",
    )
    argv = _argv(xml, "8.2")
    assert argv[argv.index("-machine") + 1] == (
        "pc-q35-8.2,usb=off,smm=on,dump-guest-core=off,memory-backend=pc.ram,hpet=off,acpi=on"
    )
    assert "-no-hpet" not in argv


def test_arm_virt_machine_gets_its_gic_version():
    """libvirt's own aarch64 test data (../shared/conformance/libvirt/aarch64-virtio-pci-
    manual-addresses/*.aarch64-latest.args, a TCG domain without <gic>): `-machine
    virt,usb=off,gic-version=2,dump-guest-core=off,memory-backend=mach-virt.ram` and
    -no-acpi where QEMU does not report ACPI per machine."""
    xml = (DATA.parent.parent / "samples" / "seed-virtio-scsi.xml").read_text()
    xml = xml.replace("arch='x86_64' machine='pc'", "arch='aarch64' machine='virt'").replace(
        "qemu-system-x86_64", "qemu-system-aarch64"
    )
    argv = _argv(xml, "7.2")
    assert argv[argv.index("-machine") + 1] == (
        "virt-7.2,usb=off,gic-version=2,dump-guest-core=off,memory-backend=mach-virt.ram"
    )
    assert "-no-acpi" in argv
