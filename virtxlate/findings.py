"""A finding: one thing `check` (or a translation) has to say about a domain."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the model (and lxml) is not imported by `caps` and `explain`
    from .model.fields import XmlObject

# info: what virtxlate could not know (a host fact not looked up); never changes the exit
Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    """Stable code, severity, one sentence, where (file, line, XPath), a hint, and since when."""

    code: str
    severity: Severity
    message: str
    source: str = "<input>"
    line: int = 0
    xpath: str = ""
    hint: str | None = None
    since: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def location(self) -> str:
        return f"{self.source}:{self.line}"

    def to_json(self) -> dict[str, object]:
        # the fields are str, int or None: no deep copy (dataclasses.asdict) is needed,
        # and a batch writes every finding of every domain
        return {name: getattr(self, name) for name in _FIELDS}


_FIELDS = tuple(f.name for f in fields(Finding))


def finding_at(
    code: str,
    severity: Severity,
    message: str,
    obj: XmlObject | None,
    source: str,
    hint: str | None = None,
    since: str | None = None,
    xpath_suffix: str = "",
) -> Finding:
    """A finding placed at a model object's element."""
    return Finding(
        code=code,
        severity=severity,
        message=message,
        source=source,
        line=obj.line if obj is not None else 0,
        xpath=(obj.xpath + xpath_suffix) if obj is not None else "",
        hint=hint,
        since=since,
    )
