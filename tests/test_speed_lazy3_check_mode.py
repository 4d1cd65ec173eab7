"""Issue 18: `check` plans a domain without making what only the written line shows.

Builders defer (Option.defer) a -blockdev node's body and a disk's frontend properties;
check reads only the options' flags, drivers and the properties QEMU's graph refusals
need (Option.known).  What check finds must be what it would find with every property
made: the same graph refusals, no finding made late, the same line once written.  (The
speed itself is measured by bench/run.py, not here.)"""

from __future__ import annotations

import glob
import os
import sys

import pytest

from virtxlate.api import analyze, check, load
from virtxlate.caps import tables as caps_tables
from virtxlate.errors import InvalidValue, VirtxlateError
from virtxlate.host import UnknownHost
from virtxlate.libvirt.plan import plan_storage
from virtxlate.option import Option
from virtxlate.rules.graph_refusals import graph_refusals

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from mix import domain_xml  # noqa: E402

# the properties graph_refusals reads of a -device (and of -machine, never deferred)
_READ_BY_CHECK = {"bus", "id", "masterbus"}


def _corpus() -> list[tuple[str, str | bytes]]:
    inputs: list[tuple[str, str | bytes]] = [(f"mix{n}", domain_xml(n)) for n in range(120)]
    for pattern in ("tests/cases/*.xml", "tests/data/*.xml", "samples/*.xml"):
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            with open(path, "rb") as handle:
                inputs.append((os.path.relpath(path, ROOT), handle.read()))
    return inputs


CORPUS = _corpus()


def _plans(text: str | bytes):  # type: ignore[no-untyped-def]
    for release in ("2.12", "7.2"):
        try:
            domain = load(text)
        except VirtxlateError:
            return  # (not a domain: check says so before any plan)
        table = caps_tables.load(release, "x86_64")
        if domain.arch not in (None, "x86_64"):
            return
        try:
            yield table, domain, plan_storage(domain, table, UnknownHost())
        except InvalidValue:
            continue


def test_the_corpus_defers_something():
    """The test below would pass vacuously if nothing were deferred."""
    deferred = 0
    for _, text in CORPUS[:20]:
        for _, _, plan in _plans(text):
            deferred += sum(type(option) is not Option for option in plan.options)
    assert deferred > 20


@pytest.mark.parametrize("name,text", CORPUS, ids=[name for name, _ in CORPUS])
def test_check_finds_what_the_whole_line_gives(name, text):
    for table, domain, plan in _plans(text):
        findings = list(plan.findings)
        known = [(option.flag, option.implied, list(option.known)) for option in plan.options]
        early = (
            graph_refusals(table, plan.family, plan.options, domain.source)
            if (plan.family is not None)
            else []
        )
        for option, (_, _, made) in zip(plan.options, known, strict=True):
            props = option.props
            assert type(option) is Option
            # what was made keeps its order among the rest, which names no property
            # check reads
            late = list(props)
            at = 0
            for prop in made:
                at = late.index(prop, at)
                del late[at]
            assert not {key for key, _ in late} & _READ_BY_CHECK, (name, option.flag, late)
        assert plan.findings == findings, f"{name}: a deferred property made a finding"
        if plan.family is not None:
            whole = graph_refusals(table, plan.family, plan.options, domain.source)
            assert whole == early, name


def test_a_deferred_option_writes_as_if_made_at_once():
    option = Option("-device", "scsi-hd", [("bus", "scsi0.0")])
    option.defer(lambda props: props.append(("serial", "a")))
    option.add("id", "disk0")  # after the deferred ones, without making them
    option.defer(lambda props: props.append(("wwn", "0x1")))
    assert option.known == [("bus", "scsi0.0"), ("id", "disk0")]
    assert option == Option(
        "-device", "scsi-hd", [("bus", "scsi0.0"), ("serial", "a"), ("id", "disk0"), ("wwn", "0x1")]
    )
    assert type(option) is Option
    assert option.get("wwn") == "0x1"


def test_check_and_analyze_agree_on_a_deferred_bad_value():
    """A value refused while the frontend is made (an iSCSI LUN that is no number is
    refused earlier, while the node's protocol part is): analyze and check say VX0100
    alike, whichever part makes it."""
    text = domain_xml(7).replace(
        "</devices>",
        "<disk type='network' device='disk'><driver name='qemu' type='raw'/>"
        "<source protocol='iscsi' name='iqn.2013-07.com.example:t/abc'>"
        "<host name='example.org' port='3260'/></source>"
        "<target dev='vdz' bus='virtio'/></disk></devices>",
    )
    _, per_release = check(load(text), ["7.2"])
    checked = [f.code for _, found in per_release for f in found if f.is_error]
    analyzed = [f.code for f in analyze(load(text), "7.2").findings if f.is_error]
    assert checked == analyzed == ["VX0100"]


def test_check_leaves_no_cycle_for_the_collector():
    """A deferred part that held the plan (plan → option → its maker → plan) would make
    every check's plan garbage only the cycle collector frees: a tenth of check's time
    on the mixed set.  Everything check makes is freed as soon as it returns."""
    import gc

    texts = [domain_xml(n) for n in range(40)]
    for text in texts:
        check(load(text), ["7.2"])
    gc.collect()
    gc.disable()
    try:
        for text in texts:
            check(load(text), ["2.12", "7.2"])
            analyze(load(text), "7.2", graph=False)
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_deferred_option_copies_as_a_plain_one():
    option = Option("-blockdev", None, [("driver", "file")])
    option.defer(lambda props: props.append(("node-name", "n1")))
    copy = option.replace(props=[("driver", "raw")])
    assert type(copy) is Option and copy.props == [("driver", "raw")]
    assert option.props == [("driver", "file"), ("node-name", "n1")]
