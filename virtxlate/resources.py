"""Where the project's own data lives: capability tables and XSD schemas."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CAPS_DIR = PACKAGE_DIR / "caps" / "data"
# the XSDs: virtxlate/schemas links to the repository's schemas/ (a checkout, `pip install
# -e .`); a wheel holds the files themselves there (pyproject's package-data)
SCHEMAS_DIR = PACKAGE_DIR / "schemas"


def schema_path(name: str) -> Path:
    return SCHEMAS_DIR / name
