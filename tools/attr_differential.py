#!/usr/bin/env python3
"""virtxlate's check against libvirt's own verdict, attribute value by attribute value.

    python3 tools/attr_differential.py [--per-attribute 8] [--out results.jsonl]

Needs libvirt-python and a running libvirtd (`bash .ci/start-libvirtd`).  Each sample of
samples/ that both accept is mutated one attribute at a time: the attribute set to each
of VALUES or removed (source paths left alone); libvirt's domainXMLToNative and
virtxlate's check for QEMU 7.2 judge every mutant.  It prints the counts of agreement,
of missed errors (libvirt refuses, check accepts) and of false errors (check refuses,
libvirt accepts: some are right, where QEMU refuses libvirt's line — start QEMU on it to
tell), grouped by element and attribute, and writes every verdict as JSON lines.

A measurement, not a test: its numbers go into closing notes and issues.
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import sys
from pathlib import Path

from lxml import etree

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from virtxlate.api import check, load  # noqa: E402

VALUES: tuple[str | None, ...] = (
    *("", "x", "0", "1", "-1", " 1", "1 ", "99999999999", "0x10"),
    *("yes", "no", "on", "off", None),  # None: the attribute removed
)
# libvirt 9.0's daemon segfaults on these (element, attribute, value): never sent to it
CRASHES_LIBVIRTD = {("source", "name", "")}
SKIPPED = {("source", "file"), ("source", "dir"), ("source", "path")}


def mutants(sample: Path, per_attribute: int, counts: collections.Counter[tuple[str, str]]):
    """(element tag, attribute, value, XML) of each mutant of SAMPLE."""
    root = etree.parse(str(sample)).getroot()
    elements = list(root.iter(etree.Element))
    for number, element in enumerate(elements):
        for attribute in list(element.attrib):
            key = (element.tag, attribute)
            if key in SKIPPED or counts[key] >= per_attribute:
                continue
            counts[key] += 1
            for value in VALUES:
                if value == element.get(attribute):
                    continue
                changed = copy.deepcopy(root)
                target = list(changed.iter(etree.Element))[number]
                if value is None:
                    del target.attrib[attribute]
                else:
                    target.set(attribute, value)
                yield element.tag, attribute, value, etree.tostring(changed, encoding="unicode")


def libvirt_verdict(connection, xml: str) -> tuple[bool, str]:  # type: ignore[no-untyped-def]
    import libvirt

    try:
        connection.domainXMLToNative("qemu-argv", xml, 0)
        return True, ""
    except libvirt.libvirtError as exc:
        return False, str(exc).splitlines()[0] if str(exc) else ""


def virtxlate_verdict(xml: str) -> tuple[bool, str]:
    try:
        common, per_release = check(load(xml), ("7.2",))
    except Exception as exc:  # a load error is a refusal; a crash says its type
        return False, f"{type(exc).__name__}: {exc}".splitlines()[0]
    errors = [f for f in common + [f for _, fs in per_release for f in fs] if f.is_error]
    return (False, f"{errors[0].code} {errors[0].message}") if errors else (True, "")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--per-attribute", type=int, default=8, help="elements per attribute")
    parser.add_argument("--out", default="attr-differential.jsonl", help="the verdicts")
    options = parser.parse_args()
    import libvirt

    libvirt.registerErrorHandler(lambda _context, _error: None, None)  # (no stderr echo)
    connection = libvirt.open("qemu:///system")
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    classes: collections.Counter[str] = collections.Counter()
    groups: dict[str, collections.Counter[str]] = {
        "missed": collections.Counter(),
        "false": collections.Counter(),
    }
    with open(options.out, "w") as out:
        for sample in sorted((REPO / "samples").glob("*.xml")):
            text = sample.read_text()
            if not (libvirt_verdict(connection, text)[0] and virtxlate_verdict(text)[0]):
                continue  # both must accept the sample itself
            for tag, attribute, value, xml in mutants(sample, options.per_attribute, counts):
                if (tag, attribute, value) in CRASHES_LIBVIRTD:
                    continue
                theirs, their_message = libvirt_verdict(connection, xml)
                ours, our_message = virtxlate_verdict(xml)
                kind = "agree" if theirs == ours else ("missed" if ours else "false")
                classes[kind] += 1
                if kind != "agree":
                    groups[kind][f"{tag}/@{attribute}"] += 1
                row = {"sample": sample.name, "element": tag, "attribute": attribute}
                row |= {"value": value, "libvirt": their_message if not theirs else "accepts"}
                row |= {"virtxlate": our_message if not ours else "accepts", "class": kind}
                out.write(json.dumps(row) + "\n")
    print(", ".join(f"{kind}: {count}" for kind, count in sorted(classes.items())))
    for kind, title in (("false", "false errors"), ("missed", "missed errors")):
        print(f"{title} by attribute:")
        for where, count in groups[kind].most_common(40):
            print(f"  {count:4}  {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
