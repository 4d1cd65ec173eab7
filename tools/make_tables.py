#!/usr/bin/env python3
"""Write the capability tables of the x86_64 releases that were not captured directly.

Captured tables (virtxlate/caps/data): 1.2 and 1.5 (written from libvirt's captured QMP
replies) and 7.2 (`virtxlate caps probe` of a real binary).  Every other release's table
is derived here from them and from facts with sources:

- tools/caps-facts/x86_64-types.tsv: when storage/virtio device types came and went;
- tools/caps-facts/x86_64-props.tsv: properties that came and went;
- tools/caps-facts/x86_64-machines.tsv: machine-type families and their removals;
- ../shared/qemu-caps: libvirt's flags per release (STORAGE-FLAGS.tsv) and the machine
  lists of the fully captured libvirt caps files (1.2.2 to 2.8.0).

Everything derived is marked inferred="yes" with a note.  Run from the repository root:
    python3 tools/make_tables.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import copy
import re
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "virtxlate" / "caps" / "data"
FACTS = Path(__file__).resolve().parent / "caps-facts"

RELEASES = ["1.2", "1.3", "1.4", "1.5", "1.6", "1.7"] + [f"2.{m}" for m in range(13)] + \
    ["3.0", "3.1", "4.0", "4.1", "4.2", "5.0", "5.1", "5.2", "6.0", "6.1", "6.2", "7.0",
     "7.1", "7.2", "8.0", "8.1", "8.2", "9.0", "9.1", "9.2", "10.0", "10.1", "10.2", "11.0"]
ANCHORS = {"1.2", "1.5", "7.2"}
# the release of libvirt's captured file for each version (see ../shared/qemu-caps)
CAPTURED_RELEASE = {"1.2": "1.2.2", "1.3": "1.3.1", "1.4": "1.4.2", "1.5": "1.5.3",
                    "2.1": "2.1.1"}



def flags_and_machines(root: etree._Element, flags, inferred: bool) -> etree._Element:  # type: ignore[no-untyped-def]
    """The <flags> of a table, then its empty <machines> (marked inferred when it is)."""
    flags_node = etree.SubElement(root, "flags", source="FLAGS")
    for name in flags:
        etree.SubElement(flags_node, "flag", name=name)
    machines_node = etree.SubElement(root, "machines", source="MACHINES")
    if inferred:
        machines_node.set("inferred", "yes")
    return machines_node

def key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def index(version: str) -> int:
    return RELEASES.index(version)


def read_tsv(path: Path) -> list[list[str]]:
    rows = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append((line.split("\t") + ["", "", "", ""])[:5])
    return rows


# --- facts -------------------------------------------------------------------------------

def type_facts() -> dict[str, tuple[str, str | None, str]]:
    facts = {}
    for name, since, until, source, _ in read_tsv(FACTS / "x86_64-types.tsv"):
        facts[name] = (since.rstrip("*"), until.rstrip("*") or None,
                       source + (" (inferred)" if "*" in since + until else ""))
    return facts


def prop_facts() -> list[tuple[str, str, str, str | None, str]]:
    return [(t, p, s, u or None, src) for t, p, s, u, src in read_tsv(FACTS / "x86_64-props.tsv")]


def versioned_machine_present(kind: str, machine_version: str, release: str) -> bool:
    """QEMU's removals of versioned x86 machine types (see x86_64-machines.tsv)."""
    if key(machine_version) > key(release):
        return False
    if kind == "q35" and key(machine_version) < key("2.4") and key(release) >= key("2.6"):
        return False  # pc-q35-1.4 to 2.3 are gone in the 2.6.0 caps
    explicit = [("1.7", "8.2"), ("2.1", "9.0"), ("2.3", "9.1"), ("2.12", "10.0")]
    for newest_removed, removed_in in explicit:
        if key(machine_version) <= key(newest_removed) and key(release) >= key(removed_in):
            return False
    if key(release) >= key("10.1") and machine_version in RELEASES:
        # QEMU's versioned machine policy: removed after 6 years (18 releases)
        return index(machine_version) > index(release) - 18
    return True


def machines_for(release: str, shared: Path) -> tuple[list[dict[str, str]], bool]:
    """The machine types of RELEASE, and whether they are inferred."""
    captured = CAPTURED_RELEASE.get(release, f"{release}.0")
    path = shared / "qemu-caps" / f"caps_{captured}.x86_64.xml"
    if path.exists():
        found = re.findall(r"<machine name='([^']+)'(?: alias='([^']+)')?", path.read_text())
        machines = [{"name": n, **({"alias": a} if a else {})} for n, a in found
                    if not n.startswith(("xen", "none"))]
        return sorted(machines, key=lambda m: m["name"]), False
    machines = [{"name": "isapc"}]
    for old in ("0.10", "0.11", "0.12", "0.13", "0.14", "0.15", "1.0", "1.1", "1.2", "1.3"):
        removed = {"0.10": "4.0", "0.11": "4.0", "1.0": "6.0", "1.1": "6.0", "1.2": "6.0",
                   "1.3": "6.0"}.get(old, "5.0")
        if key(release) < key(removed) and key(old) <= key(release):
            machines.append({"name": f"pc-{old}"})
    for version in RELEASES:
        for kind in ("i440fx", "q35"):
            if key(version) >= key("1.4") and versioned_machine_present(kind, version, release):
                machines.append({"name": f"pc-{kind}-{version}"})
    if key(release) >= key("4.2"):
        machines.append({"name": "microvm"})
    if key(release) >= key("4.1") and versioned_machine_present("q35", "4.0", release):
        machines.append({"name": "pc-q35-4.0.1"})  # the 4.0.1 stable fix (inferred)
    machines.append({"name": "none"})
    if key(release) >= key("6.0"):
        machines.append({"name": "x-remote"})  # multi-process QEMU (inferred: 6.0)
    newest = {kind: max((m for m in machines if m["name"].startswith(f"pc-{kind}-")),
                        key=lambda m: key(m["name"].rsplit("-", 1)[1]))
              for kind in ("i440fx", "q35")}
    newest["i440fx"]["alias"] = "pc"
    newest["q35"]["alias"] = "q35"
    return sorted(machines, key=lambda m: m["name"]), True


def _caps_file(shared: Path, version: str) -> Path | None:
    for name in (f"caps_{version}.x86_64.xml", f"caps_{version}.x86_64.xml.head",
                 f"caps_{version}_x86_64.xml.head"):
        if (shared / "qemu-caps" / name).exists():
            return shared / "qemu-caps" / name
    return None


def _flags_in(path: Path) -> set[str]:
    return set(re.findall(r"<flag name='([^']+)'", path.read_text()))


def flags_for(release: str, shared: Path) -> tuple[list[str], str]:
    """libvirt's flags for RELEASE from its caps file in ../shared/qemu-caps; the flags
    common to the neighbouring files where libvirt has none (2.0, 2.2, 2.3)."""
    captured = CAPTURED_RELEASE.get(release, f"{release}.0")
    path = _caps_file(shared, captured)
    if path is not None:
        return sorted(_flags_in(path)), f"libvirt flags of {path.name}"
    position = index(release)
    below = next(v for v in reversed(RELEASES[:position])
                 if _caps_file(shared, CAPTURED_RELEASE.get(v, f"{v}.0")))
    above = next(v for v in RELEASES[position + 1:]
                 if _caps_file(shared, CAPTURED_RELEASE.get(v, f"{v}.0")))
    files = [_caps_file(shared, CAPTURED_RELEASE.get(v, f"{v}.0")) for v in (below, above)]
    common = _flags_in(files[0]) & _flags_in(files[1])  # type: ignore[arg-type]
    return sorted(common), (f"flags common to libvirt's {files[0].name} and {files[1].name} "  # type: ignore[union-attr]
                            "(libvirt has no caps file for this release)")


# --- building one table ------------------------------------------------------------------

def derived_copy(node: etree._Element, inferred: bool = True) -> etree._Element:
    """A copy of a captured table's element, its sources pointing at this derivation."""
    copied = copy.deepcopy(node)
    for element in copied.iter():
        if element is copied or "source" in element.attrib:
            element.set("source", "DERIVED")
    if inferred:
        copied.set("inferred", "yes")
    return copied


def load(version: str) -> etree._Element:
    return etree.parse(str(DATA / f"qemu-{version}-x86_64.xml")).getroot()


def device_nodes(table: etree._Element) -> dict[str, etree._Element]:
    return {node.get("name"): node for node in table.findall("device-type")}


def build(release: str, shared: Path, anchors: dict[str, etree._Element]) -> etree._Element:
    old = anchors["1.2"] if key(release) < key("1.5") else anchors["1.5"]
    new = anchors["7.2"]
    facts = type_facts()
    assumed = {line.strip() for line in (DATA / "libvirt-assumed-flags.txt").read_text()
               .splitlines() if line.strip() and not line.startswith("#")}

    root = etree.Element("qemu-caps", version=release, release=f"{release}.0", arch="x86_64")
    sources = {
        "DERIVED": "tools/make_tables.py: derived from the captured tables of 1.2, 1.5 and 7.2 "
                   "and the facts in tools/caps-facts/ (each type's row names its source)",
        "FLAGS": "",
        "MACHINES": "",
    }
    flags, flag_source = flags_for(release, shared)
    if key(release) >= key("2.9"):
        flags = sorted(set(flags) | assumed)
        flag_source += "; plus the flags libvirt retired and assumes (libvirt-assumed-flags.txt)"
    sources["FLAGS"] = flag_source
    machines, machines_inferred = machines_for(release, shared)
    for machine in machines:
        if machine["name"] == "q35-next":  # 1.3's q35 preview
            machine["family"] = "q35"
    sources["MACHINES"] = ("rules of tools/caps-facts/x86_64-machines.tsv" if machines_inferred
                           else "the libvirt caps file of this release in ../shared/qemu-caps")
    for source_id, text in sources.items():
        etree.SubElement(root, "source", id=source_id).text = text
    etree.SubElement(root, "emulator").text = "/usr/bin/qemu-system-x86_64"
    blockdev_era = key(release) >= key("4.2")
    etree.SubElement(root, "command-line", {
        "drive": "yes", "blockdev": "yes" if key(release) >= key("2.9") else "no",
        "json-device": "yes" if key(release) >= key("6.2") else "no",
        "libvirt-storage": "blockdev" if blockdev_era else "drive",
        "libvirt-device": "json" if key(release) >= key("6.2") else "keyval",
        "source": "DERIVED", "inferred": "yes",
        "note": "libvirt uses -blockdev from QEMU 4.2 and JSON -device from 6.2"})
    etree.SubElement(root, "qtree", {
        "value-style": "qdev-1" if key(release) < key("2.0") else "qom", "source": "DERIVED",
        "inferred": "yes", "note": "QEMU 1.x printed qdev values; the QOM style is assumed "
                                   "from 2.0"})
    machines_node = flags_and_machines(root, flags, machines_inferred)
    newest_pc = next((m for m in machines if m.get("alias") == "pc"), None)
    for machine in machines:
        name = machine["name"]
        family = "q35" if name.startswith("pc-q35") else (
            "isapc" if name == "isapc" else
            ("other" if name in ("microvm", "none", "x-remote") else "i440fx"))
        attrs = {"name": name, "family": machine.get("family", family)}
        if "alias" in machine:
            attrs["alias"] = machine["alias"]
        if machine is newest_pc:
            attrs["default"] = "yes"
        etree.SubElement(machines_node, "machine", attrs)

    # machine families: the 1.5 ones (i440fx, q35) before 2.8, the probed 7.2 ones after
    family_source = anchors["1.5"] if key(release) < key("2.8") else new
    used = {m.get("family") for m in machines_node}
    for family in family_source.findall("machine-family"):
        if family.get("name") in used:
            root.append(derived_copy(family))
    if key(release) >= key("2.4"):
        # pc-q35-2.4 and later have no built-in floppy controller (source QF-Q35-FDC)
        for fdc in root.findall("machine-family[@name='q35']/builtin[@type='isa-fdc']"):
            fdc.getparent().remove(fdc)
    for family in ("other", "isapc"):
        if family in used and root.find(f"machine-family[@name='{family}']") is None:
            etree.SubElement(root, "machine-family", {
                "name": family, "host-bridge": "none", "root-bus": "none",
                "root-bus-type": "System", "reserved-pci-slots": "",
                "libvirt-addressing": "none", "source": "DERIVED"})

    # device types
    old_types, new_types = device_nodes(old), device_nodes(new)
    chosen: dict[str, etree._Element] = {}
    for name in sorted(set(old_types) | set(new_types)):
        since, until, _ = facts.get(name, ("1.2" if name in old_types else None, None, ""))
        if name not in facts and name not in old_types:
            # a 7.2 type without a recorded 'since': abstract parents from 4.0 (the -base
            # types of the transitional split) or 2.0; concrete ones only from 7.2
            node = new_types[name]
            if node.get("abstract") == "yes":
                since = "4.0" if "-base" in name else "2.0"
            else:
                since = "7.2"
        if since is None or key(release) < key(since):
            continue
        if key(release) >= key("7.2") and name not in new_types and name not in facts:
            continue  # not in the 7.2 probe, and nothing says it came back
        if until is not None and key(release) >= key(until):
            continue
        template = old_types.get(name) if key(release) < key("7.2") and name in old_types \
            else new_types.get(name) if name in new_types else old_types[name]
        node = derived_copy(template)
        if name in facts:
            node.set("since", facts[name][0])
            node.set("note", facts[name][2])
        if template is new_types.get(name) and key(release) < key("7.2"):
            # properties of 7.2 are not known to hold before; keep the structure only
            for prop in node.findall("prop"):
                node.remove(prop)
        chosen[name] = node
    for type_name, prop_name, since, until, source in prop_facts():
        node = chosen.get(type_name)
        if node is None:
            continue
        present = key(release) >= key(since) and (until is None or key(release) < key(until))
        existing = node.find(f"prop[@name='{prop_name}']")
        if not present and existing is not None:
            node.remove(existing)
        elif present and existing is None:
            model = new_types.get(type_name)
            found = model.find(f"prop[@name='{prop_name}']") if model is not None else None
            if found is not None:
                added = copy.deepcopy(found)
                added.attrib.pop("source", None)
                added.set("since", since)
                added.set("note", source)
                node.append(added)
    for node in chosen.values():
        parent = node.get("parent")
        if parent and parent not in chosen and parent.endswith(("-base", "-base-type")) \
                and key(release) < key("4.0"):
            grand = new_types.get(parent)
            node.set("parent", grand.get("parent") if grand is not None else "virtio-pci")

    bus_types = {}
    for table in (old, new):
        for bus in table.findall("bus-type"):
            bus_types.setdefault(bus.get("name"), bus)
    needed = {n.get("plugs-into") for n in chosen.values()} | \
        {p.get("bus-type") for n in chosen.values() for p in n.findall("provides")} | \
        {b.get("type") for f in root.findall("machine-family") for b in f.iter("bus")} | \
        {f.get("root-bus-type") for f in root.findall("machine-family")}
    if key(release) >= key("1.4"):
        needed |= {"virtio-bus", "virtio-pci-bus"}
    for name in sorted(n for n in needed if n):
        bus = copy.deepcopy(bus_types[name]) if name in bus_types else \
            etree.Element("bus-type", name=name)
        bus.set("source", "DERIVED")
        root.append(bus)
    for name in sorted(chosen):
        root.append(chosen[name])
    etree.indent(root, space="  ")
    return root


# --- other architectures: derived from their 7.2 probe ----------------------------------

OTHER_ARCHES = {
    # arch: (releases, versioned machine prefix, first versioned release, alias)
    "s390x": (["2.7", "5.2", "11.0"], "s390-ccw-virtio", "2.4", "s390-ccw-virtio"),
    "aarch64": (["5.2", "11.0"], "virt", "2.6", "virt"),
}


def _arch_caps_file(shared: Path, arch: str, version: str) -> Path | None:
    for name in (f"caps_{version}.{arch}.xml", f"caps_{version}_{arch}.xml.head",
                 f"caps_{version}.{arch}.xml.head"):
        if (shared / "qemu-caps" / name).exists():
            return shared / "qemu-caps" / name
    return None


def other_flags(arch: str, release: str, shared: Path) -> tuple[list[str], str]:
    path = _arch_caps_file(shared, arch, f"{release}.0")
    if path is not None:
        return sorted(_flags_in(path)), f"libvirt flags of {path.name}"
    newest = _arch_caps_file(shared, arch, "11.0.0")
    x86 = _caps_file(shared, f"{release}.0")
    assert newest is not None and x86 is not None
    return sorted(_flags_in(newest) & _flags_in(x86)), (
        f"flags common to libvirt's {newest.name} and {x86.name} (no {arch} caps file of "
        "this release)")


def other_machines(arch: str, release: str, shared: Path) -> tuple[list[dict[str, str]], bool]:
    _, prefix, first, alias = OTHER_ARCHES[arch]
    path = _arch_caps_file(shared, arch, f"{release}.0")
    if path is not None and "<machine " in path.read_text():
        found = re.findall(r"<machine name='([^']+)'(?: alias='([^']+)')?", path.read_text())
        return sorted(({"name": n, **({"alias": a} if a else {})} for n, a in found),
                      key=lambda m: m["name"]), False
    machines = [{"name": f"{prefix}-{v}"} for v in RELEASES
                if key(v) >= key(first) and versioned_machine_present("other", v, release)]
    machines[-1]["alias"] = alias
    machines.append({"name": "none"})
    return sorted(machines, key=lambda m: m["name"]), True


def build_other(arch: str, release: str, shared: Path, template: etree._Element) -> etree._Element:
    facts = type_facts()
    root = etree.Element("qemu-caps", version=release, release=f"{release}.0", arch=arch)
    flags, flag_source = other_flags(arch, release, shared)
    machines, inferred = other_machines(arch, release, shared)
    for source_id, text in (
            ("DERIVED", f"tools/make_tables.py: derived from the {arch} probe of QEMU 7.2 and "
                        "the facts in tools/caps-facts/"),
            ("FLAGS", flag_source),
            ("MACHINES", "rules of tools/caps-facts/x86_64-machines.tsv applied to the "
                         f"{arch} machine names" if inferred else
                         "the libvirt caps file of this release in ../shared/qemu-caps")):
        etree.SubElement(root, "source", id=source_id).text = text
    etree.SubElement(root, "emulator").text = f"/usr/bin/qemu-system-{arch}"
    etree.SubElement(root, "command-line", {
        "drive": "yes", "blockdev": "yes" if key(release) >= key("2.9") else "no",
        "json-device": "yes" if key(release) >= key("6.2") else "no",
        "libvirt-storage": "blockdev" if key(release) >= key("4.2") else "drive",
        "libvirt-device": "json" if key(release) >= key("6.2") else "keyval",
        "source": "DERIVED", "inferred": "yes"})
    etree.SubElement(root, "qtree", {"value-style": "qom", "source": "DERIVED",
                                     "inferred": "yes"})
    machines_node = flags_and_machines(root, flags, inferred)
    family = next(f.get("name") for f in template.findall("machine-family")
                  if f.get("name") != "other")
    for machine in machines:
        attrs = {"name": machine["name"],
                 "family": "other" if machine["name"] == "none" else family}
        if "alias" in machine:
            attrs["alias"] = machine["alias"]
            if arch == "s390x":
                attrs["default"] = "yes"
        etree.SubElement(machines_node, "machine", attrs)
    for node in template.findall("machine-family"):
        root.append(derived_copy(node))
    for bus in template.findall("bus-type"):
        root.append(derived_copy(bus, inferred=False))
    for node in template.findall("device-type"):
        name = node.get("name")
        since, until, note = facts.get(name, (None, None, ""))
        if since is not None and key(release) < key(since):
            continue
        if until is not None and key(release) >= key(until):
            continue
        copied = derived_copy(node)
        if since is not None:
            copied.set("since", since)
            copied.set("note", note)
        if key(release) < key("7.2"):
            for prop in copied.findall("prop"):
                copied.remove(prop)   # 7.2's properties are not known to hold before
        root.append(copied)
    etree.indent(root, space="  ")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--output", default=str(DATA), help="where to write the tables")
    options = parser.parse_args()
    shared, output = Path(options.shared), Path(options.output)
    anchors = {version: load(version) for version in ANCHORS}
    for release in RELEASES:
        if release in ANCHORS:
            continue
        write_table(output, build(release, shared, anchors), release, "x86_64")
    for arch, (releases, *_rest) in OTHER_ARCHES.items():
        template = etree.parse(str(DATA / f"qemu-7.2-{arch}.xml")).getroot()
        for release in releases:
            write_table(output, build_other(arch, release, shared, template), release, arch)


def write_table(output: Path, table: etree._Element, release: str, arch: str) -> None:
    text = etree.tostring(table, encoding="unicode")
    header = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              f"<!-- QEMU {release} ({arch}): derived by tools/make_tables.py; "
              "do not edit by hand -->\n")
    (output / f"qemu-{release}-{arch}.xml").write_text(header + text + "\n")
    print(f"wrote qemu-{release}-{arch}.xml")


if __name__ == "__main__":
    main()
