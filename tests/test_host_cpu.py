"""What libvirt fills in from the VM host while it writes the line, asked of the host that
`--connect` names (host.py's LibvirtHost) and a named placeholder with an info otherwise:

- the host-model CPU: libvirt writes `-cpu MODEL,feat=on,…` from its domain capabilities'
  host-model (the migratable expansion: without invtsc/xsaves), libvirt's feature names in
  QEMU's spelling where QEMU has canonical names (virQEMUCapsCPUFeaturesX86);
- the first free port from 5900 for autoport graphics (host.free_port, as
  virPortAllocatorAcquire finds it).
"""

from __future__ import annotations

import shlex
import socket
import subprocess

import pytest

from virtxlate.api import analyze, compare_with_libvirt, load
from virtxlate.host import CpuRequest, FixedHost, HostCpu, LibvirtHost, LocalHost, UnknownHost

URI = "qemu:///system"
HOST_MODEL = (
    "<domain type='{virt}'><name>hm</name><uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>"
    "<memory unit='MiB'>256</memory><os><type arch='x86_64' machine='pc'>hvm</type></os>"
    "<cpu mode='host-model'>{features}</cpu>"
    "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator><memballoon model='none'/>"
    "</devices></domain>"
)
EPYC = HostCpu(
    "EPYC",
    (("acpi", "require"), ("invtsc", "require"), ("fxsr_opt", "disable"), ("lahf_lm", "require")),
)


def _xml(virt: str = "qemu", features: str = "") -> str:
    return HOST_MODEL.format(virt=virt, features=features)


def _cpu(argv: list[str] | None) -> str:
    assert argv is not None
    return argv[argv.index("-cpu") + 1]


def test_without_a_host_host_model_is_host_with_an_info():
    result = analyze(load(_xml()), "7.2")
    assert _cpu(result.argv) == "host"
    infos = [f for f in result.findings if f.code == "VX0701"]
    assert len(infos) == 1 and "host-model" in infos[0].message and infos[0].severity == "info"


def test_a_hosts_host_model_is_written_in_qemus_names():
    result = analyze(load(_xml()), "7.2", host=FixedHost(host_cpu=EPYC))
    assert _cpu(result.argv) == "EPYC,acpi=on,fxsr-opt=off,lahf-lm=on"  # no invtsc
    assert not [f for f in result.findings if f.code == "VX0701"]


def test_the_domains_features_go_over_the_hosts():
    features = "<feature policy='disable' name='acpi'/><feature policy='require' name='pcid'/>"
    result = analyze(load(_xml(features=features)), "7.2", host=FixedHost(host_cpu=EPYC))
    assert _cpu(result.argv) == "EPYC,acpi=off,fxsr-opt=off,lahf-lm=on,pcid=on"


def test_before_canonical_feature_names_libvirts_names_are_written():
    """QEMU before 4.1 has no canonical CPU feature names (libvirt's flag
    canonical-cpu-features is 4.1's): libvirt writes its own names there."""
    result = analyze(load(_xml()), "3.1", host=FixedHost(host_cpu=EPYC))
    assert _cpu(result.argv) == "EPYC,acpi=on,fxsr_opt=off,lahf_lm=on"


def test_the_host_is_asked_for_the_domains_emulator_arch_machine_and_virt_type():
    asked: list[CpuRequest] = []

    class Recording(FixedHost):
        def host_model_cpu(self, request: CpuRequest) -> HostCpu | None:
            asked.append(request)
            return EPYC

    analyze(load(_xml("kvm")), "7.2", host=Recording())
    assert asked == [CpuRequest("/usr/bin/qemu-system-x86_64", "x86_64", "pc-i440fx-7.2", "kvm")]


def test_free_ports_skip_what_is_taken():
    assert UnknownHost().free_port(5900) is None
    assert FixedHost(ports_taken=(5900, 5901)).free_port(5900) == 5902
    assert FixedHost().free_port(5900, frozenset({5900})) == 5901
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        found = LocalHost().free_port(port)
        assert found is not None and found > port


# -- libvirt 9.0 on this machine ---------------------------------------------------------


def _libvirt_cpu(virsh: str, xml: str, tmp_path) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / "hm.xml"
    path.write_text(xml)
    answer = subprocess.run(
        [virsh, "-c", URI, "domxml-to-native", "qemu-argv", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert answer.returncode == 0, answer.stderr
    words = shlex.split(answer.stdout.replace("\\\n", ""))
    return words[words.index("-cpu") + 1]


@pytest.mark.integration
@pytest.mark.parametrize("virt", ["qemu", "kvm"])
def test_connect_writes_libvirts_host_model_cpu(virsh, tmp_path, virt):
    """The host-model CPU of this machine's libvirt 9.0 (domxml-to-native) is what
    virtxlate writes asking it (LibvirtHost)."""
    xml = _xml(virt)
    ours = analyze(load(xml), "7.2", host=LibvirtHost(URI))
    assert _cpu(ours.argv) == _libvirt_cpu(virsh, xml, tmp_path)
    assert not [f for f in ours.findings if f.code == "VX0701"]


@pytest.mark.integration
def test_compare_with_this_hosts_libvirt_agrees_on_a_host_model_guest(virsh):
    comparison = compare_with_libvirt(load(_xml()), URI, host=LibvirtHost(URI))
    assert comparison.agree, comparison.diff
    # asking no host, virtxlate writes the placeholder 'host' and says so (VX0701):
    # compare sets the host's fact aside rather than call it a difference
    unasked = compare_with_libvirt(load(_xml()), URI, host="none")
    assert unasked.agree, unasked.diff
    assert "VX0701" in [f.code for f in unasked.analysis.findings]
