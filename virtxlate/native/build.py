"""Writing new domain XML through the model's declarations (from-argv's side of them).

The model (virtxlate/model) reads and edits a parsed tree; from-argv starts from
nothing, so it creates each element as a model object and sets its fields, and a field
declared once is written the way the model reads it.
"""

from __future__ import annotations

from typing import TypeVar

from lxml import etree

from ..model.fields import Children, Field, XmlObject, note_write

M = TypeVar("M", bound=XmlObject)


def new(cls: type[M], tag: str, **fields: object) -> M:
    """A model object over a new <TAG> element, with FIELDS set (None ones left out)."""
    obj = cls(etree.Element(tag))
    for name, value in fields.items():
        setattr(obj, name, value)
    return obj


def append(parent: XmlObject, children: Children[M], **fields: object) -> M:
    """A new element appended among PARENT's CHILDREN (<host> of a <source>), FIELDS set."""
    *steps, tag = children.path.split("/")
    holder = parent.element
    for step in steps:  # iothreadids/iothread: the list's element first
        found = holder.find(step)
        holder = found if found is not None else etree.SubElement(holder, step)
    obj = children.cls(etree.SubElement(holder, tag))
    note_write()
    for name, value in fields.items():
        setattr(obj, name, value)
    return obj


def attach(parent: XmlObject, child: XmlObject) -> None:
    """CHILD's element appended to PARENT's (an element made on its own, e.g. an address)."""
    parent.element.append(child.element)
    note_write()


def set_path(obj: XmlObject, path: str, value: str | None) -> None:
    """An attribute the model does not declare yet, written as a declaration would."""
    Field(path).__set__(obj, value)
