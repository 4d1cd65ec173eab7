"""`python -m virtxlate` runs the CLI."""

from .cli import entry

raise SystemExit(entry())
