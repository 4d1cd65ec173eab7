"""One QEMU command-line option as libvirt builds it: a flag, an implied value, key=value pairs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .model.fields import XmlObject
from .records import Record

Value = str | int | bool | dict[str, "Value"] | list["Value"]

# A property keyval writes as its bare key, without '=value' (libvirt's ",readonly" of
# -fsdev); compared by identity.
BARE: dict[str, Value] = {}


class Option(Record):
    """E.g. ``-device virtio-scsi-pci,id=scsi0,bus=pci.0,addr=0x3``.

    ``implied`` is the leading value without a key (the device driver); ``props`` keep
    libvirt's order.  ``origin`` is the XML element the option comes from, for messages.

    A builder may leave the rest of the properties for later (``defer``): what only the
    written line shows (a -blockdev node's body, a disk's frontend properties) is then
    made when ``props`` is first read, in the same order as if made at once, and never
    when nothing reads it (`check` reads only what QEMU's graph refusals need, ``known``).
    """

    __slots__ = ("flag", "implied", "props", "origin", "_known", "_later")
    _fields = ("flag", "implied", "props", "origin")

    def __init__(
        self,
        flag: str,
        implied: str | None = None,
        props: list[tuple[str, Value]] | None = None,
        origin: XmlObject | None = None,
    ):
        self.flag = flag
        self.implied = implied
        self.props = [] if props is None else props
        self.origin = origin

    def defer(self, later: Callable[[list[tuple[str, Value]]], None]) -> None:
        """Let LATER append, where the properties now end, the ones it makes, when
        ``props`` is first read (``add`` goes on after them; every read of ``props``,
        ``get`` included, sees them all, in the order of making them at once).  LATER
        finds nothing and refuses no value the schema lets through: check never runs
        it (tests/test_speed_lazy3_check_mode.py)."""
        self._known = self.props
        self._later = [(len(self._known), later)]
        del self.props
        self.__class__ = _Deferred

    @property
    def known(self) -> list[tuple[str, Value]]:
        """The properties made so far, without the deferred ones (whose keys are never
        bus, id or masterbus: tests/test_speed_lazy3_check_mode.py)."""
        return self.props

    def add(self, key: str, value: Value | None) -> None:
        if value is not None:
            self.props.append((key, value))

    def get(self, key: str) -> Value | None:
        return next((value for name, value in self.props if name == key), None)


class _Deferred(Option):
    """An Option with properties deferred: it becomes a plain Option when ``props`` is
    first read.  (A class of its own: a ``__getattr__`` on Option would slow every read
    of every option's attributes.)"""

    __slots__ = ()
    _known: list[tuple[str, Value]]
    _later: list[tuple[int, Callable[[list[tuple[str, Value]]], None]]]

    def __getattr__(self, name: str) -> list[tuple[str, Value]]:
        # (called only while a slot is unset: ``props``, until first read)
        if name != "props":
            raise AttributeError(name)
        known, pending = self._known, self._later
        del self._known, self._later
        props: list[tuple[str, Value]] = []
        self.props = props
        self.__class__ = Option  # type: ignore[assignment]
        done = 0
        for at, later in pending:
            props += known[done:at]
            later(props)
            done = at
        props += known[done:]
        return props

    @property
    def known(self) -> list[tuple[str, Value]]:
        return self._known

    def defer(self, later: Callable[[list[tuple[str, Value]]], None]) -> None:
        self._later.append((len(self._known), later))

    def add(self, key: str, value: Value | None) -> None:
        if value is not None:
            self._known.append((key, value))

    def __eq__(self, other: object) -> bool:
        self.props  # noqa: B018 (made: a plain Option compares)
        return self == other

    def replace(self, **changes: Any) -> Option:  # type: ignore[override]
        self.props  # noqa: B018 (made: a plain Option is copied)
        return self.replace(**changes)
