"""UEFI firmware as libvirt 9.0 gives it to QEMU in the -blockdev era: a `<loader
type='pflash'>` and its `<nvram>` become the storage and format nodes
libvirt-pflash0-*/libvirt-pflash1-* that -machine names as pflash0= and pflash1=
(qemuBuildPflashBlockdevCommandLine, checked with libvirt 9.0's domxml-to-native).

The argv writer puts FIRMWARE before -machine and PFLASH on it.  Firmware
auto-selection (`<os firmware='efi'>`) reads the VM host's firmware descriptors, a host
fact virtxlate does not look up: said, and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..findings import Finding, finding_at
from ..model import Domain
from ..model.fields import XmlObject
from .option import Option

# libvirt's default nvram_dir (qemu.conf): a <loader readonly='yes'> without <nvram> gets
# NAME_VARS.fd there (qemuDomainNVRAMPathFormat)
NVRAM_DIR = "/var/lib/libvirt/qemu/nvram"


@dataclass
class Firmware:
    options: list[Option] = field(default_factory=list)  # the -blockdev nodes
    pflash: list[tuple[str, str]] = field(default_factory=list)  # -machine pflashN=NODE
    findings: list[Finding] = field(default_factory=list)


def plan_firmware(domain: Domain, blockdev: bool) -> Firmware:
    """The pflash nodes of DOMAIN's <loader>/<nvram> (none for a ROM loader: -bios)."""
    result = Firmware()
    os_node = domain.element.find("os")
    if os_node is None:
        return result
    loader = os_node.find("loader")
    if os_node.get("firmware") is not None and (loader is None or not (loader.text or "")):
        result.findings.append(
            finding_at(
                "VX0900",
                "warning",
                f"firmware '{os_node.get('firmware')}' is chosen by libvirt "
                "from the VM host's firmware descriptors, which virtxlate does not read; no "
                "firmware is written",
                XmlObject(os_node),
                domain.source,
                xpath_suffix="/@firmware",
                hint="name the files with <loader type='pflash'> and <nvram>",
            )
        )
        return result
    if loader is None or loader.get("type") != "pflash" or not (loader.text or "").strip():
        return result
    if not blockdev:
        result.findings.append(
            finding_at(
                "VX0900",
                "warning",
                "a pflash <loader> is not translated for this release's "
                "-drive style; it is left out",
                XmlObject(loader),
                domain.source,
            )
        )
        return result
    readonly = loader.get("readonly") == "yes"
    files = [(loader.text or "").strip()]
    nvram = os_node.find("nvram")
    if nvram is not None and (nvram.text or "").strip():
        files.append((nvram.text or "").strip())
    elif readonly:
        files.append(f"{NVRAM_DIR}/{domain.name}_VARS.fd")
    for unit, path in enumerate(files):
        storage, node = f"libvirt-pflash{unit}-storage", f"libvirt-pflash{unit}-format"
        result.options.append(
            Option(
                "-blockdev",
                props=[
                    ("driver", "file"),
                    ("filename", path),
                    ("node-name", storage),
                    ("auto-read-only", True),
                    ("discard", "unmap"),
                ],
                origin=XmlObject(loader),
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
                origin=XmlObject(loader),
            )
        )
        result.pflash.append((f"pflash{unit}", node))
    return result
