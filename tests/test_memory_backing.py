"""The guest RAM's back-end as libvirt 9.0 writes it for <memoryBacking> (virtiofs and
vhost-user need shared memory: virt-manager and KubeVirt write memfd + shared):
memory-backend-memfd, a file of libvirt's memory backing directory, share= and prealloc,
per NUMA cell with its memAccess; compared with this machine's libvirt."""

from __future__ import annotations

import pytest
from runtime_only import both_lines

GUEST = """<domain type='qemu'><name>mb</name>
<uuid>0b0c6c2a-6c3e-4b6a-9d7b-6f0f6b3f1a23</uuid><memory>524288</memory>
<memoryBacking>{backing}</memoryBacking><vcpu>2</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type></os>{cpu}<devices>{devices}</devices>
</domain>"""
NUMA = (
    "<cpu><numa><cell id='0' cpus='0' memory='262144'/>"
    "<cell id='1' cpus='1' memory='262144' memAccess='private'/></numa></cpu>"
)
VIRTIOFS = (
    "<filesystem type='mount' accessmode='passthrough'><driver type='virtiofs'/>"
    "<source dir='/tmp'/><target dir='share'/></filesystem>"
)
VARIANTS = {
    "virtiofs-memfd-shared": ("<source type='memfd'/><access mode='shared'/>", "", VIRTIOFS),
    "virtiofs-file-shared": ("<access mode='shared'/>", "", VIRTIOFS),
    "memfd-private": ("<source type='memfd'/><access mode='private'/>", "", ""),
    "file": ("<source type='file'/>", "", ""),
    "prealloc-threads": (
        "<source type='memfd'/><access mode='shared'/><allocation mode='immediate' threads='2'/>",
        "",
        "",
    ),
    "numa-memfd": ("<source type='memfd'/><access mode='shared'/>", NUMA, ""),
    "numa-private-cell": ("", NUMA, ""),
}


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_memory_backend_is_libvirts(virsh, tmp_path, name):  # noqa: F811
    backing, cpu, devices = VARIANTS[name]
    xml = GUEST.format(backing=backing, cpu=cpu, devices=devices)
    ours, theirs = both_lines(virsh, xml, tmp_path)
    assert any("memory-backend-" in word for word in theirs)
    assert ours == theirs


def _round_trip(xml: str) -> tuple[list[str], list[str], str]:
    from virtxlate.api import analyze, load
    from virtxlate.native.todomain import domain_from_argv
    from virtxlate.native.words import CommandLine

    first = analyze(load(xml), "7.2").argv
    assert first is not None
    back = domain_from_argv(CommandLine(first[0], first[1:], "line"))
    again = analyze(load(back.xml), "7.2").argv
    assert again is not None
    return first, again, back.xml


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_from_argv_reads_the_backing_back(name):
    backing, cpu, devices = VARIANTS[name]
    first, again, xml = _round_trip(GUEST.format(backing=backing, cpu=cpu, devices=devices))
    assert "qemu:arg" not in xml
    assert again == first


def test_hugepages_as_libvirts_own_test_data():
    """libvirt's tests/qemuxml2argvdata/hugepages-default.x86_64-latest.args (its
    hugetlbfs mounted at /dev/hugepages2M) writes the RAM object
    {"qom-type":"memory-backend-file","id":"pc.ram","mem-path":
    "/dev/hugepages2M/libvirt/qemu/-1-QEMUGuest1","x-use-canonical-path-for-ramblock-id":
    false,"prealloc":true,"size":224395264}: the mount is the host's (a placeholder here,
    with an info finding), the rest is written alike."""
    from virtxlate.api import analyze, load

    xml = (
        "<domain type='qemu'><name>QEMUGuest1</name><memory unit='KiB'>219136</memory>"
        "<memoryBacking><hugepages/></memoryBacking><os><type arch='x86_64' machine='pc'>"
        "hvm</type></os><devices/></domain>"
    )
    result = analyze(load(xml), "7.2")
    assert result.argv is not None
    ram = next(w for w in result.argv if '"id":"pc.ram"' in w)
    assert ram == (
        '{"qom-type":"memory-backend-file","id":"pc.ram","mem-path":'
        '"<hugetlbfs>/libvirt/qemu/ID-QEMUGuest1","x-use-canonical-path-for-ramblock-id":'
        'false,"prealloc":true,"size":224395264}'
    )
    assert ("VX0701", "/domain/memoryBacking/hugepages") in [
        (f.code, f.xpath) for f in result.findings
    ]


TUNED = """<domain type='qemu'><name>nt</name>
<uuid>0b0c6c2a-6c3e-4b6a-9d7b-6f0f6b3f1a25</uuid><memory>524288</memory><vcpu>2</vcpu>
<numatune>{tune}</numatune><os><type arch='x86_64' machine='q35'>hvm</type></os>{cpu}
<devices/></domain>"""
TUNES = {
    "global-strict": ("<memory mode='strict' nodeset='0'/>", ""),
    "memnodes": (
        "<memory mode='strict' nodeset='0'/><memnode cellid='0' mode='strict' nodeset='0'/>"
        "<memnode cellid='1' mode='preferred' nodeset='0'/>",
        NUMA.replace(" memAccess='private'", ""),
    ),
    "interleave-cells": ("<memory mode='interleave' nodeset='0'/>", NUMA),
}


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(TUNES))
def test_numatune_is_libvirts(virsh, tmp_path, name):  # noqa: F811
    tune, cpu = TUNES[name]
    ours, theirs = both_lines(virsh, TUNED.format(tune=tune, cpu=cpu), tmp_path)
    assert any('"policy"' in word for word in theirs)
    assert ours == theirs


@pytest.mark.parametrize("name", sorted(TUNES))
def test_from_argv_reads_numatune_back(name):
    tune, cpu = TUNES[name]
    first, again, xml = _round_trip(TUNED.format(tune=tune, cpu=cpu))
    assert "qemu:arg" not in xml and "<numatune>" in xml
    assert again == first


def test_numa_cells_on_hugepages_as_libvirts_own_test_data():
    """libvirt's tests/qemuxml2argvdata/hugepages-numa-default.x86_64-latest.args: each
    cell's object {"qom-type":"memory-backend-file","id":"ram-node0","mem-path":
    "/dev/hugepages2M/libvirt/qemu/-1-fedora","prealloc":true,"size":1073741824} (the
    mount a placeholder here, said once); with <page nodeset> only the cells it names."""
    from virtxlate.api import analyze, load

    xml = (
        "<domain type='qemu'><name>fedora</name><memory unit='KiB'>2097152</memory>"
        "<memoryBacking><hugepages>{pages}</hugepages></memoryBacking><vcpu>2</vcpu>"
        "<os><type arch='x86_64' machine='pc'>hvm</type></os><cpu><numa>"
        "<cell id='0' cpus='0' memory='1048576'/><cell id='1' cpus='1' memory='1048576'/>"
        "</numa></cpu><devices/></domain>"
    )
    result = analyze(load(xml.format(pages="")), "7.2")
    assert result.argv is not None
    nodes = [w for w in result.argv if '"id":"ram-node' in w]
    assert nodes[0] == (
        '{"qom-type":"memory-backend-file","id":"ram-node0","mem-path":'
        '"<hugetlbfs>/libvirt/qemu/ID-fedora","prealloc":true,"size":1073741824}'
    )
    assert '"memory-backend-file"' in nodes[1]
    assert [f.code for f in result.findings].count("VX0701") == 1
    one = analyze(load(xml.format(pages="<page size='2048' unit='KiB' nodeset='1'/>")), "7.2")
    assert one.argv is not None
    kinds = [w.split(",")[0] for w in one.argv if '"id":"ram-node' in w]
    assert kinds == ['{"qom-type":"memory-backend-ram"', '{"qom-type":"memory-backend-file"']
