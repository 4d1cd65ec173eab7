"""virtxlate: what QEMU will be given and will build for a libvirt domain, per QEMU release.

    import virtxlate
    domain = virtxlate.load("guest.xml")          # or virsh dumpxml output as text
    result = virtxlate.analyze(domain, qemu="1.5")
    result.argv, result.graph, result.findings
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import Analysis, analyze, load

__all__ = ["Analysis", "__version__", "analyze", "load"]


def __getattr__(name: str) -> Any:
    # The API pulls in lxml and the model; `virtxlate --version` should not pay for that.
    if name in ("Analysis", "analyze", "load"):
        from . import api

        return getattr(api, name)
    raise AttributeError(name)
