"""`python -m virtxlate` runs the CLI."""

from .cli import main

raise SystemExit(main())
