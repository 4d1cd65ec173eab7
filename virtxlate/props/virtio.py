"""The virtio devices of the seed's family beside storage and network: the balloon, RNGs,
vsock and the IOMMU, as libvirt writes them."""

from __future__ import annotations

from ..option import Option
from .context import StoragePlan


def iommu_options(plan: StoragePlan) -> list[Option]:
    """<iommu> (qemuBuildIOMMUCommandLine; issue 17)."""
    return []


def memballoon_options(plan: StoragePlan) -> list[Option]:
    """<memballoon> (qemuBuildMemballoonCommandLine; issue 17)."""
    return []


def rng_options(plan: StoragePlan) -> list[Option]:
    """Each <rng>: its back-end object and device (qemuBuildRNGCommandLine; issue 17)."""
    return []


def vsock_options(plan: StoragePlan) -> list[Option]:
    """<vsock> (qemuBuildVsockCommandLine; issue 17)."""
    return []
