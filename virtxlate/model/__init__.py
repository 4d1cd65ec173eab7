"""Declarative libvirt domain model over the original XML tree (see fields.py)."""

from .devices import (
    Address,
    Controller,
    ControllerDriver,
    Disk,
    DiskDriver,
    DiskSource,
    DiskTarget,
)
from .domain import Domain, domain_from_document

__all__ = [
    "Address",
    "Controller",
    "ControllerDriver",
    "Disk",
    "DiskDriver",
    "DiskSource",
    "DiskTarget",
    "Domain",
    "domain_from_document",
]
