"""A missing emulator is a skip with its name, each emulator on its own, never a refusal.

A new user with libvirt and qemu-system-x86 but no qemu-system-s390x must see the s390x
samples skipped (libvirt's "Cannot check QEMU binary" says nothing about the domain), and
the x86_64 ones run; in CI (VIRTXLATE_REQUIRE_INTEGRATION=1) a missing one fails.  The
emulator is hidden here by a PATH that lacks it, and from libvirt by an <emulator> path
that does not exist.
"""

from __future__ import annotations

import pytest
from conftest import SAMPLES, emulator_of, require_emulator, skip_when_no_emulator
from test_libvirt import _libvirt_argv

S390X = (SAMPLES / "s390x-ccw-storage.xml").read_text()
X86 = (SAMPLES / "seed-virtio-scsi.xml").read_text()


@pytest.fixture
def only_x86_emulator(tmp_path, monkeypatch):
    """A PATH with a qemu-system-x86_64 on it and no other emulator."""
    directory = tmp_path / "bin"
    directory.mkdir()
    stub = directory / "qemu-system-x86_64"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", str(directory))
    monkeypatch.delenv("VIRTXLATE_REQUIRE_INTEGRATION", raising=False)
    return stub


def test_emulator_of_a_domain():
    assert emulator_of(S390X) == "qemu-system-s390x"
    assert emulator_of(X86) == "qemu-system-x86_64"
    assert (
        emulator_of("<domain><os><type arch='i686'>hvm</type></os></domain>") == "qemu-system-i386"
    )


def test_hidden_emulator_is_a_skip_each_on_its_own(only_x86_emulator):
    with pytest.raises(pytest.skip.Exception, match="qemu-system-s390x"):
        require_emulator(S390X)
    assert require_emulator(X86) == str(only_x86_emulator)


def test_hidden_emulator_fails_in_ci(only_x86_emulator, monkeypatch):
    monkeypatch.setenv("VIRTXLATE_REQUIRE_INTEGRATION", "1")
    with pytest.raises(pytest.fail.Exception, match="qemu-system-s390x"):
        require_emulator(S390X)


@pytest.mark.parametrize(
    "message",
    [
        "error: Cannot check QEMU binary /usr/bin/qemu-system-s390x: No such file or directory",
        "error: invalid argument: could not find capabilities for arch=s390x domaintype=qemu ",
    ],
)
def test_libvirts_missing_binary_is_no_verdict(message, monkeypatch):
    monkeypatch.delenv("VIRTXLATE_REQUIRE_INTEGRATION", raising=False)
    with pytest.raises(pytest.skip.Exception):
        skip_when_no_emulator(message)
    # a refusal of the domain itself stays a refusal
    skip_when_no_emulator(
        "error: unsupported configuration: 'queues' is only supported by virtio-scsi controller"
    )


@pytest.mark.integration
def test_libvirt_without_the_emulator_skips(virsh, tmp_path, monkeypatch):  # noqa: F811
    """Real libvirt, told to use an s390x emulator that is not there: the differential
    test's reading of libvirt (test_libvirt._libvirt_argv) skips instead of counting a
    refusal."""
    path = tmp_path / "no-emulator.xml"
    path.write_text(
        S390X.replace("/usr/bin/qemu-system-s390x", str(tmp_path / "qemu-system-s390x"))
    )
    monkeypatch.delenv("VIRTXLATE_REQUIRE_INTEGRATION", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Cannot check QEMU binary"):
        _libvirt_argv(virsh, path)
