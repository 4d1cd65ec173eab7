"""Character devices as libvirt writes them: each -chardev back-end and its front-end
(serial, parallel, channel, console), USB redirection, smartcards and TPMs."""

from __future__ import annotations

from ..option import Option
from .context import StoragePlan


def smartcard_options(plan: StoragePlan) -> list[Option]:
    """Each <smartcard> (issue 17)."""
    return []


def serial_options(plan: StoragePlan) -> list[Option]:
    """Each <serial> (issue 17)."""
    return []


def parallel_options(plan: StoragePlan) -> list[Option]:
    """Each <parallel> (issue 17)."""
    return []


def channel_options(plan: StoragePlan) -> list[Option]:
    """Each <channel> (issue 17)."""
    return []


def console_options(plan: StoragePlan) -> list[Option]:
    """Each <console> that is not the first serial's alias (issue 17)."""
    return []


def tpm_options(plan: StoragePlan) -> list[Option]:
    """Each <tpm> (issue 17)."""
    return []


def redirdev_options(plan: StoragePlan) -> list[Option]:
    """Each <redirdev> (issue 17)."""
    return []
