"""`check` fails exactly where `tree` and `argv` say QEMU refuses.

analyze() (argv, tree) builds the device graph, and a -device QEMU would refuse there (a
type the release lacks, a bus that is not there) is a VX0302 error; check() never builds
the graph and reads the same refusal from the planned options (rules/graph_refusals.py).
Over the samples and generated guests (tests/whole_guests.py) at releases of each era,
every error code analyze reports is one check reports too.
"""

from __future__ import annotations

import pytest
from conftest import SAMPLES
from hypothesis import HealthCheck, given, settings
from whole_guests import guests

from virtxlate import caps
from virtxlate.api import analyze, check, load, table_arch

RELEASES = ("1.2", "1.5", "2.12", "7.2")


def _errors(findings) -> list[tuple[str, str, str]]:
    return [(f.code, f.message, f.xpath) for f in findings if f.is_error]


def _both(xml: str, release: str) -> tuple[list, list]:
    domain = load(xml)
    common, per_release = check(domain, [release])
    return _errors(analyze(domain, release).findings), _errors(common + per_release[0][1])


def _assert_agree(xml: str, release: str) -> None:
    analyzed, checked = _both(xml, release)
    assert {code for code, _, _ in analyzed} <= {code for code, _, _ in checked}, (
        analyzed,
        checked,
    )
    # a refusal of QEMU's is the same finding in both, and check finds none of its own
    assert sorted(f for f in analyzed if f[0] == "VX0302") == sorted(
        f for f in checked if f[0] == "VX0302"
    )


def _known(xml: str, release: str) -> bool:
    return release in caps.known_versions(table_arch(load(xml).arch))


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.xml")), ids=lambda p: p.stem)
def test_samples_check_reports_what_analyze_reports(sample, release):
    xml = sample.read_text()
    if not _known(xml, release):
        pytest.skip(f"no {release} table for {sample.name}'s arch")
    _assert_agree(xml, release)


@pytest.mark.parametrize("release", RELEASES)
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(guest=guests())
def test_generated_guests_check_reports_what_analyze_reports(release, guest):
    _assert_agree(guest.xml, release)


_DOMAIN = (
    "<domain type='qemu'><name>g</name><memory unit='MiB'>256</memory>"
    "<os><type arch='x86_64' machine='{machine}'>hvm</type></os><devices>{devices}</devices>"
    "</domain>"
)


# libvirt 9.0 writes a virtio-serial address's bus as bus=virtio-serial0.N, and QEMU
# refuses it ("Bus 'virtio-serial0.1' not found": a virtio-serial controller has one bus)
_SECOND_BUS = (
    "<controller type='virtio-serial' index='0'/><channel type='pty'>"
    "<target type='virtio' name='org.x'/>"
    "<address type='virtio-serial' controller='0' bus='1' port='1'/></channel>"
)


@pytest.mark.parametrize("release", RELEASES)
def test_a_refusal_only_the_graph_finds_is_checks_too(release):
    """Where the graph refuses the planned line, check says so with the same finding
    (before, check said "no findings" while tree and argv failed)."""
    analyzed, checked = _both(_DOMAIN.format(machine="pc", devices=_SECOND_BUS), release)
    refused = [f for f in analyzed if f[0] == "VX0302"]
    assert [f[1] for f in refused] == ["Bus 'virtio-serial0.1' not found"]
    assert [f for f in checked if f[0] == "VX0302"] == refused
    assert refused[0][2] == "/domain/devices/channel"
