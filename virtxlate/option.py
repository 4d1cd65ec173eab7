"""One QEMU command-line option as libvirt builds it: a flag, an implied value, key=value pairs."""

from __future__ import annotations

from dataclasses import dataclass, field

from .model.fields import XmlObject

Value = str | int | bool | dict[str, "Value"] | list["Value"]

# A property keyval writes as its bare key, without '=value' (libvirt's ",readonly" of
# -fsdev); compared by identity.
BARE: dict[str, Value] = {}


@dataclass
class Option:
    """E.g. ``-device virtio-scsi-pci,id=scsi0,bus=pci.0,addr=0x3``.

    ``implied`` is the leading value without a key (the device driver); ``props`` keep
    libvirt's order.  ``origin`` is the XML element the option comes from, for messages.
    """

    flag: str
    implied: str | None = None
    props: list[tuple[str, Value]] = field(default_factory=list)
    origin: XmlObject | None = None

    def add(self, key: str, value: Value | None) -> None:
        if value is not None:
            self.props.append((key, value))

    def get(self, key: str) -> Value | None:
        return next((value for name, value in self.props if name == key), None)
