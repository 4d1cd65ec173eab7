"""Rows that map one model field to one QEMU property, read in both directions.

A row names the field (an attribute path through the model, ``driver.queues``, or an
XML path relative to the device's element, ``source/readahead/@size``), the QEMU
property, the converters between the two and when the row applies (buses, storage
era, capability flag).  The argv side (props/) reads the field and writes the
property; from-argv (native/) parses the property and sets the field through the
model's declaration, so a new attribute is one row (after virtinst's xmlbuilder).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import Any

from ..caps import CapsTable
from ..model.fields import Child, Converter, Field, XmlObject
from ..option import Option, Value


class BadValue(ValueError):
    """A QEMU property's value the row cannot read (from-argv names the option)."""


def on_off(value: Any) -> bool | None:
    """QEMU's on/off (also yes/no, true/false, JSON booleans) as a bool; None when
    absent.  The one reader of a switch from a command line."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("on", "yes", "true", "1"):
        return True
    if text in ("off", "no", "false", "0"):
        return False
    raise BadValue("expected on or off")


def on_off_text(value: bool | None) -> str | None:
    """A switch as libvirt writes it in key=value text: on/off."""
    return None if value is None else ("on" if value else "off")


def number(value: Any) -> int:
    """A QEMU integer property (decimal, or 0x… hexadecimal as QEMU's parser takes it)."""
    if isinstance(value, bool):
        raise BadValue("expected a number")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        return int(text, 0) if text.lower().startswith("0x") else int(text, 10)
    except ValueError:
        raise BadValue("expected a number") from None


def text(value: Any) -> str:
    """A string property; a JSON object or list is no string."""
    if isinstance(value, dict | list):
        raise BadValue("expected a string")
    return str(value)


def same(value: Any, context: Context | None = None) -> Any:
    """A value the model and QEMU write alike."""
    return value


def given(value: Any, context: Context | None = None) -> Any:
    """A value written only when it is not empty (libvirt's "if (value)")."""
    return value or None


class Context:
    """What decides whether a row applies and how a value is written.  (A plain class:
    defining a dataclass costs a quarter of a millisecond at every start.)"""

    __slots__ = ("caps", "blockdev")

    def __init__(self, caps: CapsTable, blockdev: bool) -> None:
        self.caps = caps
        self.blockdev = blockdev


def _reader(path: str) -> Callable[[XmlObject], Any]:
    """How a row reads a dotted attribute path through the model's own declarations
    (a read kept by the model is then a plain attribute lookup)."""
    steps = path.split(".")
    if len(steps) == 1:
        return attrgetter(path)
    if len(steps) == 2:
        first, second = steps

        def read_child(obj: XmlObject) -> Any:
            child = getattr(obj, first)
            return None if child is None else getattr(child, second)

        return read_child

    def read_path(obj: XmlObject) -> Any:
        current: Any = obj
        for step in steps:
            if current is None:
                return None
            current = getattr(current, step)
        return current

    return read_path


class Row:
    """One model field ↔ one QEMU property.

    ``field``: a dotted attribute path through the model (``driver.queues``) or an XML
    path (``source/readahead/@size``, read and written with ``converter``).
    ``to_qemu``/``from_qemu``: model value → property value and back (from_qemu raises
    BadValue).  ``only``/``style``/``flag``: the kinds of device (disk buses, source
    protocols), storage era ('drive'/'blockdev') and capability flag the row needs.
    ``also``: other names of the property a command line may use (read back only).
    ``effective``: the value libvirt writes when it is not the field's own (a
    fallback it applies), computed from the object; the field is still what reads back.
    (A plain class read a few thousand times per domain; rows are never changed.)
    """

    __slots__ = (
        "qemu",
        "field",
        "to_qemu",
        "from_qemu",
        "only",
        "style",
        "flag",
        "converter",
        "also",
        "effective",
        "read",
        "converts",
        "_xml",
    )

    def __init__(
        self,
        qemu: str,
        field: str,
        to_qemu: Callable[[Any, Context | None], Value | None] = same,
        from_qemu: Callable[[Any], Any] = same,
        only: tuple[str, ...] | None = None,
        style: str | None = None,
        flag: str | None = None,
        converter: Converter[Any] | None = None,
        also: tuple[str, ...] = (),
        effective: Callable[[Any], Any] | None = None,
    ) -> None:
        self.qemu = qemu
        self.field = field
        self.to_qemu = to_qemu
        self.from_qemu = from_qemu
        self.only = only
        self.style = style
        self.flag = flag
        self.converter = converter
        self.also = also
        self.effective = effective
        self.converts = None if to_qemu is same else to_qemu
        # the field's value on an object (None when absent), through the model: an XML
        # path through a Field made once for the row, else the declared attributes
        self._xml: Field[Any] | None = None
        self.read: Callable[[XmlObject], Any]
        if "/" in field or field.startswith("@"):
            self._xml = Field(field, converter)
            self.read = self._xml.__get__
        else:
            self.read = _reader(field)

    def __repr__(self) -> str:
        return f"Row({self.qemu!r}, {self.field!r})"

    def replace(self, field: str) -> Row:
        """This row reading FIELD instead (the rest as declared)."""
        return Row(
            self.qemu,
            field,
            self.to_qemu,
            self.from_qemu,
            self.only,
            self.style,
            self.flag,
            self.converter,
            self.also,
            self.effective,
        )

    def applies(self, kind: str | None, context: Context | None) -> bool:
        """Whether the row is written for a device of KIND (a disk's bus, a network
        source's protocol) in CONTEXT (None: any era, any QEMU)."""
        if self.only is not None and kind not in self.only:
            return False
        if context is None:
            return True
        if self.style is not None and self.style != ("blockdev" if context.blockdev else "drive"):
            return False
        return self.flag is None or context.caps.has_flag(self.flag)

    # --- the model side -----------------------------------------------------------

    def write(self, obj: XmlObject, value: Any) -> None:
        """Set the field on OBJ through the model's declaration (children created as
        needed); None leaves the XML as it is."""
        if value is None:
            return
        if self._xml is not None:
            self._xml.__set__(obj, value)
            return
        *steps, last = self.field.split(".")
        current: XmlObject = obj
        for step in steps:
            child = getattr(current, step)
            if child is None:
                declaration = getattr(type(current), step)
                assert isinstance(declaration, Child), f"{step} is no child of {current}"
                child = declaration.create(current)
            current = child
        setattr(current, last, value)  # the model's setter drops cached reads

    # --- the QEMU side ------------------------------------------------------------

    def value(self, obj: XmlObject, context: Context | None = None) -> Value | None:
        """The property's value for OBJ, None when the field is absent."""
        value = self.read(obj) if self.effective is None else self.effective(obj)
        if value is None or self.converts is None:
            return value  # type: ignore[no-any-return]
        return self.converts(value, context)

    def given(self, props: dict[str, Any]) -> Any:
        """The property's raw value in PROPS (an option's properties), None when absent."""
        return next((props[n] for n in (self.qemu, *self.also) if props.get(n) is not None), None)

    def parse(self, props: dict[str, Any]) -> Any:
        """The field's value from PROPS; None when absent, BadValue when unreadable."""
        value = self.given(props)
        return None if value is None else self.from_qemu(value)


def under(prefix: str, rows: Iterable[Row]) -> tuple[Row, ...]:
    """ROWS (declared on a child of the device, e.g. its <driver>) read from the device
    itself: each field behind PREFIX ("driver"), the rest of the row as declared."""
    return tuple(row.replace(field=f"{prefix}.{row.field}") for row in rows)


# _applying's answers: (id of the rows, kind, era, capability flags) → (the rows, the
# rows that apply).  What applies depends on nothing else, and each disk asked again for
# the same few tuples of rows; the rows kept in the value keep their id unique.
_APPLYING: dict[tuple[int, str | None, bool | None, frozenset[str] | None], tuple[Any, list[Row]]]
_APPLYING = {}
_APPLYING_LIMIT = 1024  # (kinds come from the input: a bound, then a fresh start)


def _applying(rows: Iterable[Row], kind: str | None, context: Context | None) -> list[Row]:
    """The rows of ROWS that apply to KIND in CONTEXT (Row.applies), for a tuple of rows
    worked out once per kind, era and set of capability flags; callers do not change
    the list."""
    if type(rows) is not tuple:
        return _rows_applying(rows, kind, context)
    key = (
        (id(rows), kind, None, None)
        if context is None
        else (id(rows), kind, context.blockdev, context.caps.flags)
    )
    known = _APPLYING.get(key)
    if known is not None and known[0] is rows:
        return known[1]
    found = _rows_applying(rows, kind, context)
    if len(_APPLYING) >= _APPLYING_LIMIT:
        _APPLYING.clear()
    _APPLYING[key] = (rows, found)
    return found


def _rows_applying(rows: Iterable[Row], kind: str | None, context: Context | None) -> list[Row]:
    found = []
    for row in rows:
        if row.only is not None and kind not in row.only:
            continue
        if context is not None and not (row.style is None and row.flag is None):
            if not row.applies(kind, context):
                continue
        found.append(row)
    return found


def add_props(
    option: Option,
    rows: Iterable[Row],
    obj: XmlObject,
    kind: str | None,
    context: Context | None,
) -> None:
    """Add the property of every row that applies to OPTION, in the rows' order."""
    append_props(option.props, rows, obj, kind, context)


def append_props(
    props: list[tuple[str, Value]],
    rows: Iterable[Row],
    obj: XmlObject,
    kind: str | None,
    context: Context | None,
) -> None:
    """Append to PROPS the property of every row that applies, in the rows' order (a
    deferred part of an option's properties: Option.defer)."""
    for row in _applying(rows, kind, context):
        value = row.read(obj) if row.effective is None else row.effective(obj)
        if value is not None and row.converts is not None:
            value = row.converts(value, context)
        if value is not None:
            props.append((row.qemu, value))


def values(
    rows: Iterable[Row], obj: XmlObject, kind: str | None, context: Context | None
) -> dict[str, Value | None]:
    """Each row's property name → its value for OBJ (rows that do not apply left out)."""
    found: dict[str, Value | None] = {}
    for row in _applying(rows, kind, context):
        value = row.read(obj) if row.effective is None else row.effective(obj)
        if value is not None and row.converts is not None:
            value = row.converts(value, context)
        found[row.qemu] = value
    return found


def parse_props(rows: Iterable[Row], props: dict[str, Any]) -> dict[str, Any]:
    """Each row's field → its value in PROPS (None when absent); BadValue names the
    property of a value that does not read."""
    found = {}
    for row in rows:
        try:
            found[row.field] = row.parse(props)
        except BadValue as exc:
            raise BadValue(f"bad value '{row.given(props)}' for {row.qemu} ({exc})") from None
    return found


def read_props(rows: Iterable[Row], props: dict[str, Any], obj: XmlObject) -> None:
    """Set on OBJ, through the model, every row's field that PROPS carries, whatever
    the device's kind (a property libvirt would not write still reads back).  BadValue
    names the property."""
    rows = tuple(rows)
    for row, value in zip(rows, parse_props(rows, props).values(), strict=True):
        row.write(obj, value)
