"""Issue 18's caches against a reference that keeps nothing (round 9's review).

The model keeps every read in the object's dict (model/fields.py), derived values with
them, one view per element; rules, placement, props and graph keep answers per table,
family, device type and rows (by id(), the object kept beside them).  Here the same
answers are made with none of it: every attribute read of a model object starts from an
empty dict (so no read, derived value, child index, list or view is ever reused) and the
module-level caches are emptied before each call, one release per check on a domain
loaded afresh.  Whatever check, analyze and from-argv say with the caches must be what
they say without them: in one call for several releases, domain after domain in one
process, on a Domain checked or analyzed before, and after writes through the model (or
lxml and note_write) made through any view of an element.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import sys

import pytest
from lxml import etree

from virtxlate.api import analyze, check, domain_of_argv, load
from virtxlate.errors import VirtxlateError
from virtxlate.graph import build, realize
from virtxlate.graph.render import qtree_text
from virtxlate.model.fields import XmlObject, note_write
from virtxlate.native.words import read_command_line
from virtxlate.placement import controllers
from virtxlate.props import mapping
from virtxlate.rules import graph_refusals, release

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from mix import domain_xml  # noqa: E402

RELEASES = ("1.5", "2.12", "7.2", "10.0")
# the module-level caches (each keeps the object its id() names beside its answers)
_MODULE_CACHES = (
    mapping._APPLYING,
    graph_refusals._TYPES,
    graph_refusals._MACHINES,
    release._KEPT,
    controllers._BUILTINS,
    build._BUILTINS,
    build._EMBEDDED,
    realize._TYPE_INFO,
)


def _read_afresh(self: XmlObject, name: str) -> object:
    # every read of a model object's attribute finds its dict empty: nothing kept is used
    if name != "element":
        object.__getattribute__(self, "__dict__").clear()
    return object.__getattribute__(self, name)


@contextlib.contextmanager
def _nothing_kept(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with monkeypatch.context() as patched:
        patched.setattr(XmlObject, "__getattribute__", _read_afresh, raising=False)
        yield


def _afresh() -> None:
    for cache in _MODULE_CACHES:
        cache.clear()


def _corpus() -> list[tuple[str, bytes | str]]:
    inputs: list[tuple[str, bytes | str]] = [(f"mix{n}", domain_xml(n)) for n in range(0, 60, 3)]
    paths = sorted(glob.glob(os.path.join(ROOT, "samples", "*.xml")))
    paths += sorted(glob.glob(os.path.join(ROOT, "tests", "cases", "*.xml")))[::6]
    for path in paths:
        with open(path, "rb") as handle:
            inputs.append((os.path.relpath(path, ROOT), handle.read()))
    return inputs


CORPUS = _corpus()


def _findings(findings) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [(f.code, f.severity, f.message, f.line, f.xpath) for f in findings]


def _answered(make):  # type: ignore[no-untyped-def]
    """MAKE's answer, or the error it ends with (a release without a table of the arch)."""

    def answer(*args):  # type: ignore[no-untyped-def]
        try:
            return make(*args)
        except VirtxlateError as exc:
            return f"{type(exc).__name__}: {exc}"

    return answer


@_answered
def _checked(domain, releases=RELEASES):  # type: ignore[no-untyped-def]
    common, per_release = check(domain, list(releases))
    return _findings(common), [(t.version, _findings(found)) for t, found in per_release]


@_answered
def _analyzed(domain, release: str):  # type: ignore[no-untyped-def]
    result = analyze(domain, release)
    graph = qtree_text(result.graph) if result.graph is not None else None
    return _findings(result.findings), result.argv, graph


def _without_lines(answer):  # type: ignore[no-untyped-def]
    """ANSWER with every finding's line 0 and the lines its message names as N: a
    written tree loaded afresh has other lines (its prolog is not written)."""
    if isinstance(answer, tuple | list):
        if len(answer) == 5 and isinstance(answer[3], int) and isinstance(answer[0], str):
            return (*answer[:2], re.sub(r"line \d+", "line N", answer[2]), 0, answer[4])
        return [_without_lines(part) for part in answer]
    return answer


def _reference_check(text: bytes | str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """check of TEXT without any cache, one release at a time, each on a fresh load."""
    common, per_release = None, []
    with _nothing_kept(monkeypatch):
        for version in RELEASES:
            _afresh()
            answer = _checked(load(text), (version,))
            if isinstance(answer, str):
                return answer  # (every release's call ends so: the arch has no table)
            one_common, one = answer
            assert common is None or one_common == common
            common = one_common
            per_release += one
    return common, per_release


def _reference_analyze(text: bytes | str, release: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with _nothing_kept(monkeypatch):
        _afresh()
        return _analyzed(load(text), release)


def test_the_reference_keeps_nothing(monkeypatch):
    """(Else the tests below would compare the caches with themselves.)"""
    domain = load(CORPUS[0][1])
    with _nothing_kept(monkeypatch):
        assert domain.disks is not domain.disks
        assert domain.disks[0] is not domain.disks[0]
        assert not domain.__dict__
    assert domain.disks is domain.disks


def test_several_releases_in_one_call_domain_after_domain(monkeypatch):
    """One check call for four releases, each domain after the others in one process
    (the tables' caches full of the domains before), says what a call per release on a
    fresh load says with nothing kept."""
    for name, text in CORPUS:
        assert _checked(load(text)) == _reference_check(text, monkeypatch), name


@pytest.mark.parametrize("release", ["7.2", "2.12"])
def test_analyze_with_the_caches_as_without(monkeypatch, release):
    for name, text in CORPUS:
        assert _analyzed(load(text), release) == _reference_analyze(text, release, monkeypatch), (
            name
        )


def test_one_domain_checked_analyzed_and_checked_again(monkeypatch):
    """The reads a check keeps on a Domain do not change what analyze of the same Domain
    says for another release, nor the check after it (a release's answer kept with the
    domain would)."""
    for name, text in CORPUS[::2]:
        domain = load(text)
        first = _checked(domain)
        assert _analyzed(domain, "2.12") == _reference_analyze(text, "2.12", monkeypatch), name
        assert _analyzed(domain, "7.2") == _reference_analyze(text, "7.2", monkeypatch), name
        assert _checked(domain) == first, name


def _writes():  # type: ignore[no-untyped-def]
    """(what, a write on a loaded domain): each through another view of its element."""

    def target_bus(domain) -> None:  # type: ignore[no-untyped-def]
        disk = next(d for d in domain.devices if d.element.tag == "disk")
        disk.target.bus = "sata"  # through the <target>'s view, read later as disk.bus

    def readonly_flag(domain) -> None:  # type: ignore[no-untyped-def]
        domain.disks[0].readonly = True

    def row_write(domain) -> None:  # type: ignore[no-untyped-def]
        from virtxlate.props.disk_table import FRONTEND

        row = next(r for r in FRONTEND if r.qemu == "serial")
        row.write(domain.disks[0], "WRITTEN1")

    def lxml_then_note_write(domain) -> None:  # type: ignore[no-untyped-def]
        devices = domain.element.find("devices")
        devices.remove(devices.find("disk"))
        note_write()

    def lxml_new_controller(domain) -> None:  # type: ignore[no-untyped-def]
        etree.SubElement(domain.element.find("devices"), "controller", type="scsi", index="3")
        note_write()

    return [target_bus, readonly_flag, row_write, lxml_then_note_write, lxml_new_controller]


@pytest.mark.parametrize("write", _writes(), ids=lambda w: w.__name__)
def test_a_write_is_seen_by_every_later_answer(monkeypatch, write):
    """After a check and an analyze have filled the caches, a write through the model
    (or lxml and note_write()) gives the answers of the written XML loaded afresh."""
    checked = 0
    for name, text in CORPUS[::2]:
        domain = load(text)
        if not domain.disks or domain.element.find("devices") is None:
            continue
        _checked(domain)
        _analyzed(domain, "7.2")
        write(domain)
        written = etree.tostring(domain.element)
        assert _without_lines(_checked(domain)) == _without_lines(
            _reference_check(written, monkeypatch)
        ), name
        assert _without_lines(_analyzed(domain, "7.2")) == _without_lines(
            _reference_analyze(written, "7.2", monkeypatch)
        ), name
        checked += 1
    assert checked >= 5


def test_from_argv_with_the_caches_as_without(monkeypatch):
    """from-argv builds its domain through the model, reading what it wrote: the XML it
    gives is the same with nothing kept."""
    paths = sorted(glob.glob(os.path.join(ROOT, "tests", "cases", "*.args")))
    lines = [read_command_line(open(path).read(), path) for path in paths]
    lines += [
        read_command_line(" ".join(analyze(load(text), "7.2").argv or []), name)
        for name, text in CORPUS[:10]
    ]
    assert len(lines) > 20
    for command in lines:
        made = domain_of_argv(command, "7.2")
        with _nothing_kept(monkeypatch):
            _afresh()
            reference = domain_of_argv(command, "7.2")
        assert (made.xml, _findings(made.findings)) == (
            reference.xml,
            _findings(reference.findings),
        ), command.source
