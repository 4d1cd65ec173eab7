"""Where the project's own data lives: capability tables and XSD schemas."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CAPS_DIR = PACKAGE_DIR / "caps" / "data"
# schemas/ sits beside the package in the repository (installed with `pip install -e .`).
SCHEMAS_DIR = PACKAGE_DIR.parent / "schemas"


def schema_path(name: str) -> Path:
    return SCHEMAS_DIR / name
