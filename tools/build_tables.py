#!/usr/bin/env python3
"""Build every shipped capability table and the since/until index.

Sources, each named in the tables it feeds:
- ../shared/qemu-caps/libvirt-captures/caps_X.Y.Z_ARCH.replies.xz: what real QEMU
  binaries answered libvirt's probe; each release's table is made from them by
  virtxlate.caps.interpret, the same pure step `caps probe` uses, and its flags from
  libvirt's parse of the same binary (caps_X.Y.Z_ARCH.xml.xz);
- tools/caps-replies/probe_*.replies.xz: `caps probe` recordings of this machine's QEMU
  7.2 (x86_64, s390x, aarch64), the base for what captures do not hold (which buses a
  device provides, the machines' built-ins, properties libvirt did not ask about);
- tools/caps-sources/qemu-1.2-x86_64.xml, qemu-1.5-x86_64.xml: the 1.x bases written
  by hand from libvirt's 1.2.2/1.5.3 replies and QOM-FACTS.md, each element sourced,
  with qemu-structure.xml (the buses of the non-storage types the replies do not
  hold); the 1.2, 1.3 and 1.4 tables are made from what QEMU 1.2.2, 1.3.1 and 1.4.2
  answered libvirt (<replies> transcribed from libvirt's captured replies, in
  qemu-1.2/1.3/1.4-x86_64.xml) by the same pure step on the 1.2 base;
- tools/caps-facts/*.tsv: facts the replies do not hold, each row with its source;
- ../shared/qemu-caps/caps_*.xml(.head): libvirt's flags (and machine types) of the
  releases without captured replies, which are derived from their captured neighbours
  and marked inferred per fact.

    python3 tools/build_tables.py [--shared ../shared] [--output DIR] [--check]
"""

from __future__ import annotations

import argparse
import copy
import json
import lzma
import re
import sys
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from virtxlate.caps.answers import Answers, Exchange, read_replies  # noqa: E402
from virtxlate.caps.interpret import family_from_qtree, family_of, interpret  # noqa: E402
from virtxlate.caps.probe import retired_flags, set_flags  # noqa: E402
from virtxlate.caps.store import dumps  # noqa: E402

DATA = ROOT / "virtxlate" / "caps" / "data"
TOOLS = Path(__file__).resolve().parent
FACTS = TOOLS / "caps-facts"
SOURCES = TOOLS / "caps-sources"
REPLIES = TOOLS / "caps-replies"

# x86_64 releases virtxlate describes; those without captured replies are derived
X86_RELEASES = (
    ["1.2", "1.3", "1.4", "1.5", "1.6", "1.7"]
    + [f"2.{m}" for m in range(13)]
    + [
        "3.0",
        "3.1",
        "4.0",
        "4.1",
        "4.2",
        "5.0",
        "5.1",
        "5.2",
        "6.0",
        "6.1",
        "6.2",
        "7.0",
        "7.1",
        "7.2",
        "8.0",
        "8.1",
        "8.2",
        "9.0",
        "9.1",
        "9.2",
        "10.0",
        "10.1",
        "10.2",
        "11.0",
        "11.1",
    ]
)
# releases after the newest capture, derived from it (libvirt's flag heads exist for them)
LATER = {"x86_64": ["10.1", "10.2", "11.0", "11.1"], "s390x": ["11.0"], "aarch64": ["11.0"]}
PROBED = "7.2"


def key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def short(release: str) -> str:
    return ".".join(release.split(".")[:2])


def read_tsv(name: str) -> list[dict[str, str]]:
    """A facts file: the header line (after '# ') names the columns."""
    rows, header = [], None
    for line in (FACTS / name).read_text().splitlines():
        if line.startswith("# ") and header is None and "\t" in line:
            header = line[2:].split("\t")
            continue
        if not line.strip() or line.startswith("#"):
            continue
        assert header is not None, name
        cells = line.split("\t")
        rows.append(dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=True)))
    return rows


def in_range(release: str, since: str, until: str) -> bool:
    return (not since or key(release) >= key(since)) and (not until or key(release) < key(until))


def era(fact: str, release: str, table: etree._Element | None = None) -> bool:
    """Whether the dated fact FACT of tools/caps-facts/eras.tsv holds for RELEASE; when it
    does and TABLE is given, the table names it among its sources."""
    row = next(r for r in read_tsv("eras.tsv") if r["id"] == fact)
    holds = in_range(release, row["since"], row["until"])
    if holds and table is not None:
        _add_sources(table, {fact: row["source"]})
    return holds


# --- inputs ------------------------------------------------------------------------------


class Inputs:
    def __init__(self, shared: Path):
        self.shared = shared
        self.captures = shared / "qemu-caps" / "libvirt-captures"
        self._listed_by: dict[str, set[str]] = {}
        self.libvirt_release = {}
        for line in (self.captures / "FROM.tsv").read_text().splitlines()[1:]:
            name, release, original = (line.split("\t") + ["", ""])[:3]
            self.libvirt_release[name] = (release, original)

    def captured(self, arch: str) -> dict[str, Path]:
        found = {}
        for path in self.captures.glob(f"caps_*_{arch}.replies.xz"):
            release = path.name.split("_")[1]
            found[short(release)] = path
        return dict(sorted(found.items(), key=lambda item: key(item[0])))

    def capture_source(self, path: Path) -> tuple[str, str]:
        name = path.name.removesuffix(".xz")
        release, original = self.libvirt_release.get(name, ("?", name))
        return (
            f"CAPTURE-{name.split('_')[1]}",
            f"../shared/qemu-caps/libvirt-captures/{path.name}: the QMP replies "
            f"of a real QEMU binary captured by libvirt's tests "
            f"(tests/qemucapabilitiesdata/{original} of libvirt {release})",
        )

    def libvirt_flags(self, replies: Path) -> tuple[set[str], str]:
        xml = replies.with_name(replies.name.replace(".replies.xz", ".xml.xz"))
        with lzma.open(xml, "rt", encoding="utf-8") as handle:
            text = handle.read()
        return set(re.findall(r"<flag name='([^']+)'", text)), (
            f"libvirt's parse of the same binary: ../shared/qemu-caps/libvirt-captures/{xml.name}"
        )

    def retired_by(self, replies: Path) -> set[str]:
        """The retired flags (libvirt-assumed-flags.txt) that the libvirt release which parsed
        REPLIES lists for none of the binaries it parsed: it had retired them, so they hold
        for this binary too.  One it still lists somewhere is listed where QEMU has it."""
        release = self.libvirt_release.get(replies.name.removesuffix(".xz"), ("", ""))[0]
        if release not in self._listed_by:
            listed: set[str] = set()
            for name, (other, _) in self.libvirt_release.items():
                if other == release and name.endswith(".replies"):
                    listed |= self.libvirt_flags(self.captures / f"{name}.xz")[0]
            self._listed_by[release] = listed
        return retired_flags() - self._listed_by[release]

    def caps_file(self, arch: str, release: str) -> Path | None:
        """libvirt's caps file of RELEASE (X.Y.Z, or X.Y for any point release of it)."""
        folder = self.shared / "qemu-caps"
        point = release if release.count(".") == 2 else f"{release}.[0-9]*"
        for pattern in (
            f"caps_{point}.{arch}.xml",
            f"caps_{point}_{arch}.xml.head",
            f"caps_{point}.{arch}.xml.head",
        ):
            found = sorted(folder.glob(pattern))
            if found:
                return found[0]
        return None


def flags_in(path: Path) -> set[str]:
    return set(re.findall(r"<flag name='([^']+)'", path.read_text()))


# --- facts applied after interpretation ---------------------------------------------------


def apply_facts(table: etree._Element, arch: str) -> None:
    """The facts of tools/caps-facts that hold for TABLE's release."""
    release = table.get("version", "")
    sources: dict[str, str] = {}
    devices = {node.get("name"): node for node in table.findall("device-type")}
    for row in read_tsv("props.tsv"):
        if row["arch"] not in ("", arch) or in_range(release, row["since"], row["until"]):
            continue
        for node in _typed(devices, row["type"]):
            prop = node.find(f"prop[@name='{row['prop']}']")
            # only where the properties are not this release's own answer
            if prop is not None and prop.get("inferred") == "yes":
                node.remove(prop)
    for row in read_tsv("prop-defaults.tsv"):
        if row["arch"] not in ("", arch) or not in_range(release, row["since"], row["until"]):
            continue
        for node in _typed(devices, row["type"]):
            prop = node.find(f"prop[@name='{row['prop']}']")
            if prop is None or (
                "default" in prop.attrib
                and prop.get("inferred") != "yes"
                and prop.get("default-inferred") != "yes"
            ):
                continue  # the release's own answer wins
            sources[row["id"]] = row["source"]
            if row["default"] == "-":
                prop.attrib.pop("default", None)
            else:
                prop.set("default", row["default"])
            prop.attrib.pop("default-inferred", None)
            prop.set("default-source", row["id"])
    _add_sources(table, sources)


def _typed(devices: dict[str, etree._Element], name: str) -> list[etree._Element]:
    return list(devices.values()) if name == "*" else [devices[name]] if name in devices else []


def _add_sources(table: etree._Element, sources: dict[str, str]) -> None:
    known = {node.get("id") for node in table.findall("source")}
    last = max(i for i, child in enumerate(table) if child.tag == "source")
    for source_id, text in sorted(sources.items()):
        if source_id in known:
            continue
        node = etree.Element("source", id=source_id)
        node.text = text
        last += 1
        table.insert(last, node)


def builtin_facts(table: etree._Element, arch: str) -> None:
    """The built-ins of tools/caps-facts/builtins.tsv that hold for TABLE's release, added
    to its machine families that lack them, each after the built-in QEMU creates first."""
    release = table.get("version", "")
    qtree_families(table, arch)
    probed_builtins(table, arch)
    fact_ids = {row["id"] for row in read_tsv("builtins.tsv")}
    for row in read_tsv("builtins.tsv"):
        family = table.find(f"machine-family[@name='{row['family']}']")
        if (
            row["arch"] not in ("", arch)
            or not in_range(release, row["since"], row["until"])
            or family is None
            or family.find(f"builtin[@type='{row['type']}']") is not None
        ):
            continue
        renamed = family.find(f"builtin[@type='{row['replaces']}']") if row["replaces"] else None
        if renamed is not None:
            renamed.set("type", row["type"])
            kept = [i for i in renamed.get("source", "").split() if i not in fact_ids]
            renamed.set("source", " ".join([*kept, row["id"]]))
            _add_sources(table, {row["id"]: row["source"]})
            continue
        if not row["after"]:
            continue  # a rename only
        node = etree.Element("builtin", type=row["type"], source=row["id"])
        if row["addr"]:
            node.set("addr", row["addr"])
        for bus in row["buses"].split():
            name, _, bus_type = bus.partition(":")
            etree.SubElement(node, "bus", name=name, type=bus_type)
            if table.find(f"bus-type[@name='{bus_type}']") is None:
                last = table.findall("bus-type")[-1]
                last.addnext(etree.Element("bus-type", name=bus_type, source=row["id"]))
        previous = family.find(f"builtin[@type='{row['after']}']")
        if row["after"] == "-":
            family.insert(0, node)
        elif previous is not None:
            previous.addnext(node)
        else:
            family.append(node)
        _add_sources(table, {row["id"]: row["source"]})
    for row in read_tsv("builtin-needs.tsv"):
        if row["arch"] not in ("", arch):
            continue
        for found in table.findall(
            f"machine-family[@name='{row['family']}']/builtin[@type='{row['type']}']"
        ):
            found.set("needs", row["needs"])
            ids = found.get("source", "").split()
            found.set("source", " ".join(ids if row["id"] in ids else [*ids, row["id"]]))
            _add_sources(table, {row["id"]: row["source"]})


def qtree_families(table: etree._Element, arch: str) -> None:
    """The machine families of tools/caps-facts/qtree-families.tsv for TABLE's release: a
    machine the probe did not start (its family 'other', no built-ins) gets the family
    real QEMU's `info qtree` of that bare machine shows (tools/caps-facts/qtree/)."""
    release = table.get("version", "")
    for row in read_tsv("qtree-families.tsv"):
        machine = table.find(f"machines/machine[@name='{row['machine']}']")
        if (
            row["arch"] not in ("", arch)
            or not in_range(release, row["since"], row["until"])
            or machine is None
            or machine.get("family") != "other"
            or table.find(f"machine-family[@name='{row['family']}']") is not None
        ):
            continue
        text = (FACTS / "qtree" / row["qtree"]).read_text(encoding="utf-8")
        holder = etree.Element("families")
        family_from_qtree(
            holder, row["family"], text, tuple(row["root-bus-types"].split()), row["id"]
        )
        last = table.findall("machine-family")[-1]
        last.addnext(holder[0])
        machine.set("family", row["family"])
        _add_sources(table, {row["id"]: row["source"]})


def probed_builtins(table: etree._Element, arch: str) -> None:
    """The built-ins the 7.2 probe's `info qtree` showed (source PROBE) that
    tools/caps-facts/builtin-releases.tsv keeps for TABLE's release; the others are left
    out (a release whose machine init was not read: its built-ins are not claimed)."""
    release = table.get("version", "")
    rows = [r for r in read_tsv("builtin-releases.tsv") if r["arch"] in ("", arch)]
    for family in table.findall("machine-family"):
        for node in family.findall("builtin"):
            if "PROBE" not in node.get("source", "").split():
                continue
            row = next(
                (
                    r
                    for r in rows
                    if r["family"] == family.get("name")
                    and r["type"] == node.get("type")
                    and in_range(release, r["since"], r["until"])
                ),
                None,
            )
            if row is None:
                family.remove(node)
                continue
            ids = node.get("source", "").split()
            node.set("source", " ".join(ids if row["id"] in ids else [*ids, row["id"]]))
            _add_sources(table, {row["id"]: row["source"]})


def machine_family_era(table: etree._Element, curated15: etree._Element) -> None:
    """libvirt's placement of the 1.x era (slot 2 kept for video before QEMU 2.1's
    device-video-primary; the floppy a qdev of the ISA controller before 2.8) holds up to
    2.7: the 1.5 table's families replace the 7.2 probe's there."""
    release = table.get("version", "")
    if not era("FAMILIES-1X", release, table):
        return
    used = {m.get("family") for m in table.iterfind("machines/machine")}
    for node in table.findall("machine-family"):
        if (
            node.get("name") in used
            and curated15.find(f"machine-family[@name='{node.get('name')}']") is not None
        ):
            replacement = copy.deepcopy(
                curated15.find(f"machine-family[@name='{node.get('name')}']")
            )
            replacement.set("inferred", "yes")
            replacement.set("source", f"{replacement.get('source', '')} FAMILIES-1X".strip())
            if node.get("name") == "q35" and era("Q35-NO-FDC", release, table):
                for fdc in replacement.findall("builtin[@type='isa-fdc']"):
                    replacement.remove(fdc)
            table.replace(node, replacement)
    for source in curated15.findall("source"):
        if table.find(f"source[@id='{source.get('id')}']") is None:
            _add_sources(table, {source.get("id", ""): source.text or ""})


def command_line_era(table: etree._Element) -> None:
    """How libvirt 9.0 writes storage and devices follows its flags (blockdev from QEMU
    4.2, JSON -device with device.json from 6.2); QEMU before 2.0 printed qdev values."""
    flags = {f.get("name") for f in table.iterfind("flags/flag")}
    cmd = table.find("command-line")
    assert cmd is not None
    release = table.get("version", "")
    sources = [*cmd.get("source", "").split()[:1], "LIBVIRT-CAPS"]
    blockdev = "blockdev" in flags or era("LV-BLOCKDEV", release, table)
    json_device = any(f.startswith("device.json") for f in flags) or era(
        "LV-JSON-DEVICE", release, table
    )
    sources += [
        fact
        for fact, used in (
            ("LV-BLOCKDEV", blockdev and "blockdev" not in flags),
            ("LV-JSON-DEVICE", json_device and not any(f.startswith("device.json") for f in flags)),
        )
        if used
    ]
    cmd.set("libvirt-storage", "blockdev" if blockdev else "drive")
    cmd.set("libvirt-device", "json" if json_device else "keyval")
    cmd.set("json-device", "yes" if json_device else "no")
    cmd.set("source", " ".join(sources))
    if era("QTREE-QDEV", release, table):
        qtree = table.find("qtree")
        assert qtree is not None
        qtree.set("value-style", "qdev-1")
        qtree.set("source", "QTREE-QDEV")


# --- tables -------------------------------------------------------------------------------


def parents_of(answers: Answers) -> dict[str, str]:
    listing = (
        answers.value("qom-list-types", abstract=True) or answers.value("qom-list-types") or []
    )
    return {t["name"]: t["parent"] for t in listing if t.get("parent")}


def probe_table(inputs: Inputs, arch: str) -> etree._Element:
    path = next(REPLIES.glob(f"probe_{PROBED}.*_{arch}.replies.xz"))
    answers = read_replies(path)
    table = interpret(answers)
    table.find("source[@id='PROBE']").text += f" (recorded in tools/caps-replies/{path.name})"
    if arch == "x86_64":
        capture = inputs.captured(arch)[PROBED]
        flags, text = inputs.libvirt_flags(capture)
    else:
        # libvirt has no capture of 7.2 on this arch: the flags its x86_64 7.2 binary and
        # its 11.0 binary of this arch both have
        x86 = inputs.caps_file("x86_64", "7.2.0")
        other = inputs.caps_file(arch, "11.0.0")
        assert x86 is not None and other is not None
        flags = flags_in(x86) & flags_in(other)
        text = (
            f"libvirt capability flags read from ../shared/qemu-caps/{x86.name} and "
            f"../shared/qemu-caps/{other.name} (the flags all of them have)"
        )
    set_flags(table, flags, text)
    command_line_era(table)
    return table


def captured_table(
    inputs: Inputs, arch: str, path: Path, base: etree._Element, hints: dict[str, str]
) -> etree._Element:
    answers = read_replies(path)
    table = interpret(
        answers,
        base=base,
        parent_hints=hints,
        source=inputs.capture_source(path),
        listed_props_partial=era("BASE-1X", base.get("version", "")),
    )
    flags, text = inputs.libvirt_flags(path)
    set_flags(table, flags, text, assumed=inputs.retired_by(path))
    command_line_era(table)
    apply_facts(table, arch)
    return table


def replies_answers(replies: etree._Element, arch: str) -> Answers:
    """The conversation a <replies> element of tools/caps-sources transcribes: what a
    QEMU binary answered libvirt's qom-list-types, device-list-properties and
    query-machines."""
    major, minor, micro = (int(part) for part in replies.get("release", "").split("."))

    def exchange(execute: str, reply: dict[str, object], **arguments: object) -> Exchange:
        return Exchange(execute, dict(arguments), reply)

    version = {"qemu": {"major": major, "minor": minor, "micro": micro}, "package": ""}
    names = [line.strip() for line in (replies.findtext("types") or "").splitlines()]
    found = [
        exchange("query-version", {"return": version}),
        exchange("query-target", {"return": {"arch": arch}}),
        exchange("qom-list-types", {"return": [{"name": name} for name in names if name]}),
    ]
    for node in replies.findall("properties"):
        listed = [word.split(":", 1) for word in (node.text or "").split()]
        found.append(
            exchange(
                "device-list-properties",
                {"return": [{"name": name, "type": type_} for name, type_ in listed]},
                typename=node.get("type"),
            )
        )
    for name in (replies.findtext("not-found") or "").split():
        error = {"class": "DeviceNotFound", "desc": f"Device '{name}' not found"}
        found.append(exchange("device-list-properties", {"error": error}, typename=name))
    machines = []
    for node in replies.findall("machine"):
        machine: dict[str, object] = {"name": node.get("name")}
        if node.get("alias"):
            machine["alias"] = node.get("alias")
        if node.get("default") == "yes":
            machine["is-default"] = True
        machines.append(machine)
    found.append(exchange("query-machines", {"return": machines}))
    return Answers(found, origin=f"<replies> of QEMU {replies.get('release')}")


def _pre_refactoring_base(curated: dict[str, etree._Element], version: str) -> etree._Element:
    """The base of a release before the virtio refactoring: the hand-written 1.2 table
    (its own replies left out), and for 1.3 and 1.4 the q35 family of 1.5 (q35 came in
    1.3), which their machine types use."""
    base = copy.deepcopy(curated["1.2"])
    for replies in base.findall("replies"):
        base.remove(replies)
    if version != "1.2":
        q35 = curated["1.5"].find("machine-family[@name='q35']")
        assert q35 is not None
        base.findall("machine-family")[-1].addnext(copy.deepcopy(q35))
        for ref in sorted({r for node in q35.iter() for r in (node.get("source") or "").split()}):
            source = curated["1.5"].find(f"source[@id='{ref}']")
            if source is not None:
                _add_sources(base, {ref: source.text or ""})
    return base


def transcribed_table(
    inputs: Inputs,
    arch: str,
    source: etree._Element,
    base: etree._Element,
    hints: dict[str, str],
) -> etree._Element:
    """A release whose replies tools/caps-sources transcribes (1.2, 1.3, 1.4): the same
    pure step as a capture's on BASE, libvirt's flags of the same binary."""
    replies = source.find("replies")
    assert replies is not None
    ref = replies.get("source", "")
    text = source.find(f"source[@id='{ref}']")
    assert text is not None
    table = interpret(
        replies_answers(replies, arch),
        base=base,
        parent_hints=hints,
        source=(ref, text.text or ""),
        listed_props_partial=True,  # QEMU 1.x listed qdev properties only
    )
    caps = inputs.caps_file(arch, replies.get("release", ""))
    assert caps is not None
    # (libvirt's 1.x caps files list the flags it later retired: none assumed, as derive)
    set_flags(
        table,
        flags_in(caps),
        f"libvirt capability flags read from ../shared/qemu-caps/{caps.name}",
        assumed=set(),
    )
    command_line_era(table)
    apply_facts(table, arch)
    return table


def build_arch(
    inputs: Inputs, arch: str, curated: dict[str, etree._Element], structure: etree._Element
) -> dict[str, etree._Element]:
    captured = inputs.captured(arch)
    base_arch = "aarch64" if arch == "armv7l" else arch
    probe = probe_table(inputs, base_arch)
    # the buses of types the probe did not plug (an HDA controller's, usb-ccid's)
    add_structure(probe, structure, new_types=False)
    probe_parents = parents_of(
        read_replies(next(REPLIES.glob(f"probe_{PROBED}.*_{base_arch}.replies.xz")))
    )
    tables: dict[str, etree._Element] = {}
    if arch == base_arch and PROBED not in captured:
        tables[PROBED] = probe  # libvirt captured no 7.2 of this arch: the probe is it
    answers = {version: read_replies(path) for version, path in captured.items()}

    def hints_for(version: str, first: etree._Element | None) -> dict[str, str]:
        """Parents where a listing lacks them (before 2.10): FIRST's (a 1.x base), then
        the nearest capture's, the probe's (the abstract ones), tools/caps-facts'."""
        hints: dict[str, str] = {}
        if first is not None:
            hints.update(
                {
                    n.get("name"): n.get("parent")
                    for n in first.findall("device-type")
                    if n.get("parent")
                }
            )
        for other in sorted(
            answers,
            key=lambda v: abs(
                key(v)[0] * 100 + key(v)[1] - key(version)[0] * 100 - key(version)[1]
            ),
        ):
            for name, parent in parents_of(answers[other]).items():
                hints.setdefault(name, parent)
        for name, parent in probe_parents.items():
            hints.setdefault(name, parent)
        for row in read_tsv("parents.tsv"):
            hints.setdefault(row["type"], row["parent"])
        return hints

    for version, path in captured.items():
        if version in tables:
            continue
        base_1x = arch == "x86_64" and era("BASE-1X", version)
        base = curated["1.5"] if base_1x else probe
        table = captured_table(
            inputs, arch, path, base, hints_for(version, curated["1.5"] if base_1x else None)
        )
        if arch == "x86_64":
            machine_family_era(table, curated["1.5"])
        tables[version] = table
    if arch == "x86_64":
        # before the refactoring: the 1.2 base, with 1.5's q35 family for 1.3 and 1.4
        for version in ("1.2", "1.3", "1.4"):
            source = curated["1.2"] if version == "1.2" else _source(f"qemu-{version}-x86_64.xml")
            base = _pre_refactoring_base(curated, version)
            tables[version] = transcribed_table(
                inputs, arch, source, base, hints_for(version, curated["1.2"])
            )
        for version, lower, upper in (
            ("2.0", "1.7", "2.1"),
            ("2.2", "2.1", "2.4"),
            ("2.3", "2.1", "2.4"),
        ):
            tables[version] = derive(inputs, arch, version, tables[lower], tables[upper])
    newest = max(tables, key=key)
    for version in LATER.get(arch, []):
        tables[version] = derive(inputs, arch, version, tables[newest], None)
        newest = version
    for table in tables.values():
        builtin_facts(table, arch)  # the rows dated within a release range (renamed types)
        prop_facts(table, structure)
    return dict(sorted(tables.items(), key=lambda item: key(item[0])))


# --- derived releases --------------------------------------------------------------------


def derive(
    inputs: Inputs, arch: str, release: str, lower: etree._Element, upper: etree._Element | None
) -> etree._Element:
    """A release without captured replies: what its captured neighbours agree on, the
    types a dated fact puts in it, libvirt's flags (its caps file, else the flags both
    neighbours have), its machine types (its caps file, else the lower neighbour's and its
    own versioned ones minus the dated removals).  What the neighbours disagree on and no
    fact settles is listed as uncertain: its absence gives a warning, never an error."""
    table = copy.deepcopy(lower)
    table.set("version", release)
    table.set("release", f"{release}.0")
    for node in table.iter():
        if node.tag in ("device-type", "machine-family", "bus-type", "machines", "prop"):
            node.set("inferred", "yes")
    sources = {
        "DERIVED": (
            f"tools/build_tables.py: no captured replies of QEMU {release} ({arch}); derived from "
            f"the table of {lower.get('version')}"
            + (f" and of {upper.get('version')}" if upper is not None else "")
            + "; each element marked inferred; its own source ids name the neighbour's sources"
        )
    }
    # device types
    facts = {row["type"]: row for row in read_tsv("types.tsv") if row["arch"] in ("", arch)}
    uncertain: list[str] = []
    if upper is not None:
        upper_types = {n.get("name"): n for n in upper.findall("device-type")}
        lower_types = {n.get("name") for n in lower.findall("device-type")}
        for node in table.findall("device-type"):
            name = node.get("name")
            fact = facts.get(name)
            if name in upper_types:
                continue
            if fact is not None and fact["until"] and key(release) >= key(fact["until"]):
                table.remove(node)
            elif fact is None or not fact["until"]:
                table.remove(node)
                uncertain.append(name)
        for name, node in upper_types.items():
            if name in lower_types:
                continue
            fact = facts.get(name)
            if fact is not None and fact["since"] and key(release) >= key(fact["since"]):
                copied = copy.deepcopy(node)
                copied.set("inferred", "yes")
                copied.set("since", fact["since"])
                copied.set("since-source", f"FACT-{name}")
                sources[f"FACT-{name}"] = fact["source"]
                table.append(copied)
            elif fact is None or not fact["since"] or key(release) >= key(fact["since"]):
                uncertain.append(name)
    else:
        for node in table.findall("device-type"):
            fact = facts.get(node.get("name"))
            if fact is not None and fact["until"] and key(release) >= key(fact["until"]):
                table.remove(node)
                sources[f"FACT-{node.get('name')}"] = fact["source"]
    # flags
    path = inputs.caps_file(arch, release)
    if path is not None:
        table.set("release", re.sub(r"^caps_(\d+\.\d+\.\d+).*", r"\1", path.name))
        flags, text = (
            flags_in(path),
            f"libvirt capability flags read from ../shared/qemu-caps/{path.name}",
        )
    else:
        assert upper is not None
        flags = {f.get("name") for f in lower.iterfind("flags/flag")} & {
            f.get("name") for f in upper.iterfind("flags/flag")
        }
        text = (
            f"the flags the tables of {lower.get('version')} and "
            f"{upper.get('version')} both have (libvirt has no caps file of {release})"
        )
    # the neighbours' tables have the retired flags already where they hold
    set_flags(
        table, flags, text, assumed=retired_flags() if era("ASSUME-RETIRED", release) else set()
    )
    command_line_era(table)
    # machines
    _derive_machines(table, arch, release, lower, path, sources)
    _families_from(table, upper)
    for node in table.findall("uncertain"):
        table.remove(node)
    uncertain = [name for name in uncertain if not any(c.isspace() for c in name)]
    if uncertain:
        holder = etree.Element(
            "uncertain",
            kind="device-type",
            source="DERIVED",
            names=" ".join(sorted(set(uncertain))),
        )
        table.find("machines").addnext(holder)  # type: ignore[union-attr]
    _add_sources(table, sources)
    apply_facts(table, arch)
    _keep_upper_sources(table, upper)
    etree.indent(table, space="  ")
    return table


def _keep_upper_sources(table: etree._Element, upper: etree._Element | None) -> None:
    """The sources that the types copied from the upper neighbour name."""
    if upper is None:
        return
    known = {node.get("id") for node in table.findall("source")}
    needed = {ref for node in table.iter() for ref in (node.get("source") or "").split()}
    needed |= {
        node.get("structure-source") for node in table.iter() if node.get("structure-source")
    }
    for ref in sorted(ref for ref in needed if ref not in known):
        original = upper.find(f"source[@id='{ref}']")
        if original is not None:
            _add_sources(table, {ref: original.text or ""})


def _derive_machines(
    table: etree._Element,
    arch: str,
    release: str,
    lower: etree._Element,
    caps: Path | None,
    sources: dict[str, str],
) -> None:
    machines = table.find("machines")
    assert machines is not None
    families = {m.get("name"): m.get("family") for m in lower.iterfind("machines/machine")}
    # query-machines' acpi (QEMU 8.0 on), default-ram-id, default-cpu-type: the caps heads
    # lack: the lower neighbour's for the same machine, else for its family (a new type)
    known = {
        attr: {
            key: m.get(attr)
            for m in lower.iterfind(f"machines/machine[@{attr}]")
            for key in (m.get("family"), m.get("name"))
        }
        for attr in ("acpi", "default-ram-id", "default-cpu-type")
    }
    text = caps.read_text() if caps is not None else ""
    found = re.findall(
        r"<machine (?:type='[^']*' )?name='([^']+)'(?: alias='([^']+)')?"
        r"[^>]*?(?:default='(yes)')?",
        text,
    )
    if found:
        names = [(n, a or None) for n, a, _ in found]
        machines.set("source", "CAPS-MACHINES")
        machines.attrib.pop("inferred", None)
        sources["CAPS-MACHINES"] = f"machine types of libvirt's ../shared/qemu-caps/{caps.name}"
    else:
        names = _machines_by_rule(arch, release, lower, sources)
        machines.set(
            "source",
            " ".join(
                sorted(
                    {*(lower.find("machines").get("source") or "").split()}  # type: ignore[union-attr]
                    | {
                        r["id"]
                        for r in read_tsv("machines.tsv")
                        if r["arch"] == arch
                        and (r["kind"] == "versioned" or in_range(release, r["since"], ""))
                    }
                )
            ),
        )
        machines.set("inferred", "yes")
    for child in list(machines):
        machines.remove(child)
    for name, alias in sorted(names, key=lambda item: item[0]):
        family = families.get(name) or family_of(name)
        attrs = {"name": name, "family": family}
        if alias:
            attrs["alias"] = alias
            if alias in ("pc", "s390-ccw-virtio"):
                attrs["default"] = "yes"
        for attr, values in known.items():
            if values.get(name) or values.get(family):
                attrs[attr] = values.get(name) or values[family]
        etree.SubElement(machines, "machine", attrs)


def _families_from(table: etree._Element, upper: etree._Element | None) -> None:
    """A family the derived machine list uses and the lower neighbour lacks (q35 in 1.3):
    the upper neighbour's; else its machines count as 'other'."""
    for machine in table.iterfind("machines/machine"):
        family = machine.get("family")
        if table.find(f"machine-family[@name='{family}']") is not None:
            continue
        found = upper.find(f"machine-family[@name='{family}']") if upper is not None else None
        if found is None:
            machine.set("family", "other")
            if table.find("machine-family[@name='other']") is None:
                last = table.findall("machine-family")[-1]
                last.addnext(
                    etree.Element(
                        "machine-family",
                        {
                            "name": "other",
                            "host-bridge": "none",
                            "root-bus": "none",
                            "root-bus-type": "System",
                            "reserved-pci-slots": "",
                            "libvirt-addressing": "none",
                            "source": "DERIVED",
                        },
                    )
                )
            continue
        copied = copy.deepcopy(found)
        copied.set("inferred", "yes")
        table.findall("machine-family")[-1].addnext(copied)


def _machines_by_rule(
    arch: str, release: str, lower: etree._Element, sources: dict[str, str]
) -> list[tuple[str, str | None]]:
    """The lower neighbour's machine types, its own versioned ones, minus the removals
    of tools/caps-facts/machines.tsv that fall in this release."""
    names = {m.get("name"): m.get("alias") for m in lower.iterfind("machines/machine")}
    rows = [r for r in read_tsv("machines.tsv") if r["arch"] == arch]
    for row in rows:
        if row["kind"] == "versioned":
            for old in list(names):
                if old.startswith(row["prefix"] + "-") and names[old] is not None:
                    names[old] = None  # the alias moves to the new release's type
            names[f"{row['prefix']}-{release}"] = row["alias"] or None
            sources[row["id"]] = row["source"]
        elif row["kind"] == "removed-before" and in_range(release, row["since"], ""):
            limit = row["limit"]
            for old in list(names):
                match = re.fullmatch(re.escape(row["prefix"]) + r"-(\d+\.\d+)", old or "")
                if match and key(match.group(1)) <= key(_minus_releases(release, int(limit))):
                    del names[old]
            sources[row["id"]] = row["source"]
    return list(names.items())


def _minus_releases(release: str, count: int) -> str:
    return X86_RELEASES[X86_RELEASES.index(release) - count]


# --- index ----------------------------------------------------------------------------------


def index_of(tables: dict[str, dict[str, etree._Element]]) -> dict[str, object]:
    """For each arch: the releases, and per device type, bus type, machine type and flag
    the positions of the releases that have it (since/until without loading tables)."""
    result: dict[str, object] = {}
    for arch, by_version in tables.items():
        versions = list(by_version)
        entry: dict[str, object] = {
            "versions": versions,
            "tables": [
                {
                    "version": version,
                    "release": table.get("release"),
                    "devices": len(table.findall("device-type")),
                    "machines": len(table.findall("machines/machine")),
                    "storage": table.find("command-line").get("libvirt-storage"),  # type: ignore
                    "origin": _origin(table),
                }
                for version, table in by_version.items()
            ],
        }
        for what, xpath in (
            ("devices", "device-type"),
            ("buses", "bus-type"),
            ("machines", "machines/machine"),
            ("flags", "flags/flag"),
        ):
            found: dict[str, list[int]] = {}
            for position, table in enumerate(by_version.values()):
                for node in table.iterfind(xpath):
                    found.setdefault(node.get("name", ""), []).append(position)
                    if what == "devices":
                        for alias in (node.get("aliases") or "").split():
                            found.setdefault(alias, []).append(position)
                    if what == "machines" and node.get("alias"):
                        found.setdefault(node.get("alias", ""), []).append(position)
            entry[what] = {name: _ranges(sorted(set(p))) for name, p in sorted(found.items())}
        entry["uncertain"] = {
            str(position): sorted(
                " ".join(n.get("names", "") for n in table.findall("uncertain")).split()
            )
            for position, table in enumerate(by_version.values())
            if table.find("uncertain") is not None
        }
        result[arch] = entry
    return result


def _origin(table: etree._Element) -> str:
    """Where a release's facts come from, in a few words (caps list, README)."""
    ids = [node.get("id", "") for node in table.findall("source")]
    if table.find("source[@id='DERIVED']") is not None:
        return "derived from neighbours"
    if ids and ids[0] == "PROBE":
        return "probed binary"
    if any(i.startswith("CAPTURE-") for i in ids):
        return "captured replies"
    return "hand-written from replies"


def _ranges(positions: list[int]) -> list[list[int]]:
    ranges: list[list[int]] = []
    for position in positions:
        if ranges and ranges[-1][1] == position - 1:
            ranges[-1][1] = position
        else:
            ranges.append([position, position])
    return ranges


# --- main --------------------------------------------------------------------------------


def build(shared: Path) -> dict[str, dict[str, etree._Element]]:
    inputs = Inputs(shared)
    curated = {v: _source(f"qemu-{v}-x86_64.xml") for v in ("1.2", "1.5")}
    structure = _source("qemu-structure.xml")
    for table in curated.values():
        add_structure(table, structure, new_types=True)
        builtin_facts(table, "x86_64")
    return {
        arch: build_arch(inputs, arch, curated, structure)
        for arch in ("x86_64", "s390x", "aarch64", "armv7l")
    }


def _source(name: str) -> etree._Element:
    return etree.parse(str(SOURCES / name), etree.XMLParser(remove_comments=True)).getroot()


def add_structure(table: etree._Element, structure: etree._Element, new_types: bool) -> None:
    """The facts of tools/caps-sources/qemu-structure.xml (which bus a type plugs
    into, which buses it provides) where TABLE lacks them: on a type it has that names
    none, and with NEW_TYPES (a hand-written 1.x base) as a type of its own where it has
    none, for the replies of the releases built on it to pick."""
    devices = {node.get("name"): node for node in table.findall("device-type")}
    used: set[str] = set()
    last = table.findall("device-type")[-1]
    for fact in structure.findall("device-type"):
        node = devices.get(fact.get("name"))
        if node is None:
            if not new_types:
                continue
            node = copy.deepcopy(fact)
            for prop in node.findall("prop"):
                node.remove(prop)  # dated: prop_facts adds them where they hold
            last.addnext(node)
            last = node
        else:
            added = False
            if node.get("plugs-into") is None and fact.get("plugs-into"):
                node.set("plugs-into", fact.get("plugs-into", ""))
                added = True
            if node.find("provides") is None and fact.find("provides") is not None:
                position = next(
                    (i for i, child in enumerate(node) if child.tag != "provides"), len(node)
                )
                for offset, provides in enumerate(fact.findall("provides")):
                    copied = copy.deepcopy(provides)
                    copied.set("source", fact.get("source", ""))
                    node.insert(position + offset, copied)
                added = True
            if not added:
                continue
        used.update((fact.get("source") or "").split())
    _add_sources(
        table,
        {s.get("id", ""): s.text or "" for s in structure.findall("source") if s.get("id") in used},
    )


def prop_facts(table: etree._Element, structure: etree._Element) -> None:
    """The dated properties of tools/caps-sources/qemu-structure.xml that TABLE's type
    lacks in the release range they hold for (properties a base copied from 7.2 does not
    have, such as isa-fdc's driveA of the -drive era), each marked inferred."""
    release = table.get("version", "")
    used: set[str] = set()
    for fact in structure.findall("device-type"):
        node = table.find(f"device-type[@name='{fact.get('name')}']")
        if node is None:
            continue
        for prop in fact.findall("prop"):
            if not in_range(release, prop.get("since", ""), prop.get("until", "")):
                continue
            if node.find(f"prop[@name='{prop.get('name')}']") is not None:
                continue
            attrs = {k: v for k, v in prop.attrib.items() if k not in ("since", "until")}
            etree.SubElement(node, "prop", {**attrs, "inferred": "yes"})
            used.update(attrs.get("source", "").split())
    _add_sources(
        table,
        {s.get("id", ""): s.text or "" for s in structure.findall("source") if s.get("id") in used},
    )


def files_of(tables: dict[str, dict[str, etree._Element]]) -> dict[str, str]:
    files = {}
    for arch, by_version in tables.items():
        for version, table in by_version.items():
            files[f"qemu-{version}-{arch}.json"] = dumps(table)
    files["index.json"] = json.dumps(index_of(tables), separators=(",", ":"), sort_keys=True) + "\n"
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--output", default=str(DATA), help="where to write the tables")
    parser.add_argument(
        "--no-validate", action="store_true", help="skip the schema validation of each table"
    )
    options = parser.parse_args()
    tables = build(Path(options.shared))
    if not options.no_validate:
        from virtxlate.caps.tables import validate

        for by_version in tables.values():
            for table in by_version.values():
                validate(table)
    output = Path(options.output)
    for old in output.glob("qemu-*.json"):
        old.unlink()
    for name, text in files_of(tables).items():
        (output / name).write_text(text, encoding="utf-8")
    print(f"wrote {sum(len(t) for t in tables.values())} tables and index.json to {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
