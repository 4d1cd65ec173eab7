"""The case folder tests/cases: file names, what is compared, and regeneration.

A case is `NAME.xml` with its expected outputs beside it, one file per QEMU release (and
guest architecture, when not x86_64) — `NAME[.ARCH].qemu-VER.KIND`:

- `.args`: the command line libvirt 9.0 writes (`virsh domxml-to-native qemu-argv`), one
  word per line from the emulator on (the environment libvirt puts before it is this
  machine's);
- `.qtree`: `info qtree` of real QEMU started paused on that line (tests/qemu_start.py:
  storage on null-co, TCG);
- `.err`: `code VXnnnn` lines (the error findings virtxlate gives for it: a checked
  mapping, kept on regeneration) and the refusal they stand for, `libvirt: MESSAGE`
  (domxml-to-native refused) or `qemu: MESSAGE` (QEMU does not start on libvirt's line).

Only qemu-7.2 files can be regenerated here (libvirt 9.0 answers with the capabilities of
the installed QEMU 7.2); files of other releases are checked data written by hand from
libvirt's own test data (../shared/conformance/libvirt) and stay as they are.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from virtxlate.argv.storage import device_driver, storage_options

CASES = Path(__file__).resolve().parent / "cases"
REGENERABLE = "7.2"
URI = "qemu:///system"

_NAME = re.compile(
    r"^(?P<case>[a-z0-9-]+)(?:\.(?P<arch>[a-z0-9_]+))?\.qemu-(?P<qemu>\d+\.\d+)"
    r"\.(?P<kind>args|qtree|err)$"
)

# -device drivers virtxlate writes today besides storage (argv.storage.STORAGE_DEVICES):
# the PCI controllers and USB controllers libvirt writes or adds, and its USB hubs.  Every
# -device virtxlate writes must be storage or one of these (test_cases checks it), so a
# device kind argv starts writing is compared as soon as its driver is named here.
USB_CONTROLLERS = frozenset(
    {
        "piix3-usb-uhci",
        "piix4-usb-uhci",
        "vt82c686b-usb-uhci",
        "ich9-usb-ehci1",
        "ich9-usb-uhci1",
        "ich9-usb-uhci2",
        "ich9-usb-uhci3",
        "usb-ehci",
        "pci-ohci",
        "nec-usb-xhci",
        "qemu-xhci",
    }
)
CONTROLLERS = USB_CONTROLLERS | {
    "pci-bridge",
    "pcie-root-port",
    "ioh3420",
    "pcie-pci-bridge",
    "i82801b11-bridge",
    "pxb",
    "pxb-pcie",
    "x3130-upstream",
    "xio3130-downstream",
    "usb-hub",
    "virtio-serial-pci",
    "virtio-serial-pci-transitional",
    "virtio-serial-pci-non-transitional",
    "virtio-serial-ccw",
    "usb-ccid",
}
# host and platform devices (issue 17): their -device is compared too
HOST_AND_PLATFORM_DEVICES = frozenset(
    {
        "vfio-pci",
        "vfio-pci-nohotplug",
        "usb-host",
        "i6300esb",
        "ib700",
        "pvpanic",
        "ivshmem-plain",
        "ivshmem-doorbell",
        "pc-dimm",
        "nvdimm",
        "virtio-mem-pci",
        "virtio-pmem-pci",
    }
)
CONTROLLERS |= HOST_AND_PLATFORM_DEVICES
# the seed's virtio family beside storage (props/net.py, virtio.py, fs.py): their -device
# drivers, each virtio one also as -ccw and with the transitional suffixes
_VIRTIO_PROXIES = ("virtio-net", "virtio-balloon", "virtio-rng", "virtio-9p", "vhost-vsock")
VIRTIO_FAMILY = frozenset(
    {
        *(f"{base}-{transport}" for base in _VIRTIO_PROXIES for transport in ("pci", "ccw")),
        *(
            f"{base}-pci-{kind}"
            for base in _VIRTIO_PROXIES
            for kind in ("transitional", "non-transitional")
        ),
        "virtio-net-device",
        "e1000",
        "e1000e",
        "rtl8139",
        "vmxnet3",
        "ne2k_pci",
        "pcnet",
        "intel-iommu",
        "virtio-iommu",
        "vhost-user-fs-pci",
    }
)
CONTROLLERS |= VIRTIO_FAMILY


@dataclass(frozen=True)
class Expected:
    """One expected file: its case's XML, the release and guest arch it is for."""

    path: Path
    case: str
    arch: str | None
    qemu: str
    kind: str

    @property
    def xml(self) -> Path:
        return CASES / f"{self.case}.xml"

    @property
    def regenerable(self) -> bool:
        return self.qemu == REGENERABLE and self.arch is None


def expected_files(kind: str) -> list[Expected]:
    """Every expected file of KIND (args, qtree, err) in tests/cases, by name."""
    found = []
    for path in sorted(CASES.glob(f"*.{kind}")):
        match = _NAME.match(path.name)
        if match is None:
            raise AssertionError(f"{path.name}: not NAME[.ARCH].qemu-VER.{kind}")
        found.append(Expected(path, match["case"], match["arch"], match["qemu"], kind))
    return found


def args_words(text: str) -> list[str]:
    """The words of an .args file (libvirt's line, continuation lines joined), from the
    emulator on."""
    words = shlex.split(text.replace("\\\n", ""))
    start = next(i for i, word in enumerate(words) if word.startswith("/"))
    return words[start:]


def format_args(words: list[str]) -> str:
    """WORDS as an .args file: the emulator, then one option (flag and value) a line."""
    lines = [shlex.quote(words[0])]
    index = 1
    while index < len(words):
        flag = words[index]
        value = words[index + 1] if index + 1 < len(words) else None
        if value is not None and not value.startswith("-"):
            lines.append(f"{flag} {shlex.quote(value)}")
            index += 2
        else:
            lines.append(flag)
            index += 1
    return " \\\n".join(lines) + "\n"


def compared(words: list[str]) -> list[tuple[str, str]]:
    """The parts of a command line virtxlate writes today, in their order: the machine
    type (not its other keys: libvirt 9.0 writes -accel apart), the storage options
    (argv.storage.storage_options: -blockdev, -drive, iothread objects, the floppy
    controller's -global and storage -device) and the -device of CONTROLLERS (the USB
    controllers always: libvirt writes the machine's implicit one, so does virtxlate)."""
    storage = set(storage_options(words))
    found: list[tuple[str, str]] = []
    for flag, value in zip(words, words[1:], strict=False):
        if flag == "-machine":
            found.append((flag, re.split(r"(?<!,),(?!,)", value)[0].removeprefix("type=")))
        elif (flag, value) in storage or (
            flag == "-device" and device_driver(value) in CONTROLLERS
        ):
            found.append((flag, value))
    return found


def uncompared_devices(words: list[str]) -> list[str]:
    """The -device drivers of WORDS that compared() leaves out."""
    kept = {value for _, value in compared(words)}
    return [
        device_driver(value)
        for flag, value in zip(words, words[1:], strict=False)
        if flag == "-device" and value not in kept
    ]


def read_err(path: Path) -> tuple[list[str], list[str]]:
    """The codes and the refusals (`libvirt: …`, `qemu: …` lines) of an .err file."""
    codes, refusals = [], []
    for line in path.read_text().splitlines():
        if line.startswith("code "):
            codes.append(line.removeprefix("code ").strip())
        elif line.startswith(("libvirt: ", "qemu: ")):
            refusals.append(line)
    return codes, refusals


# -- regeneration (VIRTXLATE_REGENERATE=1): from libvirt 9.0 and QEMU 7.2, never virtxlate


@dataclass
class Regenerated:
    """What one case's regeneration wrote, and what it could not do."""

    case: str
    written: list[str]
    notes: list[str]


def _libvirt(virsh: str, xml: Path) -> tuple[list[str] | None, str]:
    answer = subprocess.run(
        [virsh, "-c", URI, "domxml-to-native", "qemu-argv", str(xml)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if answer.returncode != 0:
        return None, " ".join(answer.stderr.split())
    return args_words(answer.stdout), ""


def _qemu_qtree(words: list[str]) -> tuple[str | None, str]:
    """`info qtree` of QEMU started paused on libvirt's WORDS made runnable here, or None
    and QEMU's reason."""
    from qemu_start import TIMEOUT, runnable

    from virtxlate.qemu import QemuError, QemuProcess

    binary = shutil.which(words[0]) or words[0]
    try:
        with QemuProcess(binary, runnable(words)[1:], timeout=TIMEOUT) as qemu:
            # HMP answers with CRLF line ends
            return str(qemu.hmp("info qtree")).replace("\r\n", "\n"), ""
    except QemuError as exc:
        return None, " ".join(str(exc).split())


def _drivers(words: list[str]) -> list[str]:
    return [device_driver(v) for f, v in zip(words, words[1:], strict=False) if f == "-device"]


def _write(path: Path, text: str | None, written: list[str]) -> None:
    if text is None:
        if path.exists():
            path.unlink()
            written.append(f"removed {path.name}")
        return
    if not path.exists() or path.read_bytes() != text.encode():
        path.write_text(text)
        written.append(f"wrote {path.name}")


def regenerate(virsh: str, xml: Path) -> Regenerated:
    """Rewrite the qemu-7.2 .args, .qtree and .err of the case XML from libvirt 9.0 and
    QEMU 7.2: what libvirt writes, what QEMU builds on it, or who refuses and why.  The
    `code` lines of an existing .err are kept (virtxlate's codes are not libvirt's)."""
    from qemu_start import host_only, runnable

    stem = CASES / f"{xml.stem}.qemu-{REGENERABLE}"
    args, qtree, err = (stem.with_name(f"{stem.name}.{kind}") for kind in ("args", "qtree", "err"))
    codes = [f"code {code}\n" for code in read_err(err)[0]] if err.exists() else []
    written: list[str] = []
    notes: list[str] = []
    words, refusal = _libvirt(virsh, xml)
    tree = None
    if words is None:
        refusal = f"libvirt: {refusal}"
    elif host_only(words) is not None:
        notes.append(f"QEMU not started: {host_only(words)}")
    elif _drivers(runnable(words)) != _drivers(words):
        # a passed-through device stands in as another (qemu_start): QEMU's tree would not
        # be the one of libvirt's line, so the case has no .qtree
        notes.append("no .qtree: a device of libvirt's line runs as a stand-in here")
        refusal = ""
    else:
        tree, reason = _qemu_qtree(words)
        refusal = f"qemu: {reason}" if tree is None else ""
    _write(args, format_args(words) if words is not None else None, written)
    _write(qtree, tree, written)
    _write(err, "".join(codes) + refusal + "\n" if refusal else None, written)
    if refusal and not codes:
        notes.append(f"{err.name} has no `code` line: write the code virtxlate must give")
    return Regenerated(xml.stem, written, notes)
