"""The options of a QEMU command line, each parsed whatever its syntax: key=value with
doubled commas, JSON (`-device '{"driver":…}'`, `-blockdev '{…}'`), or a bare value."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..argv.escape import split_keyval
from ..errors import InputError
from ..props.mapping import BadValue, number, text

T = TypeVar("T")

# How deep an option's JSON value may nest: libvirt writes at most a few levels (a
# -blockdev's server list, a node's inline file); the walks over it stay far from
# Python's recursion limit.
MAX_JSON_DEPTH = 32

# Options that take no value (QEMU's qemu-options.hx, the ones libvirt writes and the
# usual hand-written ones).
FLAGS_WITHOUT_VALUE = frozenset(
    {
        "-S",
        "-nodefaults",
        "-no-user-config",
        "-no-shutdown",
        "-no-acpi",
        "-no-hpet",
        "-enable-kvm",
        "-usb",
        "-nographic",
        "-snapshot",
        "-no-reboot",
        "-daemonize",
        "-enable-fips",
        "-full-screen",
        "-no-fd-bootchk",
        "-no-kvm",
        "-no-kvm-irqchip",
    }
)
# Options whose value names a device type first (key=value: the implied key is driver).
_IMPLIED_KEY = {
    "-device": "driver",
    "-object": "qom-type",
    "-machine": "type",
    "-M": "type",
    "-netdev": "type",
    "-chardev": "backend",
    "-audiodev": "driver",
}
# Options whose value is a file or a plain word, never key=value.
_PLAIN = frozenset(
    {
        "-hda",
        "-hdb",
        "-hdc",
        "-hdd",
        "-cdrom",
        "-fda",
        "-fdb",
        "-m",
        "-uuid",
        "-cpu",
        "-kernel",
        "-initrd",
        "-append",
        "-pidfile",
        "-L",
        "-bios",
        "-serial",
        "-parallel",
        "-monitor",
        "-vga",
        "-k",
    }
)


@dataclass
class ArgvOption:
    """One option: its flag, its raw value, the parsed fields (an implied driver or type
    under its key), and its position among the options."""

    flag: str
    value: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    position: int = 0
    json: bool = False

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    def words(self) -> list[str]:
        return [self.flag] if self.value is None else [self.flag, self.value]


def parse_options(words: list[str], source: str = "<input>") -> list[ArgvOption]:
    """The options of WORDS in order; InputError (from SOURCE) for a JSON value nested
    deeper than MAX_JSON_DEPTH."""
    options: list[ArgvOption] = []
    index = 0
    while index < len(words):
        flag = words[index]
        value: str | None = None
        if (
            flag.startswith("-")
            and flag not in FLAGS_WITHOUT_VALUE
            and index + 1 < len(words)
            and not _is_flag(words[index + 1])
        ):
            value = words[index + 1]
            index += 1
        index += 1
        option = ArgvOption(
            flag if not flag.startswith("--") else flag[1:], value, position=len(options)
        )
        if value is not None:
            try:
                option.fields, option.json = _fields(option.flag, value)
                too_deep = option.json and json_depth(option.fields) > MAX_JSON_DEPTH
            except RecursionError:  # deeper than the json module itself reads
                too_deep = True
            if too_deep:
                raise InputError(
                    f"the JSON value of option {len(options) + 1} ({flag}) "
                    f"nests deeper than {MAX_JSON_DEPTH} levels",
                    source=source,
                    line=0,
                )
        options.append(option)
    return options


def json_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """How deep VALUE nests (a scalar is 0), without recursion; counting stops past
    LIMIT."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        item, depth = pending.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if depth > limit:
                break
        pending.extend((child, depth) for child in children)
    return deepest


def _is_flag(word: str) -> bool:
    return word.startswith("-") and len(word) > 1 and not word[1].isdigit()


def _fields(flag: str, value: str) -> tuple[dict[str, Any], bool]:
    if flag in _PLAIN:
        return {"": value}, False
    if value.startswith("{"):
        try:
            data = json.loads(value)
        except json.JSONDecodeError:
            return {"": value}, False
        if isinstance(data, dict):
            return data, True
        return {"": value}, False
    parts = split_keyval(value)
    fields: dict[str, Any] = {}
    for position, part in enumerate(parts):
        key, sep, item = part.partition("=")
        if not sep:
            if position == 0:
                fields[_IMPLIED_KEY.get(flag, "")] = key
            else:
                fields[key] = "on"  # a bare key is a boolean switched on
            continue
        fields[key] = item
    return fields, False


def text_of(fields: dict[str, Any], key: str) -> str | None:
    """FIELDS[KEY] as text (a JSON number too); None when absent, BadValue naming KEY for
    an object or a list where a word belongs."""
    return _read(fields, key, text)


def number_of(fields: dict[str, Any], key: str) -> int | None:
    """FIELDS[KEY] as a number; None when absent, BadValue naming KEY when it is none."""
    return _read(fields, key, number)


def _read(fields: dict[str, Any], key: str, parse: Callable[[Any], T]) -> T | None:
    value = fields.get(key)
    if value is None:
        return None
    try:
        return parse(value)
    except BadValue as exc:
        raise BadValue(f"bad value '{value}' for {key} ({exc})") from None
