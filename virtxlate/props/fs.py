"""Shared filesystems as libvirt writes them: 9p (-fsdev + virtio-9p) and virtiofs
(vhost-user-fs with its daemon's socket)."""

from __future__ import annotations

from ..option import Option
from .context import StoragePlan


def filesystem_options(plan: StoragePlan) -> list[Option]:
    """Each <filesystem> (qemuBuildFilesystemCommandLine; issue 17)."""
    return []
