"""Talking to a real QEMU binary: the one helper that starts, queries and ends it."""

from .process import QemuError, QemuProcess

__all__ = ["QemuError", "QemuProcess"]
