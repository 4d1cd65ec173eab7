"""Shared filesystems as libvirt writes them: 9p (-fsdev + virtio-9p) and virtiofs
(vhost-user-fs with its daemon's socket).

Checked against libvirt 9.0 with QEMU 7.2 (virsh domxml-to-native).  The socket of a
virtiofsd libvirt starts itself lies in the running domain's directory, whose name holds
the domain id only a running libvirt knows: written with the placeholder DOMAIN_DIR and
an info finding (VX0701).
"""

from __future__ import annotations

from ..findings import finding_at
from ..host import ASK_THE_HOST
from ..model.platform import Filesystem
from ..names import transitional
from ..option import BARE, Option
from .context import StoragePlan, add_location, add_virtio_options, transport_device, unsupported
from .net import missing_device

# libvirt's per-domain directory (priv->libDir: domain-ID-SHORTNAME), the id a placeholder
DOMAIN_DIR = "/var/lib/libvirt/qemu/domain-<id>-{name}"
# <filesystem accessmode> → -fsdev security_model (qemuBuildFSStr); passthrough default
_SECURITY_MODEL = {None: "passthrough", "passthrough": "passthrough", "mapped": "mapped",
                   "squash": "none"}  # fmt: skip
# libvirt's short domain name in its directories: the first 20 characters
_SHORT_NAME = 20


def filesystem_options(plan: StoragePlan) -> list[Option]:
    """Each <filesystem> (qemuBuildFilesystemCommandLine); aliases fsN count those
    without a user alias."""
    options: list[Option] = []
    automatic = 0
    for filesystem in plan.domain.filesystems:
        alias = filesystem.user_alias
        if alias is None:
            alias = f"fs{automatic}"
            automatic += 1
        if filesystem.type not in (None, "mount"):
            plan.findings.append(
                unsupported(plan, filesystem, f"a <filesystem type='{filesystem.type}'>")
            )
            continue
        driver = filesystem.driver
        if driver is not None and driver.type == "virtiofs":
            options.extend(_virtiofs(plan, filesystem, alias))
        elif driver is None or driver.type in (None, "path", "handle"):
            options.extend(_ninep(plan, filesystem, alias))
        else:
            plan.findings.append(
                unsupported(plan, filesystem, f"a <filesystem> of driver '{driver.type}'")
            )
    return options


def _device(plan: StoragePlan, filesystem: Filesystem, base: str) -> Option | None:
    wanted = transport_device(
        plan, base + transitional.model_suffix(filesystem.model), filesystem.address
    )
    name, added = transitional.resolve(plan.caps, wanted)
    if not plan.caps.has_device(name) and name not in plan.caps.uncertain_devices:
        plan.findings.append(missing_device(plan, filesystem, "<filesystem>", name))
        return None
    option = Option("-device", name, origin=filesystem)
    add_virtio_options(option, filesystem.driver)
    for key, value in added:
        option.add(key, value)
    return option


def _place(plan: StoragePlan, option: Option, filesystem: Filesystem) -> None:
    placed = plan.placement.location_of(filesystem)
    if placed is not None:
        add_location(option, placed)


def _ninep(plan: StoragePlan, filesystem: Filesystem, alias: str) -> list[Option]:
    """-fsdev (qemuBuildFSStr, keyval) and virtio-9p (qemuBuildFSDevCmd)."""
    device = _device(plan, filesystem, "virtio-9p-pci")
    if device is None:
        return []
    driver = filesystem.driver
    handle = driver is not None and driver.type == "handle"
    fsdev = Option("-fsdev", "handle" if handle else "local")
    fsdev.origin = filesystem
    if not handle:  # the handle driver takes no security model
        fsdev.add(
            "security_model", _SECURITY_MODEL.get(filesystem.accessmode, filesystem.accessmode)
        )
    fsdev.add("multidevs", filesystem.multidevs)
    fsdev.add("fmode", filesystem.fmode)
    fsdev.add("dmode", filesystem.dmode)
    if driver is not None and driver.wrpolicy == "immediate":
        fsdev.add("writeout", "immediate")
    fsdev.add("id", f"fsdev-{alias}")
    fsdev.add("path", filesystem.source_dir)
    if filesystem.readonly:
        fsdev.add("readonly", BARE)
    device.add("id", alias)
    device.add("fsdev", f"fsdev-{alias}")
    device.add("mount_tag", filesystem.target_dir)
    _place(plan, device, filesystem)
    return [fsdev, device]


def _virtiofs(plan: StoragePlan, filesystem: Filesystem, alias: str) -> list[Option]:
    """The daemon's socket as a -chardev and vhost-user-fs (qemuBuildVHostUserFsCommandLine);
    libvirt starts virtiofsd itself unless <source socket> names a running one."""
    device = _device(plan, filesystem, "vhost-user-fs-pci")
    if device is None:
        return []
    path = filesystem.source_socket
    if path is None:
        directory = DOMAIN_DIR.format(name=(plan.domain.name or "")[:_SHORT_NAME])
        path = f"{directory}/{alias}-fs.sock"
        plan.findings.append(
            finding_at(
                "VX0701",
                "info",
                f"filesystem {alias}: the socket of the virtiofsd libvirt starts lies in the "
                f"running domain's directory, named by its id: written as {path}",
                filesystem,
                plan.domain.source,
                hint=ASK_THE_HOST,
            )
        )
    chardev = Option("-chardev", "socket", [("id", f"chr-vu-{alias}"), ("path", path)])
    chardev.origin = filesystem
    device.add("id", alias)
    device.add("chardev", f"chr-vu-{alias}")
    driver = filesystem.driver
    device.add("queue-size", driver.queue if driver is not None else None)
    device.add("tag", filesystem.target_dir)
    _place(plan, device, filesystem)
    return [chardev, device]
