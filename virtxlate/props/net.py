"""The network cards' options as libvirt writes them (qemuBuildNetCommandLine): the
-netdev back-end and the -device front-end of each <interface>."""

from __future__ import annotations

from ..option import Option
from .context import StoragePlan


def net_options(plan: StoragePlan) -> list[Option]:
    """Each <interface>: -netdev and -device (issue 17)."""
    return []
