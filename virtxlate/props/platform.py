"""The rest of a guest's devices: memory devices, watchdogs, PCI and USB host devices,
panic notifiers and shared memory, as libvirt writes them."""

from __future__ import annotations

from ..option import Option
from .context import StoragePlan


def memory_device_options(plan: StoragePlan) -> list[Option]:
    """Each <memory> device (qemuBuildMemoryDeviceCommandLine; issue 17)."""
    return []


def watchdog_options(plan: StoragePlan) -> list[Option]:
    """Each <watchdog> (issue 17)."""
    return []


def panic_options(plan: StoragePlan) -> list[Option]:
    """Each <panic> (issue 17)."""
    return []


def shmem_options(plan: StoragePlan) -> list[Option]:
    """Each <shmem> (issue 17)."""
    return []
