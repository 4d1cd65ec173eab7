#!/usr/bin/env python3
"""Randomized differential of virtxlate's caches and deferrals against answers made without
them (issue 18's reads kept in model objects, deferred -blockdev bodies, per-table kept
lists, the batch's stream splitter).

Domains are drawn from samples/*.xml, tests/cases/*.xml, tests/data/**/*.xml and
bench/mix.py, then mutated with lxml (an attribute given another value seen in the corpus
or removed, an element duplicated, removed or its siblings reordered, an <address> added)
and compared six ways; the reference is always an answer that no earlier call could have
fed a cache:

  1 (multi)  check(domain, [1.5, 2.12, 7.2, 10.0]) in ONE call (or 2–6 releases in a
             random order, one sometimes twice) against one call per release, each on a
             freshly loaded domain;
  2 (reuse)  one Domain object through check → analyze 7.2 → analyze 2.12 (argv only) →
             check → analyze 7.2 again, each answer against the same call on a fresh load
             (findings, argv, `info qtree` text); the tree is the same after them;
  3 (batch)  `virtxlate check DIR --jobs 1 --format jsonl` and the <domain> ones fed on
             stdin as one stream (joined on one line, after blank lines, comments, and
             now and then a piece the parser refuses), in a shuffled order, against a
             fresh process per domain (`virtxlate check FILE --format json`; with
             --per-release one per domain and release, and the batch with --jobs 2 too);
  4 (writes) writes through the model (a disk's bus, a controller's model, an address's
             slot, a flag, any declared field of a device or its children given a value of
             the corpus or removed, through the same view or another over its element)
             after the domain was checked and analyzed: every declared field of every
             device list (domain.devices, domain.disks, …) and the analyze/check answers
             against a fresh load of the written tree (etree.tostring, parsed again).
             Lines are left out of this comparison only: an element the write made has
             no source line;
  5 (uncached) check, analyze and from-argv of analyze's line against the same with the
             model keeping no read (uncached(): every field, list and derived value read
             from the tree again at each use);
  6 (agree)  for each release, check's errors against analyze's (graph built).

Run from the worktree root (bounded: COUNT mutants per way, BATCH mutants for way 3):

    PYTHONPATH=. python3 tools/cache_differential.py --seed 1 --count 300 --batch 200
    PYTHONPATH=. python3 tools/cache_differential.py --ways 1,2 --count 2000 --keep /tmp/cd

Each difference is printed with the way, the seed and index of the mutant and the first
differing values; --keep DIR writes each differing mutant there as NAME.xml.  Exit status
1 when any way differed.  tests/test_fuzz9_cache_differential.py runs small counts.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import glob
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from lxml import etree

REPO = Path(__file__).resolve().parent.parent
RELEASES = ("1.5", "2.12", "7.2", "10.0")
# the elements a mutation works on: the devices and the domain-wide parts they depend on
_ODD_VALUES = ("", "0", "1", "2", "0x1f", "-1", "on", "off", "yes", "no", "none", "auto", "x")
_BUSES = ("virtio", "scsi", "sata", "ide", "usb", "fdc", "sd")
_CONTROLLER_MODELS = (
    "virtio-scsi",
    "lsilogic",
    "lsisas1068",
    "lsisas1078",
    "vmpvscsi",
    "ibmvscsi",
    "virtio-transitional",
    "piix3-uhci",
    "qemu-xhci",
    "nec-xhci",
    "ich9-ehci1",
    "pcie-root-port",
    "pci-bridge",
    "pcie-to-pci-bridge",
)
_MAX_MUTATIONS = 3


def corpus(mix: int = 60) -> list[tuple[str, bytes]]:
    """(name, XML) of every base domain: the repository's samples and test inputs and the
    first MIX domains of bench/mix.py."""
    found: list[tuple[str, bytes]] = []
    for pattern in ("samples/*.xml", "tests/cases/*.xml", "tests/data/**/*.xml"):
        for path in sorted(glob.glob(str(REPO / pattern), recursive=True)):
            found.append((os.path.relpath(path, REPO), Path(path).read_bytes()))
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from mix import domain_xml
    finally:
        sys.path.remove(str(REPO / "bench"))
    found += [(f"mix{i}", domain_xml(i).encode()) for i in range(mix)]
    return found


def value_pool(bases: Iterable[tuple[str, bytes]]) -> dict[str, list[str]]:
    """Every attribute name of the corpus with the values it takes there (sorted)."""
    pool: dict[str, set[str]] = {}
    for _, data in bases:
        try:
            root = etree.fromstring(data)
        except etree.XMLSyntaxError:
            continue
        for element in root.iter():
            for name, value in element.attrib.items():
                pool.setdefault(name, set()).add(value)
    return {name: sorted(values) for name, values in pool.items()}


def _elements(root: etree._Element) -> list[etree._Element]:
    """The elements a mutation may touch: everything below <devices>, <os> and <features>."""
    return [
        element
        for element in root.iter()
        if isinstance(element.tag, str)
        and element is not root
        and any(
            part.tag in ("devices", "os", "features", "cpu") for part in element.iterancestors()
        )
    ]


def _mutate_once(rng: random.Random, root: etree._Element, pool: dict[str, list[str]]) -> str:
    """One random edit of ROOT's tree; what it did, in a few words."""
    elements = _elements(root)
    if not elements:
        return "none"
    element = rng.choice(elements)
    kind = rng.choice(("value", "value", "drop-attr", "duplicate", "remove", "reorder", "address"))
    if kind in ("value", "drop-attr") and element.attrib:
        name = rng.choice(sorted(element.attrib))
        if kind == "drop-attr":
            del element.attrib[name]
            return f"drop @{name} of {element.tag}"
        values = pool.get(name) or list(_ODD_VALUES)
        value = rng.choice(values) if rng.random() < 0.85 else rng.choice(_ODD_VALUES)
        element.set(name, value)
        return f"{element.tag}/@{name}={value!r}"
    parent = element.getparent()
    if kind == "duplicate" and parent is not None:
        parent.insert(parent.index(element) + 1, copy.deepcopy(element))
        return f"duplicate {element.tag}"
    if kind == "remove" and parent is not None:
        parent.remove(element)
        return f"remove {element.tag}"
    if kind == "reorder" and parent is not None:
        children = list(parent)
        rng.shuffle(children)
        parent[:] = children
        return f"reorder children of {parent.tag}"
    devices = root.find("devices")
    if devices is None or not len(devices):
        return "none"
    device = rng.choice([d for d in devices if isinstance(d.tag, str)] or [devices[0]])
    old = device.find("address")
    if old is not None:
        device.remove(old)
    if device.tag == "disk" and rng.random() < 0.6:
        address = etree.SubElement(
            device,
            "address",
            type="drive",
            controller=str(rng.randint(0, 2)),
            bus=str(rng.randint(0, 1)),
            target=str(rng.randint(0, 2)),
            unit=str(rng.randint(0, 6)),
        )
    else:
        address = etree.SubElement(
            device,
            "address",
            type="pci",
            domain="0x0000",
            bus=f"0x{rng.randint(0, 3):02x}",
            slot=f"0x{rng.randint(0, 31):02x}",
            function=f"0x{rng.randint(0, 7):x}",
        )
    return f"address {etree.tostring(address).decode()} on {device.tag}"


def mutant(rng: random.Random, data: bytes, pool: dict[str, list[str]]) -> tuple[bytes, list[str]]:
    """DATA with 0–3 random edits (the same RNG state gives the same mutant), and what they
    were.  Input that lxml does not parse is returned as it is."""
    try:
        root = etree.fromstring(data)
    except etree.XMLSyntaxError:
        return data, ["unparsed"]
    done = [_mutate_once(rng, root, pool) for _ in range(rng.randint(0, _MAX_MUTATIONS))]
    return etree.tostring(root), done


def mutants(seed: int, count: int, mix: int = 60) -> list[tuple[str, bytes, list[str]]]:
    """COUNT mutants drawn with SEED: (name, XML, edits)."""
    bases = corpus(mix)
    pool = value_pool(bases)
    rng = random.Random(seed)
    made = []
    # a group first, then one of its domains: tests/data's 161 display variants would
    # otherwise be half of the mutants
    groups: dict[str, list[tuple[str, bytes]]] = {}
    for name, data in bases:
        groups.setdefault(name.split("/")[0] if "/" in name else "mix", []).append((name, data))
    for group in list(groups):
        if group == "tests":
            for name, data in groups.pop(group):
                groups.setdefault(os.path.dirname(name), []).append((name, data))
    keys = sorted(groups)
    for index in range(count):
        name, data = rng.choice(groups[rng.choice(keys)])
        text, edits = mutant(rng, data, pool)
        made.append((f"s{seed}-{index}-{Path(name).stem}", text, edits))
    return made


# --- a model that keeps no read ----------------------------------------------------------


@contextlib.contextmanager
def uncached() -> Iterator[None]:
    """While inside, every model read goes to the tree: each field, flag, child, list and
    computed value is read anew (the object's kept reads are dropped first; only its views,
    one object per element, stay, as they name no value), derived() computes again and
    domain.devices is listed again.  The reference of the in-process ways: it avoids every
    cache of model/fields.py."""
    from virtxlate.model import domain as domain_module
    from virtxlate.model import fields

    def fresh(obj: Any) -> None:
        reads = obj.__dict__
        views = reads.get("@views")
        reads.clear()
        if views is not None:
            reads["@views"] = views

    def reading(get: Callable[..., Any]) -> Callable[..., Any]:
        def read(self: Any, obj: Any, owner: Any = None) -> Any:
            if obj is not None:
                fresh(obj)
            return get(self, obj, owner)

        return read

    def keep(self: Any, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = value

    saved: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, value: Any) -> None:
        saved.append((owner, name, owner.__dict__.get(name, _ABSENT)))
        setattr(owner, name, value)

    for cls in (fields.Field, fields.Flag, fields.Child, fields.Children, fields.Computed):
        patch(cls, "__get__", reading(cls.__get__))
        if "__set__" not in cls.__dict__:  # a data descriptor: the instance dict is not read
            patch(
                cls,
                "__set__",
                (lambda self, obj, value: self.write(obj, value)) if cls is fields.Field else keep,
            )
    patch(
        fields.XmlObject,
        "derived",
        lambda self, key, compute, *args: compute(*args),
    )
    devices = domain_module.Domain.devices

    def listed(self: Any) -> Any:
        fresh(self)
        return devices.fget(self)

    patch(domain_module.Domain, "devices", property(listed))
    try:
        yield
    finally:
        for owner, name, value in reversed(saved):
            if value is _ABSENT:
                delattr(owner, name)
            else:
                setattr(owner, name, value)


_ABSENT = object()


# --- answers, as plain data ---------------------------------------------------------------


def findings(found: list[Any], lines: bool = True) -> list[list[Any]]:
    return [
        [f.code, f.severity, f.message, f.line if lines else None, f.xpath, f.hint] for f in found
    ]


def _guarded(call: Callable[[], Any]) -> Any:
    """CALL's answer, or the exception it raised as a string (a VirtxlateError is an
    answer too: both sides must raise the same)."""
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 (an exception is compared as an answer)
        return f"EXC {type(exc).__name__}: {exc}"


def check_answer(domain: Any, releases: Iterable[str], lines: bool = True) -> Any:
    from virtxlate.api import check

    def run() -> Any:
        common, per = check(domain, list(releases))
        return [findings(common, lines)] + [[t.version, findings(f, lines)] for t, f in per]

    return _guarded(run)


def analyze_answer(domain: Any, release: str, graph: bool = True, lines: bool = True) -> Any:
    from virtxlate.api import analyze
    from virtxlate.graph.render import qtree_text

    def run() -> Any:
        result = analyze(domain, release, graph=graph)
        tree = qtree_text(result.graph) if result.graph is not None else None
        return [findings(result.findings, lines), result.argv, tree]

    return _guarded(run)


def _load(data: bytes) -> Any:
    from virtxlate.api import load

    return load(data)


def _first_difference(ours: Any, reference: Any) -> str:
    """A short text naming where OURS and REFERENCE first differ."""
    if isinstance(ours, list) and isinstance(reference, list):
        for index, (a, b) in enumerate(zip(ours, reference, strict=False)):
            if a != b:
                return f"[{index}] " + _first_difference(a, b)
        extra = (ours + reference)[min(len(ours), len(reference))]
        return f"lengths {len(ours)} and {len(reference)}: extra {extra!r:.300}"
    if isinstance(ours, dict) and isinstance(reference, dict):
        for key in [*ours, *(key for key in reference if key not in ours)]:
            if ours.get(key, _ABSENT) != reference.get(key, _ABSENT):
                return f"[{key!r}] " + _first_difference(ours.get(key), reference.get(key))
    return f"{ours!r:.400}\n      reference: {reference!r:.400}"


class Difference:
    """One answer that differed from its reference."""

    def __init__(self, way: str, name: str, what: str, ours: Any, reference: Any):
        self.way, self.name, self.what = way, name, what
        self.detail = _first_difference(ours, reference)

    def __str__(self) -> str:
        return f"way {self.way} {self.name}: {self.what}: {self.detail}"


# releases way 1 draws from besides RELEASES: 2.12 and 2.11 share a table, as do 9.2 and
# 10.0 on some arches; 1.2 is the oldest table
_MORE_RELEASES = ("1.2", "2.11", "4.2", "6.2", "9.2", "11.0")


def release_set(rng: random.Random) -> tuple[str, ...]:
    """RELEASES half of the time, else 2–6 releases in a random order, sometimes one of
    them twice."""
    if rng.random() < 0.5:
        return RELEASES
    drawn = rng.sample(RELEASES + _MORE_RELEASES, rng.randint(2, 6))
    if rng.random() < 0.25:
        drawn.append(rng.choice(drawn))
    return tuple(drawn)


# --- way 1: several releases in one call --------------------------------------------------


def way_multi(name: str, data: bytes, releases: tuple[str, ...] = RELEASES) -> list[Difference]:
    """check with every release in one call against one call per release, each on a fresh
    load (the common findings are compared with each single call's)."""
    together = _guarded(lambda: _load(data))
    together = check_answer(together, releases) if not isinstance(together, str) else together
    alone = []
    for release in releases:
        domain = _guarded(lambda: _load(data))
        alone.append(check_answer(domain, [release]) if not isinstance(domain, str) else domain)
    refused = [answer for answer in alone if isinstance(answer, str)]
    if refused or isinstance(together, str):
        # one release refused (no table of it for the domain's arch, an unreadable
        # domain): the call with all of them refuses with the first one's error
        if together != (refused[0] if refused else alone):
            return [Difference("1", name, "check refused", together, refused or alone)]
        return []
    return [
        Difference("1", name, f"check --qemu {release}", ours, reference)
        for release, ours, reference in (
            # (no tables of the domain's arch: VX0305 and no release's findings)
            (release, [together[0], *together[1 + index : 2 + index]], alone[index])
            for index, release in enumerate(releases)
        )
        if ours != reference
    ]


# --- way 2: one Domain object through check and analyze -----------------------------------

_REUSE_STEPS: tuple[tuple[str, Any], ...] = (
    ("check", RELEASES),
    ("analyze", ("7.2", True)),
    ("analyze", ("2.12", False)),
    ("check", RELEASES),
    ("analyze", ("7.2", True)),
    ("analyze", ("1.5", True)),
)


def _step(domain: Any, step: tuple[str, Any]) -> Any:
    what, argument = step
    if what == "check":
        return check_answer(domain, argument)
    return analyze_answer(domain, argument[0], graph=argument[1])


def way_reuse(name: str, data: bytes) -> list[Difference]:
    """Each call of _REUSE_STEPS on one Domain object against the same call on a fresh load."""
    domain = _guarded(lambda: _load(data))
    if isinstance(domain, str):
        return []
    found = []
    before = etree.tostring(domain.element)
    for index, step in enumerate(_REUSE_STEPS):
        ours = _step(domain, step)
        reference = _step(_load(data), step)
        if ours != reference:
            found.append(
                Difference("2", name, f"step {index} {step[0]} {step[1]}", ours, reference)
            )
    after = etree.tostring(domain.element)  # (compare writes this tree: check writes none)
    if after != before:
        found.append(Difference("2", name, "the tree after check and analyze", after, before))
    return found


# --- way 4: writes through the model ------------------------------------------------------

# the device lists a domain keeps (model/domain.py's Children) and the whole list
_LISTS = (
    "devices",
    "controllers",
    "disks",
    "filesystems",
    "interfaces",
    "hostdevs",
    "serials",
    "consoles",
    "channels",
    "inputs",
    "videos",
    "sounds",
    "rngs",
    "watchdogs",
    "memballoons",
    "hubs",
    "redirdevs",
)


def _object_reads(obj: Any, depth: int = 0) -> Any:
    """Every declared field, flag and child of OBJ, read through the model (an invalid value
    as its error text)."""
    from virtxlate.model.fields import Child, Children, Computed, Flag, iter_fields

    if obj is None:
        return None
    out: dict[str, Any] = {"tag": obj.element.tag, "class": type(obj).__name__}
    for name, _ in iter_fields(type(obj)):
        out[name] = _guarded(lambda name=name: getattr(obj, name))
    for klass in type(obj).__mro__:
        for name, declared in vars(klass).items():
            if name in out:
                continue
            if isinstance(declared, Flag | Computed):
                out[name] = _guarded(lambda name=name: getattr(obj, name))
            elif isinstance(declared, Child) and depth < 3:
                child = _guarded(lambda name=name: getattr(obj, name))
                out[name] = child if isinstance(child, str) else _object_reads(child, depth + 1)
            elif isinstance(declared, Children) and depth < 3:
                items = _guarded(lambda name=name: getattr(obj, name))
                out[name] = (
                    items
                    if isinstance(items, str)
                    else [_object_reads(item, depth + 1) for item in items]
                )
    return out


def model_reads(domain: Any) -> dict[str, Any]:
    """What each device list of DOMAIN reads, and whether domain.devices holds the very
    objects the kind lists give (one view per element and class)."""
    reads: dict[str, Any] = {}
    every = _guarded(lambda: domain.devices)
    for name in _LISTS:
        items = _guarded(lambda name=name: getattr(domain, name))
        if isinstance(items, str):
            reads[name] = items
            continue
        reads[name] = [_object_reads(item) for item in items]
        if name != "devices" and not isinstance(every, str):
            same = [any(item is other for other in every) for item in items]
            reads[name + " in devices"] = same
    reads["domain"] = {
        key: value for key, value in _object_reads(domain).items() if not isinstance(value, list)
    }
    return reads


def _views(obj: Any, depth: int = 0) -> Iterator[Any]:
    """OBJ and the views of its children that are in the tree (Child), depth first."""
    from virtxlate.model.fields import Child

    yield obj
    if depth >= 2:
        return
    for klass in type(obj).__mro__:
        for name, declared in vars(klass).items():
            if isinstance(declared, Child):
                child = _guarded(lambda name=name: getattr(obj, name))
                if child is not None and not isinstance(child, str):
                    yield from _views(child, depth + 1)


def _any_write(rng: random.Random, domain: Any, pool: dict[str, list[str]]) -> str | None:
    """One write of any declared field of a device or of a child of it: a value the corpus
    gives that attribute (as its converter reads it), or None (removed); through a view
    made anew over the same element half of the time (another view of that element)."""
    from virtxlate.model.fields import iter_fields

    devices = list(domain.devices)
    if not devices:
        return None
    obj = rng.choice(list(_views(rng.choice(devices))))
    declared = list(iter_fields(type(obj)))
    if not declared:
        return None
    name, field = rng.choice(declared)
    value: Any = None
    if field.attribute is not None and rng.random() < 0.8:
        texts = pool.get(field.attribute) or list(_ODD_VALUES)
        try:
            value = field.converter.parse(rng.choice(texts))
        except (ValueError, TypeError):
            return None
    target = type(obj)(obj.element) if rng.random() < 0.5 else obj
    setattr(target, name, value)
    return f"{obj.xpath} {type(obj).__name__}.{name}={value!r}"


def _writes(rng: random.Random, domain: Any, pool: dict[str, list[str]] | None = None) -> list[str]:
    """1–3 writes through the model on DOMAIN; what they were."""
    done = []
    for _ in range(rng.randint(1, 3)):
        if pool is not None and rng.random() < 0.5:
            written = _any_write(rng, domain, pool)
            if written is not None:
                done.append(written)
            continue
        disks = list(domain.disks)
        controllers = list(domain.controllers)
        devices = list(domain.devices)
        choice = rng.randrange(6)
        if choice == 0 and disks:
            disk = rng.choice(disks)
            target = disk.target or type(disk).target.create(disk)
            bus = rng.choice(_BUSES)
            target.bus = bus
            done.append(f"{disk.xpath} target.bus={bus}")
        elif choice == 1 and controllers:
            controller = rng.choice(controllers)
            model = rng.choice(_CONTROLLER_MODELS)
            controller.model = model
            done.append(f"{controller.xpath} model={model}")
        elif choice == 2 and devices:
            device = rng.choice(devices)
            address = device.address
            if address is None:
                address = type(device).address.create(device)
                address.type = "pci"
                address.domain = 0
                address.bus = 0
                address.function = 0
            slot = rng.randint(1, 31)
            address.slot = slot
            done.append(f"{device.xpath} address.slot={slot}")
        elif choice == 3 and disks:
            disk = rng.choice(disks)
            value = not disk.readonly
            disk.readonly = value
            done.append(f"{disk.xpath} readonly={value}")
        elif choice == 4 and devices:
            device = rng.choice(devices)
            if device.address is not None:
                device.address.type = None  # (a field removed)
                done.append(f"{device.xpath} address.type removed")
        elif choice == 5 and disks:
            disk = rng.choice(disks)
            dev = rng.choice(("vda", "vdb", "sda", "sdb", "hda", "hdc", "fda"))
            if disk.target is not None:
                disk.target.dev = dev
                done.append(f"{disk.xpath} target.dev={dev}")
    return done


_LINE = re.compile(r"(?<=:)\d+(?=: error)|(?<=\bline )\d+")


def _lineless(answer: Any) -> Any:
    """ANSWER with the line numbers in its texts ('FILE:12: error', 'on line 12') made 0."""
    if isinstance(answer, str):
        return _LINE.sub("0", answer)
    if isinstance(answer, list):
        return [_lineless(item) for item in answer]
    if isinstance(answer, dict):
        return {key: _lineless(value) for key, value in answer.items()}
    return answer


def way_writes(
    name: str, data: bytes, seed: int, pool: dict[str, list[str]] | None = None
) -> list[Difference]:
    """Writes through the model after a check and an analyze of the same object: model
    reads, check and analyze against a fresh load of the written tree."""
    rng = random.Random(seed)
    domain = _guarded(lambda: _load(data))
    if isinstance(domain, str) or domain.document is None or domain.document.kind != "domain":
        return []
    check_answer(domain, ("7.2", "2.12"))
    analyze_answer(domain, "7.2")
    model_reads(domain)
    done = _guarded(lambda: _writes(rng, domain, pool))
    if isinstance(done, str) or not done:
        return []
    what = "; ".join(done)
    fresh = _load(etree.tostring(domain.element))
    found = []
    ours, reference = _lineless(model_reads(domain)), _lineless(model_reads(fresh))
    if ours != reference:
        for key in ours:
            if ours.get(key) != reference.get(key):
                found.append(
                    Difference("4", name, f"after {what}: domain.{key}", ours[key], reference[key])
                )
    for label, call in (
        ("check", lambda d: check_answer(d, ("7.2", "2.12"), lines=False)),
        ("analyze 7.2", lambda d: analyze_answer(d, "7.2", lines=False)),
        ("analyze 2.12 argv", lambda d: analyze_answer(d, "2.12", graph=False, lines=False)),
    ):
        ours = _lineless(call(domain))
        reference = _lineless(call(_load(etree.tostring(domain.element))))
        if ours != reference:
            found.append(Difference("4", name, f"after {what}: {label}", ours, reference))
    return found


# --- way 5: answers with and without the model's kept reads ------------------------------


def readback_answer(argv: Any, release: str) -> Any:
    """from-argv of ARGV (a list of words) read as RELEASE's line: the XML and findings."""
    from virtxlate.api import domain_of_argv
    from virtxlate.native.words import read_command_line

    def run() -> Any:
        back = domain_of_argv(read_command_line(json.dumps(argv)), release)
        return [back.xml, findings(back.findings)]

    return _guarded(run)


def _answers(data: bytes) -> list[tuple[str, Any]]:
    """check of every release in one call, analyze for 7.2 and 2.12 (argv only), and
    from-argv of 7.2's line, each on a fresh load of DATA."""
    answers: list[tuple[str, Any]] = [
        ("check", check_answer(_guarded(lambda: _load(data)), RELEASES)),
    ]
    for release, graph in (("7.2", True), ("2.12", False)):
        answer = analyze_answer(_guarded(lambda: _load(data)), release, graph=graph)
        answers.append((f"analyze {release}", answer))
    argv = answers[1][1][1] if not isinstance(answers[1][1], str) else None
    if argv:
        answers.append(("from-argv of 7.2's line", readback_answer(argv, "7.2")))
    return answers


def way_uncached(name: str, data: bytes) -> list[Difference]:
    """The answers of _answers against the same with no model read kept (uncached())."""
    ours = _answers(data)
    with uncached():
        reference = _answers(data)
    return [
        Difference("5", name, label, answer, dict(reference).get(label))
        for label, answer in ours
        if answer != dict(reference).get(label)
    ] + [
        Difference("5", name, f"{label} only without kept reads", None, answer)
        for label, answer in reference
        if label not in dict(ours)
    ]


# --- way 6: check and analyze agree on errors ---------------------------------------------


def way_agree(name: str, data: bytes) -> list[Difference]:
    """For each release, the errors of check against those of analyze (graph built): one
    verdict whichever command a user runs."""
    found = []
    for release in RELEASES:
        checked = check_answer(_guarded(lambda: _load(data)), [release])
        analyzed = analyze_answer(_guarded(lambda: _load(data)), release)
        if isinstance(checked, str) or isinstance(analyzed, str):
            if checked != analyzed:
                found.append(Difference("6", name, f"--qemu {release}", checked, analyzed))
            continue
        listed = checked[0] + (checked[1][1] if len(checked) > 1 else [])
        if any(f[0] == "VX0305" for f in analyzed[0]):
            # no tables of the domain's arch: analyze says only that, check its common
            # findings too (both refuse the domain)
            if not any(f[0] == "VX0305" for f in listed):
                found.append(Difference("6", name, f"--qemu {release}", listed, analyzed[0]))
            continue
        ours = sorted(f for f in listed if f[1] == "error")
        reference = sorted(f for f in analyzed[0] if f[1] == "error")
        if ours != reference:
            found.append(
                Difference(
                    "6", name, f"errors of check and analyze --qemu {release}", ours, reference
                )
            )
    return found


# --- way 3: the batch against a process per domain ----------------------------------------


def _cli(arguments: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    environment = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "virtxlate.cli", "check", *arguments],
        input=stdin,
        capture_output=True,
        env=environment,
        cwd=REPO,
        timeout=600,
        check=False,
    )


def _qemu_options(releases: tuple[str, ...]) -> list[str]:
    return [word for release in releases for word in ("--qemu", release)]


def _one_process(path: str, releases: tuple[str, ...]) -> Any:
    """A fresh process's answer for PATH: each release's findings (common ones included),
    in the order of RELEASES, or the error it printed when it found no domain there."""
    done = _cli([path, "--format", "json", *_qemu_options(releases)])
    if done.returncode not in (0, 1):
        return f"exit {done.returncode}: {done.stderr.decode(errors='replace').strip()}"
    answer = json.loads(done.stdout)
    if len(releases) > 1 and all("qemu" in entry for entry in answer):
        return [entry["findings"] for entry in answer]
    return [answer]  # one release, or none with tables of the domain's arch (VX0305)


def _split_record(record: dict[str, Any], reference: list[Any]) -> Any:
    """A batch record in the form of _one_process's answer, reading the common findings as
    a prefix the reference's releases share (the record lists common + each release's)."""
    if "findings" not in record:
        return record.get("input_error") or record.get("usage_error") or record
    listed = record["findings"]
    shortest = min(len(found) for found in reference)
    for size in range(shortest + 1):
        common = reference[0][:size]
        if all(found[:size] == common for found in reference) and listed == common + [
            f for found in reference for f in found[size:]
        ]:
            return reference  # the record is exactly common + each release's own
    return {"batch record (not common + each release's)": listed}


def _renamed(findings: list[dict[str, Any]], source: str, shift: int = 0) -> list[Any]:
    """FINDINGS with SOURCE as their source (a stream's pieces are named <stdin>#lineN),
    their lines (but none or 0) and the lines their messages name moved by SHIFT."""
    out = []
    for finding in findings:
        line = finding["line"]
        message = _MESSAGE_LINE.sub(lambda m: str(int(m.group()) + shift), finding["message"])
        out.append(
            dict(finding, source=source, line=line + shift if line else line, message=message)
        )
    return out


_MESSAGE_LINE = re.compile(r"(?<=\bline )\d+")


# how the stream's domains are joined: on lines of their own, on the line the last one
# ended, after blank lines, a comment or a processing instruction
_JOINS = (b"\n", b"\n", b"\n\n", b"", b"\n<!-- next -->\n", b"  \n", b"\n<?pi x?>\n")


# pieces of a stream the parser refuses, each one record (batch.py: the next domain is
# looked for on the next line that starts with <domain)
_REFUSED = (
    b"<network><name>n</name></network>",
    b"<domain type='kvm'><name>c</na me></domain>",
    b"<domain type='kvm'><name>&undefined;</name></domain>",
)


def _verdicts(record: dict[str, Any], expected: list[Any]) -> Any:
    """The record's verdicts (ok, and per release when several) next to the reference's:
    None when they agree."""
    per = [not any(f["severity"] == "error" for f in found) for found in expected]
    ours = [record.get("ok"), list(record.get("releases", {}).values())]
    reference = [all(per), per if len(expected) > 1 and "releases" in record else []]
    return None if ours == reference else (ours, reference)


def way_batch(
    made: list[tuple[str, bytes, list[str]]],
    releases: tuple[str, ...] = RELEASES,
    stdin: bool = True,
    workdir: str | None = None,
    per_release: bool = False,
    seed: int = 0,
) -> list[Difference]:
    """The mutants MADE (in the order given) checked by one batch process over a directory
    (--jobs 1, and --jobs 2 in the tool) and by one process reading them all on stdin
    (joined as _JOINS, drawn with SEED), against one process per file (PER_RELEASE: one
    per file and release, and the one process per file with every release compared too)."""
    found: list[Difference] = []
    with tempfile.TemporaryDirectory(dir=workdir) as top:
        paths = []
        for index, (name, data, _) in enumerate(made):
            path = os.path.join(top, f"{index:05d}-{name}.xml")
            Path(path).write_bytes(data)
            paths.append(path)
        reference = {}
        ours: dict[str, list[tuple[str, Any]]] = {path: [] for path in paths}
        for path in paths:
            together = _one_process(path, releases)
            if not per_release:
                reference[path] = together
                continue
            alone = [_one_process(path, (release,)) for release in releases]
            refused = next((answer for answer in alone if isinstance(answer, str)), None)
            reference[path] = refused or [answer[0] for answer in alone]
            if isinstance(together, str) or isinstance(reference[path], str):
                if isinstance(together, str) != isinstance(reference[path], str):
                    found.append(Difference("3", path, "one process", together, reference[path]))
            elif together != reference[path] and not (
                len(together) == 1 and all(answer == together for answer in reference[path])
            ):
                found.append(
                    Difference("3", path, "one process, every release", together, reference[path])
                )
        for jobs in ("1", "2") if per_release else ("1",):
            done = _cli([top, "--jobs", jobs, "--format", "jsonl", *_qemu_options(releases)])
            for line in done.stdout.splitlines():
                if line.strip():
                    record = json.loads(line)
                    if record.get("source") in ours:
                        ours[record["source"]].append((f"directory --jobs {jobs}", record))
        start_of: dict[str, int] = {}  # each streamed file: the stream's line it starts on
        if stdin:
            rng = random.Random(seed)
            pieces, starts, lines = [], [], 1
            order: list[str | None] = []  # each record's file (None: a refused piece)
            # a stream is of <domain> documents (batch.py): another root (a fragment, a
            # <variants> list) is refused with the next root when that is no <domain>
            streamed_made = [
                (path, item)
                for path, item in zip(paths, made, strict=True)
                if item[1].lstrip().startswith(b"<domain")
            ]
            for index, (path, (_, data, _)) in enumerate(streamed_made):
                starts.append(lines)  # the stream's line where the domain starts
                pieces.append(data + rng.choice(_JOINS))
                order.append(path)
                lines += pieces[-1].count(b"\n")
                if rng.random() < 0.1 and index + 1 < len(streamed_made):
                    # a piece the parser refuses, on a line of its own: one record (the
                    # next document is looked for on a line that starts with <domain)
                    pieces.append(b"\n" + rng.choice(_REFUSED) + b"\n")
                    order.append(None)
                    lines += 2
            stream = b"".join(pieces)
            done = _cli(["-", "--format", "jsonl", *_qemu_options(releases)], stdin=stream)
            streamed = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
            if len(streamed) != len(order):
                found.append(
                    Difference("3", "<stdin>", "stream: records", len(streamed), len(order))
                )
            start_of.update(zip([path for path, _ in streamed_made], starts, strict=True))
            for path, record in zip(order, streamed, strict=False):
                source = record.get("source", "")
                label = f"stdin stream ({source})"
                if path is None:
                    if "input_error" not in record:
                        found.append(Difference("3", source, "refused piece", record, "an error"))
                    continue
                if "findings" in record:
                    # a piece's lines count from its first (#lineN: the stream's line N),
                    # which may be a comment's before the domain: as the file's own lines
                    first = int(source.split("#line")[1]) if "#line" in source else 1
                    shift = first - start_of[path]
                    record = dict(record, findings=_renamed(record["findings"], path, shift))
                ours[path].append((label, record))
        for path in paths:
            expected = reference[path]
            if len(ours[path]) < (2 if per_release else 1) + (path in start_of):
                found.append(Difference("3", path, "records", ours[path], expected))
            for label, record in ours[path]:
                if isinstance(expected, str):
                    if "findings" in record:  # the batch found a domain, one process did not
                        found.append(Difference("3", path, label, record, expected))
                elif _split_record(record, expected) != expected:
                    found.append(
                        Difference("3", path, label, _split_record(record, expected), expected)
                    )
                elif _verdicts(record, expected) is not None:
                    found.append(
                        Difference("3", path, f"{label}: verdicts", *_verdicts(record, expected))
                    )
    return found


# --- the command ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=200, help="mutants for ways 1, 2, 4, 5, 6")
    parser.add_argument("--batch", type=int, default=100, help="mutants for way 3")
    parser.add_argument("--ways", default="1,2,3,4,5,6")
    parser.add_argument("--mix", type=int, default=60, help="bench/mix.py domains as bases")
    parser.add_argument(
        "--per-release",
        action="store_true",
        help="way 3: also a process per file and release, and the batch with --jobs 2",
    )
    parser.add_argument("--keep", help="write each differing mutant into this directory")
    options = parser.parse_args(argv)
    ways = set(options.ways.split(","))
    made = mutants(options.seed, max(options.count, options.batch), options.mix)
    pool = value_pool(corpus(options.mix))
    edits = {name: (data, done) for name, data, done in made}
    counted = dict.fromkeys(sorted(ways), 0)

    def report(differences: list[Difference]) -> None:
        for difference in differences:
            counted[difference.way] += 1
            # a batch's file is INDEX-NAME.xml
            name = difference.name
            if difference.way == "3":
                name = Path(name).stem.split("-", 1)[-1]
            data, done = edits.get(name, (None, []))
            print(f"{difference}\n      edits: {done}", flush=True)
            if options.keep and data is not None:
                os.makedirs(options.keep, exist_ok=True)
                Path(options.keep, f"{name}.xml").write_bytes(data)

    for index, (name, data, _) in enumerate(made[: options.count]):
        if "1" in ways:
            report(way_multi(name, data, release_set(random.Random(options.seed + index))))
        if "2" in ways:
            report(way_reuse(name, data))
        if "4" in ways:
            report(way_writes(name, data, options.seed * 100_003 + index, pool))
        if "5" in ways:
            report(way_uncached(name, data))
        if "6" in ways:
            report(way_agree(name, data))
    if "3" in ways:
        chosen = made[: options.batch]
        random.Random(options.seed).shuffle(chosen)
        report(way_batch(chosen, per_release=options.per_release, seed=options.seed))
    print(
        f"seed {options.seed}: {options.count} mutants (ways 1,2,4-6), {options.batch} (way 3); "
        f"differences per way: {counted}"
    )
    return 1 if any(counted.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
