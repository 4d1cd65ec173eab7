"""Plain record classes with what dataclasses give (equality, repr, replace) at no start cost.

A ``@dataclass`` costs about half a millisecond to define, and the module ``dataclasses``
(with ``inspect``) four more to import: on the path of a one-domain `check` that was a
sixth of a cold start (issue 18).  A Record lists its fields once, in ``_fields``; its
class writes its own ``__init__``.  The ``dataclasses`` functions (replace, fields,
asdict, is_dataclass) still take a Record: its ``__dataclass_fields__`` are made when
first asked for, by a caller that has imported ``dataclasses`` anyway.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

R = TypeVar("R", bound="Record")


class _LazyDataclassFields:
    """``__dataclass_fields__`` of a Record class: the fields of a dataclass of the same
    field names (``dataclasses.make_dataclass``), made on first use, once per class."""

    def __get__(self, obj: object, owner: type[Record]) -> dict[str, Any]:
        made = owner.__dict__.get("_made_dataclass_fields")
        if made is None:
            import dataclasses

            shadow = dataclasses.make_dataclass(
                owner.__name__,
                [(name, Any) for name in owner._fields]
                + [(name, Any, dataclasses.field(init=False)) for name in owner._not_init],
            )
            made = shadow.__dataclass_fields__  # type: ignore[attr-defined]
            type.__setattr__(owner, "_made_dataclass_fields", made)
        return made  # type: ignore[no-any-return]


class Record:
    """Fields compared, shown and replaced in the order of ``_fields`` (the constructor's
    parameters); ``_not_init`` are compared too but set by ``__init__`` itself, and
    ``_hidden`` are left out of the repr.  Like a dataclass with ``eq=True``: unhashable
    unless the class defines ``__hash__``."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _not_init: ClassVar[tuple[str, ...]] = ()
    _hidden: ClassVar[tuple[str, ...]] = ()
    __dataclass_fields__: ClassVar[Any] = _LazyDataclassFields()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields + self._not_init)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined, no-any-return]

    # (defining __eq__ leaves the class unhashable: __hash__ is None, as a dataclass's)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in self._fields + self._not_init
            if name not in self._hidden
        )
        return f"{self.__class__.__qualname__}({shown})"

    def replace(self: R, **changes: Any) -> R:
        """A copy with CHANGES (as dataclasses.replace)."""
        for name in self._fields:
            if name not in changes:
                changes[name] = getattr(self, name)
        return self.__class__(**changes)
