"""Device fragments in small q35 and pc domains, against what libvirt 9.0 writes for them.

Each variant is a name, a machine, the XML inside <devices> (and, when needed, more of the
domain).  Its expected file, tests/data/libvirt-9.0-devices/NAME.args, is libvirt 9.0's
whole line (`virsh domxml-to-native qemu-argv`), or NAME.err its refusal; both are written
only from libvirt (VIRTXLATE_REGENERATE=1 with a running libvirtd rewrites them), never from
virtxlate.  A test compares the options of the kinds it owns (picked()), in libvirt's order.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cases_support import URI, args_words, format_args

from virtxlate.argv.storage import device_driver

DATA = Path(__file__).resolve().parent / "data" / "libvirt-9.0-devices"
REGENERATE = os.environ.get("VIRTXLATE_REGENERATE") == "1"


@dataclass(frozen=True)
class Variant:
    name: str
    machine: str
    devices: str
    extra: str = ""  # more of the domain, before <os> (memory slots, NUMA cells)

    @property
    def xml(self) -> str:
        return (
            f"<domain type='qemu'><name>{self.name}</name>"
            "<uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1a00</uuid>"
            f"<memory unit='MiB'>256</memory>{self.extra}"
            f"<os><type arch='x86_64' machine='{self.machine}'>hvm</type></os>"
            "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
            f"{self.devices}</devices></domain>"
        )

    @property
    def args(self) -> Path:
        return DATA / f"{self.name}.args"

    @property
    def err(self) -> Path:
        return DATA / f"{self.name}.err"


def both(name: str, devices: str, extra: str = "") -> list[Variant]:
    """VARIANT in a q35 and a pc domain."""
    return [Variant(f"{name}-{m}", m, devices, extra) for m in ("q35", "pc")]


def regenerate(variants: list[Variant]) -> None:
    """Rewrite the expected files of VARIANTS from libvirt 9.0 (VIRTXLATE_REGENERATE=1)."""
    virsh = shutil.which("virsh")
    if not REGENERATE or virsh is None:
        return
    DATA.mkdir(exist_ok=True)
    for variant in variants:
        xml = DATA / f"{variant.name}.xml"
        xml.write_text(variant.xml + "\n")
        answer = subprocess.run(
            [virsh, "-c", URI, "domxml-to-native", "qemu-argv", str(xml)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        xml.unlink()
        for stale in (variant.args, variant.err):
            stale.unlink(missing_ok=True)
        if answer.returncode == 0:
            variant.args.write_text(format_args(args_words(answer.stdout)))
        else:
            variant.err.write_text(" ".join(answer.stderr.split()) + "\n")


def libvirt_words(variant: Variant) -> list[str] | None:
    """libvirt's line for VARIANT; None when libvirt refuses it."""
    if variant.err.exists():
        return None
    return args_words(variant.args.read_text())


def picked(words: list[str], drivers: frozenset[str], flags: frozenset[str] = frozenset()):
    """(flag, value) of WORDS' -device options of DRIVERS, their back-end -objects and
    chardevs (ids named by those devices), and the options of FLAGS, in their order."""
    devices = [
        value
        for flag, value in zip(words, words[1:], strict=False)
        if flag == "-device" and device_driver(value) in drivers
    ]
    named = set(re.findall(r'"(?:memdev|chardev|rng)":"([^"]+)"', " ".join(devices)))
    found = []
    for flag, value in zip(words, words[1:], strict=False):
        if flag == "-device" and value in devices:
            found.append((flag, value))
        elif flag in flags:
            found.append((flag, value))
        elif flag in ("-object", "-chardev") and any(
            re.search(rf'(^|[",=]){re.escape(ident)}($|[",])', value) for ident in named
        ):
            found.append((flag, value))
    return found
