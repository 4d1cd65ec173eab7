"""Host facts only when asked (issue 15, item 6): without --host or --connect the command
line carries named placeholders and check says, in a VX0701 info finding, what it did
not look up; the machine virtxlate runs on is asked only with --host local."""

from __future__ import annotations

import json
import os
import shlex
from argparse import Namespace

import pytest
from conftest import run_cli

import virtxlate
from virtxlate import analyze
from virtxlate.host import FixedHost

VHOST_SCSI = (
    "<domain type='qemu'><name>v</name><uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>"
    "<os><type arch='x86_64' machine='pc'>hvm"
    "</type></os><devices><hostdev mode='subsystem' type='scsi_host'>"
    "<source protocol='vhost' wwpn='naa.5123456789abcde0'/></hostdev>"
    "</devices></domain>"
)
SCSI_HOSTDEV = (
    "<domain type='qemu'><name>s</name><uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>"
    "<os><type arch='x86_64' machine='pc'>hvm"
    "</type></os><devices><controller type='scsi' index='0' model='virtio-scsi'/>"
    "<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host7'/>"
    "<address bus='0' target='2' unit='5'/></source>"
    "<address type='drive' controller='0' bus='0' target='0' unit='1'/>"
    "</hostdev></devices></domain>"
)
BLOCK_CDROM = (
    "<domain type='qemu'><name>c</name><uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>"
    "<os><type arch='x86_64' machine='pc'>hvm"
    "</type></os><devices><disk type='block' device='cdrom'>"
    "<source dev='/dev/sr0'/><target dev='hdc' bus='ide'/><readonly/></disk>"
    "</devices></domain>"
)


def test_vhost_scsi_is_checked_without_this_machines_device_node():
    # this machine may well have no /dev/vhost-scsi: that says nothing of the VM's host
    result = run_cli("check", "-", "--qemu", "7.2", "--format", "json", stdin=VHOST_SCSI.encode())
    assert result.returncode == 0, result.stdout + result.stderr
    (finding,) = json.loads(result.stdout)
    assert (finding["code"], finding["severity"]) == ("VX0701", "info")
    assert "/dev/vhost-scsi" in finding["message"] and "--host local" in finding["hint"]
    argv = run_cli("argv", "-", "--qemu", "7.2", stdin=VHOST_SCSI.encode())
    assert argv.returncode == 0 and '"vhostfd":"3"' in argv.stdout
    assert "info: VX0701" in argv.stderr


@pytest.mark.skipif(os.path.exists("/dev/vhost-scsi"), reason="this machine has the node")
def test_host_local_asks_this_machine():
    result = run_cli("check", "-", "--qemu", "7.2", "--host", "local", stdin=VHOST_SCSI.encode())
    assert result.returncode == 1 and "VX0211" in result.stdout


def test_a_scsi_host_device_gets_a_named_placeholder_that_reads_back():
    result = analyze(SCSI_HOSTDEV, "7.2")
    assert result.ok and result.argv is not None
    assert any("/dev/sgN@scsi_host7:0:2:5" in word for word in result.argv)
    assert [f.code for f in result.findings] == ["VX0701"]
    back = run_cli("from-argv", "-", stdin=shlex.join(result.argv).encode())
    assert back.returncode == 0, back.stderr
    assert "<adapter name='scsi_host7'/>" in back.stdout.replace('"', "'")
    assert "bus='0' target='2' unit='5'" in back.stdout.replace('"', "'")


def test_a_block_cdrom_says_its_driver_was_assumed():
    (finding,) = [f for f in analyze(BLOCK_CDROM, "7.2").findings]
    assert finding.code == "VX0701" and "/dev/sr0" in finding.message
    assert [f.code for f in analyze(BLOCK_CDROM, "7.2", host=FixedHost()).findings] == []
    drive = analyze(BLOCK_CDROM, "7.2", host=FixedHost(cdroms=("/dev/sr0",)))
    assert "host_cdrom" in " ".join(drive.argv or [])


def test_a_given_host_is_asked_and_none_by_default():
    assert [f.code for f in analyze(VHOST_SCSI, "7.2", host=FixedHost()).findings] == ["VX0211"]
    common, per_release = virtxlate.check(VHOST_SCSI, ["7.2"])
    assert common == [] and [f.code for f in per_release[0][1]] == ["VX0701"]


@pytest.mark.parametrize(
    "given,host",
    [
        ({}, "none"),
        ({"host": "local"}, "local"),
        ({"connect": "qemu:///system"}, "local"),
        ({"connect": "qemu+ssh://vmhost/system"}, "none"),
        ({"connect": "qemu+ssh://vmhost/system", "host": "none"}, "none"),
    ],
)
def test_which_host_a_command_asks(given, host):
    from virtxlate.cli import _host

    assert _host(Namespace(**{"host": None, "connect": None, **given})) == host


def test_the_hosts_answer_as_documented():
    from virtxlate.host import LocalHost, UnknownHost

    unknown = UnknownHost()
    assert not unknown.known and LocalHost.known and FixedHost.known
    assert unknown.scsi_address("/dev/sgN@scsi_host3:1:2:3") == ("scsi_host3", 1, 2, 3)
    assert unknown.scsi_address("/dev/sg0") is None


def test_the_translation_asks_no_host_unless_given_one():
    # plan_storage and StoragePlan default to no host, as the API does
    from virtxlate import caps, load
    from virtxlate.libvirt.plan import plan_storage
    from virtxlate.props.context import StoragePlan

    plan = plan_storage(load(BLOCK_CDROM), caps.load("7.2"))
    assert not plan.host.known
    assert [f.code for f in plan.findings] == ["VX0701"]
    assert not StoragePlan(caps.load("7.2"), load(BLOCK_CDROM), None, "", None, "tcg").host.known


def test_a_block_cdroms_finding_comes_with_its_disk():
    # raised where the translation would ask the host (the disk's backend), so it comes
    # before the host devices' findings, in the domain's order
    both = SCSI_HOSTDEV.replace(
        "</devices>",
        BLOCK_CDROM[BLOCK_CDROM.index("<disk") : BLOCK_CDROM.index("</devices>")] + "</devices>",
    )
    messages = [f.message for f in analyze(both, "7.2").findings]
    assert len(messages) == 2 and "/dev/sr0" in messages[0] and "scsi_host7" in messages[1]


def test_check_says_qemu_refuses_libvirts_dc390_name():
    dc390 = (
        "<domain type='qemu'><name>d</name><os><type arch='x86_64' machine='pc'>hvm"
        "</type></os><devices><controller type='scsi' index='0' model='dc390'/>"
        "</devices></domain>"
    )
    result = run_cli("check", "-", "--qemu", "7.2", stdin=dc390.encode())
    assert result.returncode == 1 and "VX0306" in result.stdout, result.stdout
