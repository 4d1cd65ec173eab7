"""A finding: one thing `check` (or a translation) has to say about a domain."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from .records import Record

if TYPE_CHECKING:  # the model (and lxml) is not imported by `caps` and `explain`
    from .model.fields import XmlObject

# info: what virtxlate could not know (a host fact not looked up); never changes the exit
Severity = Literal["error", "warning", "info"]


class Finding(Record):
    """Stable code, severity, one sentence, where (file, line, XPath), a hint, and since when.

    Immutable and hashable, compared by value (a Record: not a dataclass, for the start)."""

    __slots__ = ("code", "severity", "message", "source", "line", "xpath", "hint", "since")
    _fields = __slots__

    code: str
    severity: Severity
    message: str
    source: str
    line: int
    xpath: str
    hint: str | None
    since: str | None

    def __init__(
        self,
        code: str,
        severity: Severity,
        message: str,
        source: str = "<input>",
        line: int = 0,
        xpath: str = "",
        hint: str | None = None,
        since: str | None = None,
    ):
        _set(self, "code", code)
        _set(self, "severity", severity)
        _set(self, "message", message)
        _set(self, "source", source)
        _set(self, "line", line)
        _set(self, "xpath", xpath)
        _set(self, "hint", hint)
        _set(self, "since", since)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field '{name}' of an immutable Finding")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field '{name}' of an immutable Finding")

    def __hash__(self) -> int:
        return hash(self._values())

    def __reduce__(self) -> tuple[type[Finding], tuple[Any, ...]]:
        # (pickle and copy would set the slots one by one: refused above)
        return Finding, self._values()

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def location(self) -> str:
        return f"{self.source}:{self.line}"

    def at(self, xpath: str) -> Finding:
        """The same finding at XPATH."""
        return Finding(
            self.code,
            self.severity,
            self.message,
            self.source,
            self.line,
            xpath,
            self.hint,
            self.since,
        )

    def to_json(self) -> dict[str, object]:
        # the fields are str, int or None: no deep copy (dataclasses.asdict) is needed,
        # and a batch writes every finding of every domain
        return {name: getattr(self, name) for name in self._fields}


_set = object.__setattr__


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
