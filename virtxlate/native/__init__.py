"""From a QEMU command line back to libvirt domain XML (the storage part)."""

from .todomain import domain_from_argv

__all__ = ["domain_from_argv"]
