"""<launchSecurity>: AMD SEV and s390 protected virtualization as libvirt 9.0 writes them
(qemuBuildSEVCommandLine, qemuBuildPVCommandLine, qemuBuildMachineCommandLine), gated by
the release (rules/launch_security.py, caps/data/launch-security.tsv) and by the host,
which only a host asked can answer, and read back by from-argv.

The expected lines are libvirt's own test data (tests/qemuxml2argvdata/
launch-security-sev-direct.x86_64-latest.args and launch-security-s390-pv.s390x-latest.args):
this machine's libvirt 9.0 refuses both ("SEV launch security is not supported with this
QEMU binary": it has no SEV), which the integration tests below check virtxlate says too
when asked to look at this host.
"""

from __future__ import annotations

import json
import lzma
import re
import shlex
import subprocess

import pytest

from virtxlate import caps
from virtxlate.api import analyze, check, load
from virtxlate.host import FixedHost, LibvirtHost, LocalHost
from virtxlate.native.todomain import domain_from_argv
from virtxlate.native.words import read_command_line
from virtxlate.rules.launch_security import launch_security_findings, object_since

URI = "qemu:///system"
SEV = (
    "<domain type='kvm'><name>QEMUGuest1</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>"
    "<memory unit='KiB'>219100</memory><os><type arch='x86_64' machine='pc'>hvm</type></os>"
    "<launchSecurity type='sev'{attrs}><cbitpos>47</cbitpos><reducedPhysBits>1</reducedPhysBits>"
    "<policy>0x0001</policy>{owner}</launchSecurity>"
    "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator><memballoon model='none'/>"
    "</devices></domain>"
)
OWNER = "<dhCert>AQAAAAAOAAAAQAAAAAOAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA</dhCert>"
OWNER += "<session>IHAVENOIDEABUTJUSTPROVIDINGASTRING</session>"
PV = (
    "<domain type='kvm'><name>QEMUGuest1</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>"
    "<memory unit='KiB'>219100</memory>"
    "<os><type arch='s390x' machine='s390-ccw-virtio'>hvm</type></os>"
    "<launchSecurity type='s390-pv'/>"
    "<devices><emulator>/usr/bin/qemu-system-s390x</emulator><memballoon model='none'/>"
    "</devices></domain>"
)
# libvirt's launch-security-sev-direct.x86_64-latest.args (its domain directory is the dry
# run's domain--1-QEMUGuest1; virtxlate names the id a placeholder, as for virtiofsd)
LIBVIRT_SEV_OBJECT = {
    "qom-type": "sev-guest",
    "id": "lsec0",
    "cbitpos": 47,
    "reduced-phys-bits": 1,
    "policy": 1,
    "dh-cert-file": "/var/lib/libvirt/qemu/domain-<id>-QEMUGuest1/dh_cert.base64",
    "session-file": "/var/lib/libvirt/qemu/domain-<id>-QEMUGuest1/session.base64",
    "kernel-hashes": True,
}


def _sev(kernel_hashes: str | None = "yes", owner: bool = True) -> str:
    attrs = f" kernelHashes='{kernel_hashes}'" if kernel_hashes else ""
    return SEV.format(attrs=attrs, owner=OWNER if owner else "")


def _options(argv: list[str]) -> list[tuple[str, str]]:
    return [(argv[i], argv[i + 1]) for i in range(1, len(argv) - 1) if argv[i].startswith("-")]


def _value(argv: list[str], flag: str, starts: str = "") -> str:
    return next(v for f, v in _options(argv) if f == flag and v.startswith(starts))


# -- the line --------------------------------------------------------------------------


def test_sev_is_written_as_libvirt_writes_it_with_an_info_for_the_host():
    result = analyze(load(_sev()), "7.2")
    assert result.argv is not None, [f.message for f in result.findings]
    machine = _value(result.argv, "-machine")
    assert machine.endswith(",memory-backend=pc.ram,confidential-guest-support=lsec0")
    sev = _value(result.argv, "-object", '{"qom-type":"sev-guest"')
    assert json.loads(sev) == LIBVIRT_SEV_OBJECT
    assert list(json.loads(sev)) == list(LIBVIRT_SEV_OBJECT)  # libvirt's order
    # after the devices, before -sandbox (qemuBuildCommandLine: qemuBuildSecCommandLine)
    where = result.argv.index(sev)
    assert result.argv[where - 3] == "-audiodev" and result.argv[where + 1] == "-sandbox"
    infos = [f for f in result.findings if f.code == "VX0701"]
    assert len(infos) == 1 and infos[0].severity == "info" and "SEV" in infos[0].message
    assert infos[0].xpath == "/domain/launchSecurity"


def test_sev_without_owner_data_or_hashes_has_only_its_numbers():
    argv = analyze(load(_sev(kernel_hashes=None, owner=False)), "7.2").argv
    assert argv is not None
    sev = json.loads(_value(argv, "-object", '{"qom-type":"sev-guest"'))
    assert sev == {"qom-type": "sev-guest", "id": "lsec0", "cbitpos": 47,
                   "reduced-phys-bits": 1, "policy": 1}  # fmt: skip
    no_hashes = analyze(load(_sev("no")), "7.2").argv or []
    assert json.loads(_value(no_hashes, "-object", '{"qom-type":"sev'))["kernel-hashes"] is False


def test_sev_before_qemu_6_names_the_object_memory_encryption():
    """QEMU 5.2 has no machine property confidential-guest-support (libvirt's flag of that
    name is 6.0's): libvirt writes memory-encryption=lsec0 there."""
    argv = analyze(load(_sev(kernel_hashes=None)), "5.2").argv
    assert argv is not None
    assert "memory-encryption=lsec0" in _value(argv, "-machine")
    assert "confidential-guest-support" not in _value(argv, "-machine")


def test_s390_pv_is_written_as_libvirt_writes_it():
    result = analyze(load(PV), "7.2")
    assert result.argv is not None, [f.message for f in result.findings]
    assert "confidential-guest-support=lsec0" in _value(result.argv, "-machine")
    assert json.loads(_value(result.argv, "-object", '{"qom-type":"s390-pv')) == {
        "qom-type": "s390-pv-guest",
        "id": "lsec0",
    }
    assert [f.code for f in result.findings if f.code == "VX0701"] == ["VX0701"]


# -- the host --------------------------------------------------------------------------


def test_a_host_without_sev_refuses_it_and_one_with_sev_says_nothing():
    without = analyze(load(_sev()), "7.2", host=FixedHost())
    assert without.argv is None
    assert [f.code for f in without.findings] == ["VX0211"]
    assert "not supported with this QEMU binary" in without.findings[0].message
    with_sev = analyze(load(_sev()), "7.2", host=FixedHost(launch_security=("sev",)))
    assert with_sev.argv is not None and with_sev.findings == []
    # check says the same (the translation's host errors and infos are check's too)
    common, per_release = check(load(_sev()), ["7.2"], host=FixedHost())
    assert "VX0211" in [f.code for _, found in per_release for f in found]
    common, per_release = check(load(_sev()), ["7.2"])
    assert "VX0701" in [f.code for _, found in per_release for f in found]
    assert not [f for _, found in per_release for f in found if f.is_error]


def test_this_host_is_read_as_libvirt_reads_it(tmp_path, monkeypatch):
    """SEV: kvm_amd's sev parameter on and /dev/sev; s390 PV: the ultravisor's directory
    and prot_virt on the kernel command line (virQEMUCapsKVMSupportsSecureGuest*)."""
    from virtxlate import host

    parameter, device, cmdline = tmp_path / "sev", tmp_path / "dev-sev", tmp_path / "cmdline"
    monkeypatch.setattr(host, "_SEV_PARAMETER", str(parameter))
    monkeypatch.setattr(host, "_SEV_DEVICE", str(device))
    monkeypatch.setattr(host, "_PV_ULTRAVISOR", str(tmp_path))
    monkeypatch.setattr(host, "_KERNEL_CMDLINE", str(cmdline))
    local = LocalHost()
    assert not local.launch_security("sev") and not local.launch_security("s390-pv")
    parameter.write_text("Y\n")
    assert not local.launch_security("sev")  # no /dev/sev
    device.write_text("")
    assert local.launch_security("sev")
    parameter.write_text("0\n")
    assert not local.launch_security("sev")
    cmdline.write_text("root=/dev/dasda1 prot_virt=1 quiet\n")
    assert local.launch_security("s390-pv")
    cmdline.write_text("root=/dev/dasda1 prot_virt=0\n")
    assert not local.launch_security("s390-pv")


# -- the release -----------------------------------------------------------------------


def test_sev_needs_qemu_2_12_and_its_kernel_hashes_6_2():
    domain = load(_sev())
    old = launch_security_findings(domain, caps.load("2.11"))
    assert [(f.code, f.since, f.xpath) for f in old] == [
        ("VX0303", "2.12", "/domain/launchSecurity/@type")
    ]
    assert "sev-guest" in old[0].message
    hashes = launch_security_findings(domain, caps.load("6.0"))
    assert [(f.code, f.xpath) for f in hashes] == [
        ("VX0303", "/domain/launchSecurity/@kernelHashes")
    ]
    assert launch_security_findings(load(_sev(kernel_hashes=None)), caps.load("2.12")) == []
    assert launch_security_findings(domain, caps.load("7.2")) == []


def test_s390_pv_needs_an_s390x_qemu_6_0():
    domain = load(PV)
    assert [f.since for f in launch_security_findings(domain, caps.load("5.2", "s390x"))] == ["6.0"]
    assert launch_security_findings(domain, caps.load("6.0", "s390x")) == []
    on_x86 = load(PV.replace("s390x", "x86_64").replace("s390-ccw-virtio", "pc"))
    found = launch_security_findings(on_x86, caps.load("7.2"))
    assert [(f.code, f.since) for f in found] == [("VX0303", None)]


def test_the_release_facts_are_the_captured_qom_types(shared):
    """caps/data/launch-security.tsv against libvirt's captured qom-list-types: the
    release named has the type, the capture before it has not."""
    captures = shared / "qemu-caps" / "libvirt-captures"
    qom = {"sev": "sev-guest", "s390-pv": "s390-pv-guest"}
    before = {("sev", "x86_64"): "2.11.0", ("s390-pv", "s390x"): "5.2.0"}
    for (kind, arch), since in object_since().items():
        for release, present in ((f"{since}.0", True), (before[(kind, arch)], False)):
            text = lzma.open(captures / f"caps_{release}_{arch}.replies.xz", "rt").read()
            types = text[text.index('"execute": "qom-list-types"') :]
            types = types[: types.index('"execute"', 30)]
            assert (f'"name": "{qom[kind]}"' in types) is present, (kind, release)


# -- from-argv -------------------------------------------------------------------------


def _read_back(argv: list[str]) -> str:
    return domain_from_argv(read_command_line(shlex.join(argv), "line")).xml


def test_sev_and_pv_read_back_and_give_the_same_line():
    for xml, version in ((_sev(owner=False), "7.2"), (PV, "7.2"), (_sev(None, False), "5.2")):
        first = analyze(load(xml), version).argv
        assert first is not None
        back = load(_read_back(first))
        security = back.launch_security
        assert security is not None and "qemu:commandline" not in (back.document.to_xml() or "")
        again = analyze(back, version).argv
        assert again == first


def test_sev_with_the_owners_files_stays_in_qemu_commandline():
    """dh-cert-file and session-file name files whose content (<dhCert>, <session>) the
    line does not hold: the object is kept as it is."""
    argv = analyze(load(_sev()), "7.2").argv
    assert argv is not None
    xml = _read_back(argv)
    assert load(xml).launch_security is None
    assert "sev-guest" in xml and "confidential-guest-support=lsec0" in xml


def test_read_back_sev_fields():
    argv = analyze(load(_sev(owner=False)), "7.2").argv
    assert argv is not None
    security = load(_read_back(argv)).launch_security
    assert security is not None
    assert (security.type, security.cbitpos, security.reduced_phys_bits, security.policy) == (
        "sev",
        47,
        1,
        "0x0001",
    )
    assert security.kernel_hashes is True


# -- libvirt 9.0 on this machine ---------------------------------------------------------


def _libvirt(virsh: str, xml: str, tmp_path) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    path = tmp_path / "ls.xml"
    path.write_text(xml)
    return subprocess.run(
        [virsh, "-c", URI, "domxml-to-native", "qemu-argv", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.integration
def test_libvirt_and_virtxlate_asked_about_this_host_agree_on_sev(virsh, tmp_path):
    """libvirt refuses SEV where its QEMU cannot run it (a host without SEV, as this CI
    machine): virtxlate asked about this host (--host local, --connect) refuses it too;
    where the host has SEV both write the line."""
    answer = _libvirt(virsh, _sev(), tmp_path)
    for host in (LocalHost(), LibvirtHost(URI)):
        result = analyze(load(_sev()), "7.2", host=host)
        if answer.returncode != 0:
            assert "SEV launch security is not supported with this QEMU binary" in answer.stderr
            assert result.argv is None and [f.code for f in result.findings] == ["VX0211"]
        else:
            words = shlex.split(answer.stdout.replace("\\\n", ""))
            sev = next(w for w in words if w.startswith('{"qom-type":"sev-guest"'))
            ours = _value(result.argv or [], "-object", '{"qom-type":"sev-guest"')
            assert json.loads(re.sub(r"domain--1-", "domain-<id>-", sev)) == json.loads(ours)


@pytest.mark.integration
def test_libvirt_refuses_s390_pv_for_an_x86_64_qemu_as_the_release_gate_does(virsh, tmp_path):
    on_x86 = PV.replace("s390x", "x86_64").replace("s390-ccw-virtio", "pc")
    answer = _libvirt(virsh, on_x86, tmp_path)
    assert answer.returncode != 0
    assert "S390 PV launch security is not supported with this QEMU binary" in answer.stderr
    found = launch_security_findings(load(on_x86), caps.load("7.2"))
    assert [f.code for f in found] == ["VX0303"]
