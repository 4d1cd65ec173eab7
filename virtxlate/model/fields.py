"""The declarative layer under the domain model.

Each model class wraps one element of the *original* parsed tree and lists its
fields once; a field knows its relative path and its converter, and the same
declaration reads and writes the XML (after virt-manager's xmlbuilder).  Absent
stays absent: a field whose attribute or element is missing reads as ``None``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from lxml import etree

from ..errors import InvalidValue

T = TypeVar("T")
M = TypeVar("M", bound="XmlObject")


class Converter(Generic[T]):
    """How one kind of XML value becomes a Python value and back.  (A plain class: a
    dataclass costs ~0.3 ms at every start to generate its methods.)"""

    __slots__ = ("name", "parse", "format", "values")

    def __init__(
        self,
        name: str,
        parse: Callable[[str], T],
        format: Callable[[T], str],
        values: tuple[str, ...] = (),
    ):
        self.name = name
        self.parse = parse
        self.format = format
        # an enumeration's accepted texts (the schema's <choice>); empty for open types
        self.values = values


def _parse_int(text: str) -> int:
    # libvirt accepts decimal and 0x-prefixed hexadecimal for numbers (virStrToLong_ui base 0)
    if len(text) < 20 and text.isascii() and text.isdigit():  # (most: a few digits)
        return int(text, 10)
    # strtoul skips leading white space; whatever follows the number, white space
    # included, and digits outside ASCII (which Python's int() takes) make libvirt
    # refuse it (virStrToLong_* without an end pointer; checked with libvirt 9.0:
    # period='5 ' and period='１' are "Invalid value", period=' 5' is 5)
    stripped = text.lstrip(" \t\n\v\f\r")
    if not stripped.isascii() or stripped != stripped.rstrip() or "_" in stripped:
        raise ValueError("expected an integer")  # ('_': Python's digit separators)
    try:
        return int(stripped, 16) if stripped.lower().startswith("0x") else int(stripped, 10)
    except ValueError:
        raise ValueError("expected an integer") from None


def _parse_count(text: str) -> int | None:
    # a count libvirt keeps as 0 when it is 0: "not set", no property written (a
    # controller's or disk's queues, cmd_per_lun, max_sectors, queue_size, a controller's
    # iothread, blockio sizes; checked with libvirt 9.0's domxml-to-native)
    return _parse_int(text) or None


def _parse_yes_no(text: str) -> bool:
    if text not in ("yes", "no"):
        raise ValueError("expected 'yes' or 'no'")
    return text == "yes"


def _parse_on_off(text: str) -> bool:
    if text not in ("on", "off"):
        raise ValueError("expected 'on' or 'off'")
    return text == "on"


STR: Converter[str] = Converter("string", str, str)
INT: Converter[int] = Converter("integer", _parse_int, str)
HEX: Converter[int] = Converter("integer", _parse_int, hex)


def empty_is_none(converter: Converter[T]) -> Converter[T | None]:
    """CONVERTER, with an empty value read as absent: where libvirt takes '' as nothing
    written (machine='' is the arch's default machine, video vram='' or type='' and mtu
    size='' are left to their defaults; checked with libvirt 9.0)."""

    def parse(text: str) -> T | None:
        return converter.parse(text) if text else None

    return Converter(converter.name, parse, converter.format, converter.values)  # type: ignore[arg-type]


STR_OR_NONE = empty_is_none(STR)
COUNT: Converter[int | None] = Converter("integer", _parse_count, str)
YES_NO: Converter[bool] = Converter("yes/no", _parse_yes_no, lambda v: "yes" if v else "no")
ON_OFF: Converter[bool] = Converter("on/off", _parse_on_off, lambda v: "on" if v else "off")


def enumeration(name: str, values: list[str] | tuple[str, ...]) -> Converter[str]:
    """A string that must be one of VALUES (a schema enumeration): a value that becomes a
    QEMU type or key is never taken as written."""
    allowed = frozenset(values)

    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"not a {name} libvirt knows ({', '.join(sorted(allowed))})")
        return text

    return Converter(name, parse, str, tuple(values))


def xpath_of(element: etree._Element) -> str:
    """An absolute XPath of ELEMENT with positions, e.g. /domain/devices/disk[2]/target."""
    return str(element.getroottree().getpath(element))


# A model object keeps the values it has read (a check reads a disk's fields dozens of
# times) in its own instance dict, under the name of each field: a field, flag or child
# is a non-data descriptor, so a second read of `disk.serial` is a plain attribute lookup
# that runs no Python code.  Every write through the model (or note_write() after an
# lxml edit) empties the dicts of all objects that hold reads, so a read never answers
# from before a write (e.g. `disk.target.bus = 'scsi'`, through a DiskTarget, read later
# as `disk.bus`).  The objects that hold reads are listed by weak reference: a domain
# checked and dropped leaves nothing alive.
_holders: list[weakref.ReferenceType[XmlObject]] = []
_HOLDERS_COMPACTED_AT = 4096
_holders_limit = _HOLDERS_COMPACTED_AT
# what a read finds for a field not yet read (None is a value: absent)
_UNREAD: Any = object()


def _hold(obj: XmlObject) -> None:
    """List OBJ among the objects whose reads a write drops (its dict is empty now)."""
    global _holders_limit
    _holders.append(weakref.ref(obj))
    if len(_holders) > _holders_limit:  # drop the references of objects gone since
        _holders[:] = [ref for ref in _holders if ref() is not None]
        _holders_limit = max(_HOLDERS_COMPACTED_AT, 2 * len(_holders))


def _keep(obj: XmlObject, key: str, value: T) -> T:
    """VALUE kept among OBJ's reads under KEY."""
    reads = obj.__dict__
    if not reads:
        _hold(obj)
    reads[key] = value
    return value


def note_write() -> None:
    """Drop every model object's cached reads.  The model's own writers call it; code that
    changes a loaded tree with lxml directly calls it too (or loads the domain again)."""
    for ref in _holders:
        obj = ref()
        if obj is not None:
            obj.__dict__.clear()
    _holders.clear()


class XmlObject:
    """A view over one element of the original tree.

    Its field reads are kept in its instance dict until the next write through the
    model (see _holders); code that edits ``element`` with lxml directly calls
    note_write() afterwards.  The instance dict holds nothing else: other state of a
    model class is a slot."""

    __slots__ = ("element", "__dict__", "__weakref__")

    element: etree._Element

    def __init__(self, element: etree._Element):
        _set_element(self, element)

    def __setattr__(self, name: str, value: Any) -> None:
        # a Field is written through its declaration (it is a non-data descriptor, so
        # Python would otherwise put VALUE in the dict, where reads are kept)
        declared = getattr(type(self), name, None)
        if isinstance(declared, Field):
            declared.__set__(self, value)
        elif isinstance(declared, Computed):
            raise AttributeError(f"{type(self).__name__}.{name} is computed, not written")
        else:
            object.__setattr__(self, name, value)

    def derived(self, key: object, compute: Callable[..., T], *args: Any) -> T:
        """What COMPUTE(*ARGS) derives from this object's fields, kept with its reads under
        KEY (dropped with them at the next write): placement and the checks ask for a
        disk's drive address or a domain's controller order many times per domain."""
        derived: dict[object, Any] | None = self.__dict__.get("@derived")
        if derived is None:
            derived = _keep(self, "@derived", {})
        value = derived.get(key, _UNREAD)
        if value is _UNREAD:
            value = derived[key] = compute(*args)
        return value  # type: ignore[no-any-return]

    @property
    def line(self) -> int:
        return self.element.sourceline or 0

    def place_of(self, name: str) -> XmlObject | None:
        """A view over the element that holds the field or flag NAME of this object (the
        element carrying the attribute, or the text element itself), None when it is not
        in the tree: where a finding about that field points."""
        declared = getattr(type(self), name)
        if not isinstance(declared, Field | Flag):
            raise TypeError(f"{type(self).__name__}.{name} is not a field")
        node = _find(self.element, declared.steps) if declared.steps else self.element
        return XmlObject(node) if node is not None else None

    @property
    def xpath(self) -> str:
        return xpath_of(self.element)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.xpath} line {self.line}>"


def element_text(node: etree._Element) -> str:
    """All the text of NODE, as libvirt reads it (virXPathString's string()): a comment or
    processing instruction inside <serial>AB<!-- c -->CD</serial> does not end it."""
    return "".join(node.itertext())


def _split(path: str) -> tuple[list[str], str | None]:
    """'driver/@queues' -> (['driver'], 'queues'); 'serial' -> (['serial'], None);
    '.' -> ([], None): the element's own text (<loader>path</loader>)."""
    steps = [step for step in path.split("/") if step and step != "."]
    if steps and steps[-1].startswith("@"):
        return steps[:-1], steps[-1][1:]
    return steps, None


def _find(element: etree._Element, steps: list[str]) -> etree._Element | None:
    # each step is a plain tag: lxml's C child iterator, not its path language (2x faster)
    node: etree._Element | None = element
    for step in steps:
        if node is None:
            return None
        node = next(node.iterchildren(step), None)
    return node


def _tags(obj: XmlObject) -> dict[Any, etree._Element]:
    """OBJ's index of its children by tag (the first child of each tag), made at its first
    read of a child and kept with its reads: a disk's fields look for a dozen different
    children, each a walk of lxml's iterator.  Made in C: the children last to first, so
    that dict() keeps the first of each tag (a comment's or PI's tag is a function: a key
    no step asks for)."""
    reads = obj.__dict__
    children = obj.element[::-1]
    index = dict(zip(map(_tag_of, children), children, strict=True))
    if not reads:
        _hold(obj)
    reads["@tags"] = index
    return index


_tag_of = attrgetter("tag")


def _child_at(obj: XmlObject, first: str, rest: list[str] | None) -> etree._Element | None:
    """The element at FIRST (through OBJ's index of its children, which holds OBJ) and
    then REST below OBJ's element: a Flag's or Child's first read."""
    index = obj.__dict__.get("@tags")
    if index is None:
        index = _tags(obj)
    node = index.get(first)
    if node is not None and rest is not None:
        node = _find(node, rest)
    return node


def _grouped(obj: XmlObject, step: str) -> dict[str, list[etree._Element]]:
    """The children of every <STEP> child of OBJ's element, by tag, in document order
    (what findall('STEP/TAG') gives for each TAG), kept with OBJ's reads."""
    key = "@groups " + step  # (Children.groups_key)
    reads = obj.__dict__
    groups: dict[str, list[etree._Element]] | None = reads.get(key)
    if groups is None:
        groups = {}
        for parent in obj.element.iterchildren(step):
            for child in parent:
                tag = child.tag
                if type(tag) is str:  # (not a comment or a PI)
                    same = groups.get(tag)
                    if same is None:
                        groups[tag] = [child]
                    else:
                        same.append(child)
        if not reads:
            _hold(obj)
        reads[key] = groups
    return groups


def view(owner: XmlObject, node: etree._Element, cls: type[M]) -> M:
    """The CLS view of NODE among OWNER's lists: one object per element and class while
    nothing is written, so that domain.devices and domain.disks give the same Disk (its
    reads made once), kept with OWNER's reads."""
    reads = owner.__dict__
    views: dict[etree._Element, XmlObject] | None = reads.get("@views")
    if views is None:
        views = _keep(owner, "@views", {})
    found = views.get(node)
    if found is None or type(found) is not cls:
        found = views[node] = cls(node)
    return found


def _ensure(element: etree._Element, steps: list[str]) -> etree._Element:
    node = element
    for step in steps:
        child = node.find(step)
        node = child if child is not None else etree.SubElement(node, step)
    return node


class Field(Generic[T]):
    """One attribute or element text, read and written through the same declaration.

    ``Field("@queues", INT)`` is a ``Field[int]``: it reads as ``int | None``."""

    @overload
    def __init__(self: Field[str], path: str, converter: None = None, doc: str = "") -> None: ...

    @overload
    def __init__(self, path: str, converter: Converter[T], doc: str = "") -> None: ...

    def __init__(self, path: str, converter: Converter[Any] | None = None, doc: str = "") -> None:
        self.path = path
        self.converter: Converter[T] = converter if converter is not None else STR  # type: ignore[assignment]
        self.steps, self.attribute = _split(path)
        self.__doc__ = doc or f"`{path}` ({self.converter.name}); None when absent."
        self.name = path
        # where a read is kept in the object's dict: the attribute's name once declared
        # on a class (so that the next read finds it there and __get__ runs once); a field
        # made on its own (a mapping row's XML path) is read through __get__ every time
        # and looks for its read in the object's dict under a key of its own
        self.key = f"{path} #{id(self)}"
        self.standalone = True
        # the read's first step (through the object's index of its children by tag) and
        # the steps after it; no first step: the attribute or text of the object's element
        self.first = self.steps[0] if self.steps else None
        self.rest = self.steps[1:] or None
        # a string taken as written: no converter or check to run
        self.checks = type(self).validate is not Field.validate
        self.plain = self.converter is STR and not self.checks
        # the writer, on the instance: a __set__ on the class would make the field a
        # data descriptor, whose __get__ Python calls at every read
        self.__set__ = self.write  # type: ignore[method-assign]

    if TYPE_CHECKING:

        def __set__(self, obj: XmlObject, value: T | None) -> None: ...

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = self.key = name
        self.standalone = False
        owner_fields = owner.__dict__.get("FIELDS")
        if owner_fields is None:
            owner_fields = {}
            setattr(owner, "FIELDS", owner_fields)  # noqa: B010 (not declared on every class)
        owner_fields[name] = self

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Field[T]: ...

    @overload
    def __get__(self, obj: XmlObject, owner: type | None = None) -> T | None: ...

    def __get__(self, obj: XmlObject | None, owner: type | None = None) -> Field[T] | T | None:
        if obj is None:
            return self
        reads = obj.__dict__
        if self.standalone:  # (a declared field's read, once kept, is found before __get__)
            value = reads.get(self.key, _UNREAD)
            if value is not _UNREAD:
                return value  # type: ignore[no-any-return]
        # a check reads ~200 fields per domain for the first time
        first = self.first
        if first is None:
            node = obj.element
        else:
            index = reads.get("@tags")
            if index is None:
                index = _tags(obj)
            node = index.get(first)
            if node is not None and self.rest is not None:
                node = _find(node, self.rest)
        if node is None:
            value = None
        elif self.attribute is not None:
            value = node.get(self.attribute)
        else:
            # '.' (the element's own text): an empty <loader/> has no path; an element
            # without children has no text but its own
            value = (node.text if not len(node) else element_text(node)) or (
                None if first is None else ""
            )
        if value is not None and not self.plain:
            text = value
            try:
                value = self.converter.parse(text)
            except (ValueError, TypeError) as exc:
                raise self.invalid(obj, node, text, str(exc) or self.converter.name) from None
            if self.checks:
                self.validate(obj, node, value)
        if not reads:
            _hold(obj)
        reads[self.key] = value  # an invalid value is not kept: it raises again
        return value  # type: ignore[no-any-return]

    def validate(self, obj: XmlObject, node: etree._Element | None, value: T) -> None:
        """A check beyond the converter's (raises InvalidValue); none by default."""

    def invalid(
        self, obj: XmlObject, node: etree._Element | None, text: str, reason: str
    ) -> InvalidValue:
        """The error for TEXT, read from NODE (OBJ's element when None), with REASON."""
        where = node if node is not None else obj.element
        what = f"@{self.attribute}" if self.attribute else "text"
        return InvalidValue(
            f"{what} of <{where.tag}> is '{text}': {reason}",
            line=where.sourceline or 0,
            xpath=xpath_of(where) + (f"/@{self.attribute}" if self.attribute else ""),
        )

    def write(self, obj: XmlObject, value: T | None) -> None:
        """Write VALUE (None: remove the attribute or element) into OBJ's tree."""
        try:
            self._write(obj, value)
        finally:
            note_write()  # after the tree changed: no read can cache the old value

    def _write(self, obj: XmlObject, value: T | None) -> None:
        if value is None:
            if not self.steps and self.attribute is None:
                _set_text(obj.element, None)  # the element's own text: the element stays
                return
            node = _find(obj.element, self.steps)
            if node is None:
                return
            if self.attribute is not None:
                node.attrib.pop(self.attribute, None)
            else:
                _remove(node)
            return
        node = _ensure(obj.element, self.steps)
        text = self.converter.format(value)
        if self.attribute is None:
            _set_text(node, text)
        else:
            node.set(self.attribute, text)


def _set_text(node: etree._Element, text: str | None) -> None:
    for child in list(node):  # the old text's pieces between comments go too
        if not isinstance(child.tag, str):
            child.tail = None
            node.remove(child)
    node.text = text


def _remove(node: etree._Element) -> None:
    parent = node.getparent()
    if parent is not None:
        parent.remove(node)


class Flag:
    """An empty element whose presence means true (<readonly/>, <shareable/>)."""

    def __init__(self, path: str):
        self.steps, _ = _split(path)
        self.__doc__ = f"True when <{path}> is present."
        self.name = path
        self.first = self.steps[0]
        self.rest = self.steps[1:] or None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Flag: ...

    @overload
    def __get__(self, obj: XmlObject, owner: type | None = None) -> bool: ...

    def __get__(self, obj: XmlObject | None, owner: type | None = None) -> Flag | bool:
        if obj is None:
            return self
        # (a data descriptor, for its __set__: every read comes here, so it looks for
        # its kept read itself)
        present = obj.__dict__.get(self.name, _UNREAD)
        if present is _UNREAD:
            present = obj.__dict__[self.name] = _child_at(obj, self.first, self.rest) is not None
        return present  # type: ignore[no-any-return]

    def __set__(self, obj: XmlObject, value: bool) -> None:
        node = _find(obj.element, self.steps)
        if value and node is None:
            _ensure(obj.element, self.steps)
        elif not value and node is not None:
            _remove(node)
        note_write()


class Child(Generic[M]):
    """A single child element seen through another model class; None when absent.

    The same view is given back while nothing is written (its own reads stay cached)."""

    def __init__(self, cls: type[M], path: str):
        self.cls = cls
        self.steps, _ = _split(path)
        self.name = path
        self.first = self.steps[0]
        self.rest = self.steps[1:] or None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Child[M]: ...

    @overload
    def __get__(self, obj: XmlObject, owner: type | None = None) -> M | None: ...

    def __get__(self, obj: XmlObject | None, owner: type | None = None) -> Child[M] | M | None:
        if obj is None:
            return self
        node = _child_at(obj, self.first, self.rest)
        child = obj.__dict__[self.name] = self.cls(node) if node is not None else None
        return child

    def create(self, obj: XmlObject) -> M:
        node = _ensure(obj.element, self.steps)
        note_write()
        return self.cls(node)


class ReadList(list[M]):
    """A list of views a model object keeps with its reads (Children): the same list is
    given to every reader until the next write, so it refuses to be changed (copy it
    with list() to build another)."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a model's list of children is read-only: copy it with list()")

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse


# the list of every object without such children (a ReadList cannot change)
_NONE: ReadList[Any] = ReadList()


class Children(Generic[M]):
    """All child elements at PATH, in document order, each through a model class.

    The list is read once per model object (a check reads a domain's disks dozens of
    times) and kept with its reads as a ReadList, so a later read is a plain attribute
    lookup; a write through the model (or note_write() after an lxml edit that adds or
    removes elements) makes it be read again."""

    def __init__(self, cls: type[M], path: str):
        self.cls = cls
        self.path = path
        self.name = path
        self.key = "@" + path
        # "devices/disk": read from the grouping of all <devices> children by tag, made
        # once per object (a domain's 27 kinds of device each walked <devices> again)
        steps = path.split("/")
        plain = len(steps) == 2 and all(step.isidentifier() for step in steps)
        self.group: tuple[str, str] | None = (steps[0], steps[1]) if plain else None
        self.groups_key = "@groups " + steps[0]

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = self.key = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Children[M]: ...

    @overload
    def __get__(self, obj: XmlObject, owner: type | None = None) -> list[M]: ...

    def __get__(self, obj: XmlObject | None, owner: type | None = None) -> Children[M] | list[M]:
        if obj is None:
            return self
        reads = obj.__dict__
        found: list[M] | None = reads.get(self.key)
        if found is not None:  # (a list made on its own; a declared one is found before)
            return found
        group = self.group
        if group is not None:
            groups = reads.get(self.groups_key)
            nodes = (groups if groups is not None else _grouped(obj, group[0])).get(group[1])
        else:
            nodes = obj.element.findall(self.path)
        if nodes:
            views: dict[etree._Element, XmlObject] | None = reads.get("@views")
            if views is None:
                views = _keep(obj, "@views", {})
            cls = self.cls
            made: list[M] = []
            for node in nodes:  # (view(), inlined)
                seen = views.get(node)
                if seen is None or type(seen) is not cls:
                    seen = views[node] = cls(node)
                made.append(seen)
            found = ReadList(made)
        else:
            found = _NONE
        if not reads:
            _hold(obj)
        reads[self.key] = found
        return found


def iter_fields(cls: type) -> Iterator[tuple[str, Field[Any]]]:
    """Every Field declared on CLS and its bases, in declaration order."""
    seen: set[str] = set()
    for klass in reversed(cls.__mro__):
        for name, field in klass.__dict__.get("FIELDS", {}).items():
            if name not in seen:
                seen.add(name)
                yield name, field


class Computed(Generic[T]):
    """A value a model class computes from its fields (a disk's bus, derived from its
    target when not written), kept with the object's reads: the next read is a plain
    attribute lookup, until a write drops it.  Used as a decorator on the method."""

    def __init__(self, compute: Callable[[Any], T]):
        self.compute = compute
        self.__doc__ = compute.__doc__
        self.name = compute.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Computed[T]: ...

    @overload
    def __get__(self, obj: XmlObject, owner: type | None = None) -> T: ...

    def __get__(self, obj: XmlObject | None, owner: type | None = None) -> Computed[T] | T:
        if obj is None:
            return self
        value = self.compute(obj)
        reads = obj.__dict__
        if not reads:
            _hold(obj)
        reads[self.name] = value
        return value


_set_element = XmlObject.element.__set__
