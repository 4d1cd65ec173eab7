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
from dataclasses import dataclass, replace
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


@dataclass(frozen=True)
class Context:
    """What decides whether a row applies and how a value is written."""

    caps: CapsTable
    blockdev: bool


@dataclass(frozen=True)
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
    """

    qemu: str
    field: str
    to_qemu: Callable[[Any, Context | None], Value | None] = same
    from_qemu: Callable[[Any], Any] = same
    only: tuple[str, ...] | None = None
    style: str | None = None
    flag: str | None = None
    converter: Converter[Any] | None = None
    also: tuple[str, ...] = ()
    effective: Callable[[Any], Any] | None = None

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

    def _xml_field(self) -> Field[Any] | None:
        if "/" not in self.field and not self.field.startswith("@"):
            return None
        return _xml_fields.setdefault(self, Field(self.field, self.converter))

    def read(self, obj: XmlObject) -> Any:
        """The field's value on OBJ (None when absent), through the model."""
        field = self._xml_field()
        if field is not None:
            return field.__get__(obj, type(obj))
        current: Any = obj
        for step in self.field.split("."):
            if current is None:
                return None
            current = getattr(current, step)
        return current

    def write(self, obj: XmlObject, value: Any) -> None:
        """Set the field on OBJ through the model's declaration (children created as
        needed); None leaves the XML as it is."""
        if value is None:
            return
        field = self._xml_field()
        if field is not None:
            field.__set__(obj, value)
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
        return None if value is None else self.to_qemu(value, context)

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
    return tuple(replace(row, field=f"{prefix}.{row.field}") for row in rows)


# the Field of each XML-path row, made once
_xml_fields: dict[Row, Field[Any]] = {}


def add_props(
    option: Option,
    rows: Iterable[Row],
    obj: XmlObject,
    kind: str | None,
    context: Context | None,
) -> None:
    """Add the property of every row that applies to OPTION, in the rows' order."""
    for row in rows:
        if row.applies(kind, context):
            option.add(row.qemu, row.value(obj, context))


def values(
    rows: Iterable[Row], obj: XmlObject, kind: str | None, context: Context | None
) -> dict[str, Value | None]:
    """Each row's property name → its value for OBJ (rows that do not apply left out)."""
    return {row.qemu: row.value(obj, context) for row in rows if row.applies(kind, context)}


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
