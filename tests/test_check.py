"""`virtxlate check`: each rule fires on a domain that breaks it and not on one that keeps it."""

from __future__ import annotations

import json

import pytest
from conftest import SAMPLES, run_cli

from virtxlate import caps
from virtxlate.api import check, load
from virtxlate.rules import check_domain

SEED = SAMPLES / "seed-virtio-scsi.xml"


def _domain(devices: str, head: str = "", machine: str = "pc") -> str:
    return (
        f"<domain type='qemu'><name>t</name>{head}"
        f"<os><type arch='x86_64' machine='{machine}'>hvm</type></os>"
        f"<devices>{devices}</devices></domain>"
    )


def _disk(dev: str, bus: str, extra: str = "", kind: str = "file", device: str = "disk") -> str:
    source = "<source file='/a.img'/>" if kind == "file" else "<source dev='/dev/sdz'/>"
    return (
        f"<disk type='{kind}' device='{device}'><driver name='qemu' type='raw'/>{source}"
        f"<target dev='{dev}' bus='{bus}'/>{extra}</disk>"
    )


SCSI = "<controller type='scsi' index='0' model='virtio-scsi'/>"

# rule code → (a domain that triggers it, a close domain that does not)
CASES = {
    "VX0101": (
        _domain(_disk("sda", "scsi").replace("bus='scsi'", "bus='scsii'")),
        _domain(_disk("sda", "scsi")),
    ),
    "VX0201": (
        _domain(_disk("sda", "scsi") + _disk("sda", "scsi")),
        _domain(_disk("sda", "scsi") + _disk("sdb", "scsi")),
    ),
    "VX0202": (
        _domain(
            _disk("sda", "scsi")
            + _disk(
                "sdb", "scsi", "<address type='drive' controller='0' bus='0' target='0' unit='0'/>"
            )
        ),
        _domain(
            _disk("sda", "scsi")
            + _disk(
                "sdb", "scsi", "<address type='drive' controller='0' bus='0' target='0' unit='1'/>"
            )
        ),
    ),
    "VX0203": (
        _domain("<controller type='scsi' model='lsilogic2'/>"),
        _domain("<controller type='scsi' model='lsilogic'/>"),
    ),
    "VX0204": (_domain(_disk("sd1", "scsi")), _domain(_disk("sdb", "scsi"))),
    # 58 virtio disks and the balloon on QEMU 1.2's pc (29 free root slots): one more than
    # libvirt's dry run plus one pci-bridge hold, and no slot left for the bridge itself
    "VX0205": (
        _domain(
            "".join(_disk(f"vd{chr(97 + i // 26)}{chr(97 + i % 26)}", "virtio") for i in range(58))
        ),
        _domain(
            "".join(_disk(f"vd{chr(97 + i // 26)}{chr(97 + i % 26)}", "virtio") for i in range(20))
        ),
    ),
    "VX0206": (
        _domain("<controller type='scsi' model='lsilogic'><driver queues='2'/></controller>"),
        _domain(
            "<controller type='scsi' model='virtio-scsi'><driver queues='2'/></controller>",
            head="<vcpu>2</vcpu>",
        ),
    ),
    "VX0207": (
        _domain(
            "<controller type='scsi' model='virtio-scsi'><driver iothread='2'/></controller>",
            head="<iothreads>1</iothreads>",
        ),
        _domain(
            "<controller type='scsi' model='virtio-scsi'><driver iothread='1'/></controller>",
            head="<iothreads>1</iothreads>",
        ),
    ),
    "VX0208": (
        _domain(
            _disk("sda", "scsi").replace("type='raw'", "type='raw' iothread='1'"),
            head="<iothreads>1</iothreads>",
        ),
        _domain(
            _disk("vda", "virtio").replace("type='raw'", "type='raw' iothread='1'"),
            head="<iothreads>1</iothreads>",
        ),
    ),
    "VX0209": (
        _domain(
            _disk(
                "vda",
                "virtio",
                "<address type='drive' controller='0' bus='0' target='0' unit='0'/>",
            )
        ),
        _domain(
            _disk("vda", "virtio", "<address type='pci' domain='0' bus='0' slot='5' function='0'/>")
        ),
    ),
    "VX0210": (
        _domain(SCSI + _disk("sda", "scsi", device="lun")),
        _domain(SCSI + _disk("sda", "scsi", kind="block", device="lun")),
    ),
    "VX0212": (
        _domain(_disk("sda", "scsi", "<serial>S1</serial>", kind="block", device="lun")),
        _domain(_disk("vda", "virtio", "<serial>S1</serial>", kind="block", device="lun")),
    ),
    "VX0213": (
        _domain(_disk("vda", "virtio").replace("type='raw'", "type='raw' io='native'")),
        _domain(
            _disk("vda", "virtio").replace("type='raw'", "type='raw' io='native' cache='none'")
        ),
    ),
    "VX0214": (
        _domain(
            _disk("vda", "virtio", "<shareable/>").replace(
                "type='raw'", "type='qcow2' cache='none'"
            )
        ),
        _domain(
            _disk("vda", "virtio", "<shareable/><readonly/>").replace("type='raw'", "type='qcow2'")
        ),
    ),
    "VX0215": (
        _domain(_disk("hda", "ide"), machine="q35"),
        _domain(_disk("sda", "sata"), machine="q35"),
    ),
    "VX0216": (
        _domain(_disk("vda", "virtio", device="cdrom")),
        _domain(_disk("sda", "scsi", device="cdrom")),
    ),
    "VX0217": (
        _domain(_disk("hda", "ide", "<readonly/>")),
        _domain(_disk("hdc", "ide", "<readonly/>", device="cdrom")),
    ),
    "VX0218": (
        _domain(_disk("vda", "virtio", "<wwn>5000c50015ea71ac</wwn>")),
        _domain(_disk("hda", "ide", "<wwn>5000c50015ea71ac</wwn>")),
    ),
    "VX0219": (
        _domain(
            _disk("vda", "virtio", "<boot order='1'/>")
            + _disk("vdb", "virtio", "<boot order='1'/>")
        ),
        _domain(
            _disk("vda", "virtio", "<boot order='1'/>")
            + _disk("vdb", "virtio", "<boot order='2'/>")
        ),
    ),
    "VX0220": (
        _domain(
            _disk("vda", "virtio", "<address type='pci' domain='0' bus='0' slot='5' function='1'/>")
            + _disk(
                "vdb", "virtio", "<address type='pci' domain='0' bus='0' slot='5' function='1'/>"
            )
        ),
        _domain(
            _disk("vda", "virtio", "<address type='pci' domain='0' bus='0' slot='5' function='1'/>")
        ),
    ),
    "VX0221": (
        _domain(
            _disk("vda", "virtio", "<address type='pci' domain='0' bus='0' slot='1' function='1'/>")
        ),
        _domain(
            "<controller type='ide' index='0'><address type='pci' domain='0' "
            "bus='0' slot='1' function='1'/></controller>"
        ),
    ),
    "VX0222": (
        _domain("", head="<iothreads>100000</iothreads>"),
        _domain("", head="<iothreads>4</iothreads>"),
    ),
    # libvirt 9.0: "No master USB controller specified"
    "VX0223": (
        _domain("<controller type='usb' index='0' model='ich9-uhci1'/>"),
        _domain(
            "<controller type='usb' index='0' model='ich9-ehci1'/>"
            "<controller type='usb' index='0' model='ich9-uhci1'/>"
        ),
    ),
    # libvirt 9.0: "UEFI requires ACPI on this architecture"
    "VX0224": (
        _domain("").replace("</os>", "<loader readonly='yes' type='pflash'>/c.fd</loader></os>"),
        _domain("").replace(
            "</os>",
            "<loader readonly='yes' type='pflash'>/c.fd</loader></os><features><acpi/></features>",
        ),
    ),
    "VX0301": (_domain("", machine="pc-i440fx-1.5"), _domain("", machine="pc-1.2")),
    "VX0303": (
        _domain("<controller type='scsi' model='vmpvscsi'/>"),
        _domain("<controller type='scsi' model='lsilogic'/>"),
    ),
    "VX0304": (
        _domain(
            "<controller type='scsi' model='lsilogic'/>"
            + _disk(
                "sda", "scsi", "<address type='drive' controller='0' bus='0' target='1' unit='0'/>"
            )
        ),
        _domain(
            "<controller type='scsi' model='virtio-scsi'/>"
            + _disk(
                "sda", "scsi", "<address type='drive' controller='0' bus='0' target='1' unit='0'/>"
            )
        ),
    ),
    # libvirt 9.0 writes dc-390, which QEMU refuses (tests/data/libvirt-9.0/scsi-dc390.args)
    "VX0306": (
        _domain("<controller type='scsi' model='dc390'/>"),
        _domain("<controller type='scsi' model='am53c974'/>"),
    ),
    "VX0401": (
        _domain(
            SCSI.replace("/>", "><driver iothread='1'/></controller>")
            + "<controller type='scsi' index='1' model='virtio-scsi'/>"
            + _disk("sda", "scsi")
            + _disk(
                "sdb", "scsi", "<address type='drive' controller='1' bus='0' target='0' unit='0'/>"
            ),
            head="<iothreads>1</iothreads>",
        ),
        _domain(
            SCSI.replace("/>", "><driver iothread='1'/></controller>")
            + "<controller type='scsi' index='1' model='virtio-scsi'/>"
            + _disk("sda", "scsi"),
            head="<iothreads>1</iothreads>",
        ),
    ),
    "VX0402": (
        _domain(SCSI.replace("/>", "><driver queues='4'/></controller>"), head="<vcpu>2</vcpu>"),
        _domain(SCSI.replace("/>", "><driver queues='2'/></controller>"), head="<vcpu>2</vcpu>"),
    ),
    "VX0403": (
        _domain(
            "".join(
                _disk(f"vd{c}", "virtio").replace("type='raw'", "type='raw' iothread='1'")
                for c in "abcde"
            ),
            head="<iothreads>2</iothreads>",
        ),
        _domain(
            "".join(
                _disk(f"vd{c}", "virtio").replace("type='raw'", "type='raw' iothread='1'")
                for c in "abcd"
            ),
            head="<iothreads>2</iothreads>",
        ),
    ),
    "VX0404": (
        _domain(_disk("vda", "virtio", "<shareable/>")),
        _domain(
            _disk("vda", "virtio", "<shareable/>").replace("type='raw'", "type='raw' cache='none'")
        ),
    ),
}


def _codes(xml: str, versions=("1.2",)) -> list[str]:
    common, per_release = check(load(xml), list(versions))
    return [f.code for f in common + [f for _, found in per_release for f in found]]


# rules whose cases need a later release than 1.2 (q35, am53c974)
# (and those with iothreads, which QEMU has from 2.1)
RELEASE_OF_CASE = {
    "VX0215": ("7.2",),
    "VX0306": ("7.2",),
    "VX0207": ("7.2",),
    "VX0208": ("7.2",),
    "VX0222": ("7.2",),
    "VX0401": ("7.2",),
    "VX0403": ("7.2",),
    # the ich9 USB controllers, which libvirt writes always: QEMU 1.2's table (read from
    # its replies for storage) does not record them (VX0307)
    "VX0223": ("7.2",),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_fires_and_holds(code):
    bad, good = CASES[code]
    versions = RELEASE_OF_CASE.get(code, ("1.2",))
    assert code in _codes(bad, versions), _codes(bad, versions)
    assert not _codes(good, versions), _codes(good, versions)


def test_since_names_the_first_release_with_it():
    # pvscsi first appears in 1.5 (QOM-FACTS.md §1); libvirt's caps of 1.3.1 already show
    # the q35 alias (of the q35-next preview machine)
    findings = check_domain(load(CASES["VX0303"][0]), [caps.load("1.2")])
    assert [(f.code, f.since) for f in findings] == [("VX0303", "1.5")]
    q35 = check_domain(load(_domain("", machine="q35")), [caps.load("1.2")])
    assert [(f.code, f.since) for f in q35] == [("VX0301", "1.3")]
    assert check_domain(load(_domain("", machine="q35")), [caps.load("1.5")]) == []


def test_reservations_need_the_pr_manager_helper():
    # QEMU 2.11 added the pr-manager-helper object (libvirt's QEMU_CAPS_PR_MANAGER_HELPER
    # is first set in its 2.11.0 capabilities, ../shared/qemu-caps/STORAGE-FLAGS.tsv)
    lun = _disk("sda", "scsi", kind="block", device="lun").replace(
        "<source dev='/dev/sdz'/>", "<source dev='/dev/sdz'><reservations managed='yes'/></source>"
    )
    findings = check_domain(load(_domain(SCSI + lun)), [caps.load("2.10")])
    assert [(f.code, f.since, f.xpath) for f in findings] == [
        ("VX0303", "2.11", "/domain/devices/disk/source/reservations")
    ]
    assert check_domain(load(_domain(SCSI + lun)), [caps.load("2.11")]) == []


def test_finding_points_at_the_offending_attribute(tmp_path):
    path = tmp_path / "g.xml"
    path.write_text(CASES["VX0206"][0].replace("<driver", "\n<driver"))
    result = run_cli("check", str(path), "--format", "json")
    assert result.returncode == 1
    (finding,) = json.loads(result.stdout)
    assert finding["code"] == "VX0206"
    assert finding["line"] == 2
    assert finding["xpath"] == "/domain/devices/controller/driver/@queues"
    assert finding["source"] == str(path)
    assert set(finding) == {
        "code",
        "severity",
        "message",
        "source",
        "line",
        "xpath",
        "hint",
        "since",
    }


def test_text_report_shows_line_and_caret(tmp_path):
    path = tmp_path / "g.xml"
    path.write_text(CASES["VX0206"][0].replace("<driver", "\n<driver"))
    result = run_cli("check", str(path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{path}:2: error: VX0206: 'queues' is only supported")
    source_line = next(i for i, line in enumerate(lines) if line.startswith("  | <driver"))
    caret = lines[source_line + 1]
    assert caret.index("^") == lines[source_line].index("queues")


def test_clean_domain_exits_0():
    result = run_cli("check", str(SEED), "--qemu", "1.5")
    assert result.returncode == 0
    assert result.stdout.strip().endswith("no findings")
    both = run_cli("check", str(SEED), "--qemu", "1.2", "--qemu", "1.5")
    assert both.returncode == 0
    assert [row.split()[:2] for row in both.stdout.splitlines()[1:]] == [
        ["1.2", "ok"],
        ["1.5", "ok"],
    ]


def test_schema_error_is_at_the_attribute():
    findings = check_domain(load(CASES["VX0101"][0]), [])
    assert [(f.code, f.xpath) for f in findings] == [("VX0101", "/domain/devices/disk/target/@bus")]


def test_argv_refuses_a_domain_with_errors():
    result = run_cli("argv", "-", "--qemu", "1.5", stdin=CASES["VX0201"][0].encode())
    assert result.returncode == 1
    assert result.stdout == ""
    assert "VX0201" in result.stderr


@pytest.mark.parametrize(
    "fragment,code,xpath,line",
    [
        (
            "<devices>\n"
            "<disk type='file'><source file='/a'/><target dev='sda' bus='scsi'/></disk>\n"
            "<disk type='file'><source file='/b'/><target dev='sda' bus='scsi'/></disk></devices>",
            "VX0201",
            "/devices/disk[2]/target/@dev",
            3,
        ),
        (
            "<controller type='scsi' model='lsilogic'>\n<driver queues='2'/></controller>",
            "VX0206",
            "/controller/driver/@queues",
            2,
        ),
    ],
)
def test_fragment_findings_use_the_fragments_xpath(tmp_path, fragment, code, xpath, line):
    path = tmp_path / "fragment.xml"
    path.write_text(fragment)
    result = run_cli("check", str(path), "--format", "json")
    assert result.returncode == 1
    finding = next(f for f in json.loads(result.stdout) if f["code"] == code)
    assert finding["xpath"] == xpath
    assert finding["line"] == line


def test_repeated_qemu_gives_a_release_matrix():
    """--qemu repeated: each release's verdict; the q35 machine appears in 1.3 (caps of
    QEMU 1.3.1) and pvscsi in 1.5 (QOM-FACTS.md §1)."""
    bad = _domain("<controller type='scsi' index='0' model='vmpvscsi'/>", machine="q35")
    text = run_cli(
        "check", "-", "--qemu", "1.2", "--qemu", "1.3", "--qemu", "7.2", stdin=bad.encode()
    )
    assert text.returncode == 1
    rows = [line.split() for line in text.stdout.splitlines()[-4:]]
    assert rows == [
        ["QEMU", "verdict", "errors", "warnings"],
        ["1.2", "refused", "2", "0"],
        ["1.3", "refused", "1", "0"],
        ["7.2", "ok", "0", "0"],
    ]
    result = run_cli(
        "check", "-", "--qemu", "1.2", "--qemu", "7.2", "--format", "json", stdin=bad.encode()
    )
    matrix = json.loads(result.stdout)
    assert [(m["qemu"], m["ok"]) for m in matrix] == [("1.2", False), ("7.2", True)]
    assert sorted(f["code"] for f in matrix[0]["findings"]) == ["VX0301", "VX0303"]
    good = run_cli("check", "-", "--qemu", "5.2", "--qemu", "7.2", stdin=bad.encode())
    assert good.returncode == 0 and good.stdout.splitlines()[-1].split()[1] == "ok"


@pytest.mark.integration
def test_libvirt_schema_runs_libvirts_relaxng(tmp_path):
    from conftest import _missing

    from virtxlate.rules.libvirt_schema import LIBVIRT_DOMAIN_RNG

    if not LIBVIRT_DOMAIN_RNG.is_file():
        _missing(f"{LIBVIRT_DOMAIN_RNG} (Debian libvirt0)", "VIRTXLATE_REQUIRE_INTEGRATION")
    good = run_cli("check", str(SEED), "--libvirt-schema")
    assert good.returncode == 0, good.stdout
    bad = SEED.read_text().replace("<devices>", "<devices><bogus/>", 1)
    result = run_cli("check", "-", "--libvirt-schema", "--format", "json", stdin=bad.encode())
    assert result.returncode == 1
    assert {f["code"] for f in json.loads(result.stdout)} == {"VX0102"}


def test_an_arch_without_tables_is_a_finding_not_a_usage_error():
    ppc = _domain(_disk("sda", "scsi")).replace("x86_64", "ppc64")
    result = run_cli("check", "-", "--qemu", "7.2", "--format", "json", stdin=ppc.encode())
    assert result.returncode == 1
    (finding,) = json.loads(result.stdout)
    assert (finding["code"], finding["xpath"]) == ("VX0305", "/domain/os/type/@arch")
    argv = run_cli("argv", "-", "--qemu", "7.2", stdin=ppc.encode())
    assert argv.returncode == 1 and "VX0305" in argv.stderr
    x86 = run_cli("check", "-", "--qemu", "7.2", stdin=_domain(_disk("sda", "scsi")).encode())
    assert x86.returncode == 0


def test_a_removed_machine_says_where_it_was_last():
    # QEMU's removed-features: pc-1.0 to pc-1.3 removed in 6.0 (tools/caps-facts)
    findings = check_domain(load(_domain("", machine="pc-1.2")), [caps.load("11.0")])
    assert [(f.code, f.since) for f in findings] == [("VX0301", None)]
    assert findings[0].message.endswith("(removed: last in QEMU 5.2)")
    # the other way round, 'since' names the first release after the one asked for
    (q35,) = check_domain(load(_domain("", machine="q35")), [caps.load("1.2")])
    assert q35.since == "1.3" and "removed" not in q35.message
