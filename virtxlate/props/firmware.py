"""UEFI firmware as libvirt 9.0 gives it to QEMU in the -blockdev era: a `<loader
type='pflash'>` and its `<nvram>` become the storage and format nodes
libvirt-pflash0-*/libvirt-pflash1-* that -machine names as pflash0= and pflash1=
(qemuBuildPflashBlockdevCommandLine, checked with libvirt 9.0's domxml-to-native).

The argv writer puts FIRMWARE before -machine and PFLASH on it.  Firmware
auto-selection (`<os firmware='efi'>`) reads the VM host's firmware descriptors, a host
fact virtxlate does not look up: said, and nothing is written.
"""

from __future__ import annotations

from ..findings import Finding, finding_at
from ..model import Domain
from ..model.system import Nvram
from ..option import Option

# libvirt's default nvram_dir (qemu.conf): a <loader readonly='yes'> without <nvram> gets
# NAME_VARS.fd there (qemuDomainNVRAMPathFormat)
NVRAM_DIR = "/var/lib/libvirt/qemu/nvram"


class Firmware:
    """The firmware's options (a plain class: a dataclass costs time at every start)."""

    __slots__ = ("options", "pflash", "findings")

    def __init__(self) -> None:
        self.options: list[Option] = []  # the -blockdev nodes
        self.pflash: list[tuple[str, str]] = []  # -machine pflashN=NODE
        self.findings: list[Finding] = []


def plan_firmware(domain: Domain, blockdev: bool) -> Firmware:
    """The pflash nodes of DOMAIN's <loader>/<nvram> (none for a ROM loader: -bios)."""
    result = Firmware()
    os = domain.os
    if os is None:
        return result
    loader = os.loader
    if os.firmware is not None and (loader is None or not (loader.path or "")):
        result.findings.append(
            finding_at(
                "VX0900",
                "warning",
                f"firmware '{os.firmware}' is chosen by libvirt "
                "from the VM host's firmware descriptors, which virtxlate does not read; no "
                "firmware is written",
                os,
                domain.source,
                xpath_suffix="/@firmware",
                hint="name the files with <loader type='pflash'> and <nvram>",
            )
        )
        return result
    if loader is None or loader.type != "pflash" or not (loader.path or "").strip():
        return result
    if not blockdev:
        result.findings.append(
            finding_at(
                "VX0900",
                "warning",
                "a pflash <loader> is not translated for this release's "
                "-drive style; it is left out",
                loader,
                domain.source,
            )
        )
        return result
    readonly = bool(loader.readonly)
    files = [("file", (loader.path or "").strip())]
    nvram = os.nvram
    vars_file = _nvram_file(nvram)
    if vars_file is not None:
        files.append(vars_file)
    elif nvram is not None and nvram.type not in (None, "file", "block"):
        result.findings.append(
            finding_at(
                "VX0900",
                "warning",
                f"an <nvram type='{nvram.type}'> is not translated; the varstore "
                "(pflash1) is left out",
                nvram,
                domain.source,
            )
        )
    elif readonly:
        files.append(("file", f"{NVRAM_DIR}/{domain.name}_VARS.fd"))
    for unit, (driver, path) in enumerate(files):
        storage, node = f"libvirt-pflash{unit}-storage", f"libvirt-pflash{unit}-format"
        result.options.append(
            Option(
                "-blockdev",
                props=[
                    ("driver", driver),
                    ("filename", path),
                    ("node-name", storage),
                    ("auto-read-only", True),
                    ("discard", "unmap"),
                ],
                origin=loader,
            )
        )
        result.options.append(
            Option(
                "-blockdev",
                props=[
                    ("node-name", node),
                    ("read-only", readonly and unit == 0),
                    ("driver", "raw"),
                    ("file", storage),
                ],
                origin=loader,
            )
        )
        result.pflash.append((f"pflash{unit}", node))
    return result


def _nvram_file(nvram: Nvram | None) -> tuple[str, str] | None:
    """(driver, path) of the varstore <nvram> names: its text (the older form), or its
    <source file=…> (type='file') or <source dev=…> (type='block', QEMU's host_device), as
    libvirt 9.0's domxml-to-native writes them; None when it names none."""
    if nvram is None:
        return None
    if (nvram.path or "").strip():
        return "file", (nvram.path or "").strip()
    if nvram.type in (None, "file") and nvram.source_file:
        return "file", nvram.source_file
    if nvram.type == "block" and nvram.source_dev:
        return "host_device", nvram.source_dev
    return None
