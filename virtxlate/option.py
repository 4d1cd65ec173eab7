"""One QEMU command-line option as libvirt builds it: a flag, an implied value, key=value pairs."""

from __future__ import annotations

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
    """

    __slots__ = ("flag", "implied", "props", "origin")
    _fields = __slots__

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

    def add(self, key: str, value: Value | None) -> None:
        if value is not None:
            self.props.append((key, value))

    def get(self, key: str) -> Value | None:
        return next((value for name, value in self.props if name == key), None)
