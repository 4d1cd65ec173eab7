"""What a user sees and touches: inputs, audio back-ends, graphics, video cards and sound
cards, as libvirt writes them."""

from __future__ import annotations

from ..option import Option
from .context import StoragePlan


def input_options(plan: StoragePlan) -> list[Option]:
    """Each <input> (issue 17)."""
    return []


def audio_options(plan: StoragePlan) -> list[Option]:
    """Each <audio> as -audiodev (issue 17)."""
    return []


def graphics_options(plan: StoragePlan) -> list[Option]:
    """Each <graphics> (issue 17)."""
    return []


def video_options(plan: StoragePlan) -> list[Option]:
    """Each <video> (issue 17)."""
    return []


def sound_options(plan: StoragePlan) -> list[Option]:
    """Each <sound> with its codecs (issue 17)."""
    return []
