"""virtxlate: what QEMU will be given and will build for a libvirt domain, per QEMU release.

    import virtxlate
    domain = virtxlate.load("guest.xml")          # or virsh dumpxml output as text
    result = virtxlate.analyze(domain, qemu="1.5")
    result.argv, result.graph, result.findings
    common, per_release = virtxlate.check(domain, ["1.5", "7.2"])

load() takes XML text, bytes, a path or a file object; analyze() and check() a loaded
domain or anything load() takes.  Errors are virtxlate.errors.VirtxlateError:
InputError (not a domain), UsageError (e.g. an unknown release) and ArgumentTypeError
(a value of the wrong type, also a TypeError).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ArgumentTypeError, InputError, UsageError, VirtxlateError

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import Analysis, analyze, check, load
    from .findings import Finding

# The API pulls in lxml, the model and the tables; `virtxlate --version` should not pay
# for that, so these names are imported on first use (PEP 562).
_LAZY = {"Analysis": "api", "analyze": "api", "check": "api", "load": "api", "Finding": "findings"}

__all__ = [
    "Analysis",
    "ArgumentTypeError",
    "Finding",
    "InputError",
    "UsageError",
    "VirtxlateError",
    "__version__",
    "analyze",
    "check",
    "load",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'virtxlate' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
