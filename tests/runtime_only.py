"""The whole-domain tests' view of what only a libvirt-run process or its host has.

The list itself is the package's (virtxlate/argv/runtime.py: RUNTIME_ONLY, one entry per
thing taken out or made a placeholder, each with its reason); `compare` applies the
entries marked for it, the tests every entry through `normalise`.  Nothing is listed here.
"""

from __future__ import annotations

from virtxlate.argv.runtime import RUNTIME_ONLY, normalise

__all__ = ["RUNTIME_ONLY", "normalise"]
