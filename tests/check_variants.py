"""The domains of tests/data/check-variants.xml, each made whole from a small x86_64 domain."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

VARIANTS = Path(__file__).parent / "data" / "check-variants.xml"

_DOMAIN = """<domain type='qemu'>
  <name>check-variant</name>
  <uuid>0b6c3d2e-5f41-4a7b-9c8d-1e2f3a4b5c6d</uuid>
  <memory unit='MiB'>512</memory>
  <vcpu placement='static'>2</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>"""


@dataclass(frozen=True)
class Variant:
    name: str
    xml: str
    expect: str  # "ok" or "error": libvirt 9.0's verdict when the variant was written
    code: str | None  # the finding virtxlate must give
    qemu_refuses: str | None = None  # libvirt lets it through, QEMU refuses it: why


def variants() -> list[Variant]:
    found = []
    for node in etree.parse(str(VARIANTS)).getroot().iterfind("variant"):
        domain = etree.fromstring(_DOMAIN)
        if node.get("machine"):
            domain.find("os/type").set("machine", node.get("machine"))
        devices = domain.find("devices")
        vcpu = domain.find("vcpu")
        for child in node:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "devices":
                devices.extend(copy.deepcopy(list(child)))
            else:
                vcpu.addnext(copy.deepcopy(child))
        etree.indent(domain)
        found.append(
            Variant(
                node.get("name"),
                etree.tostring(domain, encoding="unicode"),
                node.get("expect"),
                node.get("code"),
                node.get("qemu-refuses"),
            )
        )
    return found
