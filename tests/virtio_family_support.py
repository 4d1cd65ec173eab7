"""What tests/test_net.py and tests/test_virtio_devices.py share: a domain around a device
fragment, libvirt 9.0's line for it (virsh domxml-to-native) and the options of the seed's
virtio family in a line, with the values only a libvirt-run process knows made equal.

The placeholders virtxlate writes for those values (props/net.py, virtio.py, fs.py) and
what libvirt's dry run writes in their place:
- a tap's descriptor: ``<tap-fd:ALIAS>`` for the number libvirt passes (``"fd":"25"``);
- vhost-vsock's descriptor: ``<vhost-vsock-fd:ALIAS>`` for ``"vhostfd":"-1"`` (the dry run
  opens nothing) and an automatic guest CID ``<vsock-cid:ALIAS>`` for ``"guest-cid":0``;
- virtiofsd's socket in the running domain's directory: ``domain-<id>-NAME`` for the dry
  run's ``domain--1-NAME``;
- the MAC libvirt draws for an interface without one: ``<random-mac:ALIAS>`` (made equal
  only where asked: the written MACs are compared).
"""

from __future__ import annotations

import re
import shlex
import uuid

from cases_support import VIRTIO_FAMILY
from conftest import virsh_run
from qemu_start import _json_or_keyval

from virtxlate.argv.runtime import RUNTIME_ONLY
from virtxlate.argv.storage import device_driver
from virtxlate.model import Domain

_FAMILY_OBJECTS = ("rng-random", "rng-egd", "rng-builtin")
# what only a libvirt-run process knows, by the package's own list (argv/runtime.py): the
# entries that leave a NIC's back-end as it is (this file compares started lines too)
_RUNTIME = tuple(
    rule
    for rule in RUNTIME_ONLY
    if rule.name
    in ("passed descriptors", "per-domain paths", "automatic vsock CID", "generated MACs")
)


def domain_xml(machine: str, devices: str, features: str = "", extra: str = "") -> str:
    """A small KVM-less domain on MACHINE holding DEVICES (no balloon unless DEVICES has
    one: libvirt's own is tested apart), with FEATURES and EXTRA (memoryBacking …)."""
    balloon = "" if "<memballoon" in devices else "<memballoon model='none'/>"
    return (
        f"<domain type='qemu'><name>vx-family</name><uuid>{uuid.uuid4()}</uuid>"
        f"<memory unit='MiB'>256</memory>{extra}"
        f"<os><type arch='x86_64' machine='{machine}'>hvm</type></os>"
        f"{features and '<features>' + features + '</features>'}"
        "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
        f"{devices}{balloon}</devices></domain>"
    )


def libvirt_words(virsh: str, xml: str, tmp_path) -> tuple[list[str] | None, str]:
    """libvirt 9.0's line for XML from the emulator on, or None and libvirt's refusal."""
    path = tmp_path / "domain.xml"
    path.write_text(xml)
    result = virsh_run(virsh, "domxml-to-native", "qemu-argv", str(path))
    if result.returncode != 0:
        return None, result.stderr.strip()
    words = shlex.split(result.stdout.replace("\\\n", ""))
    start = next(i for i, word in enumerate(words) if word.startswith("/"))
    return words[start:], ""


def runtime_equal(flag: str, value: str, domain: Domain | None) -> str:
    """VALUE with what only a libvirt-run process knows (and virtxlate's placeholders for
    it) written alike; DOMAIN says which MACs and vsock CIDs libvirt draws."""
    pairs: list[tuple[str, str | None]] = [(flag, value)]
    for rule in _RUNTIME:
        pairs = rule.apply(pairs, domain)
    return str(pairs[0][1])


def family_options(words: list[str], domain: Domain | None = None) -> list[tuple[str, str]]:
    """The options of the virtio family in WORDS, in order: -netdev, -fsdev, the RNG
    back-end objects and their chardevs, virtiofsd's socket, and the family's -device
    (runtime_equal: DOMAIN, the XML's model, says which MACs and CIDs libvirt draws)."""
    found = []
    for flag, value in zip(words, words[1:], strict=False):
        keep = flag in ("-netdev", "-fsdev")
        if flag == "-object":
            data, _ = _json_or_keyval(value)
            keep = data.get("qom-type", value.split(",", 1)[0]) in _FAMILY_OBJECTS
        elif flag == "-chardev":
            keep = re.search(r"id=(charrng|chr-vu-)", value) is not None
        elif flag == "-device":
            keep = device_driver(value) in VIRTIO_FAMILY
        if keep:
            found.append((flag, runtime_equal(flag, value, domain)))
    return found
