"""Per-release QEMU capability tables (data in caps/data, schema in schemas/caps.xsd)."""

from .tables import (
    CapsTable,
    DeviceType,
    available,
    has_arch,
    known_versions,
    load,
    normalize_version,
)

__all__ = [
    "CapsTable",
    "DeviceType",
    "available",
    "has_arch",
    "known_versions",
    "load",
    "normalize_version",
]
