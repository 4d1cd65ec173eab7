"""The QEMU command line for a storage plan, ready to run without libvirt around it.

Left out on purpose: what only exists inside a libvirt-run process (the monitor
socket, the master-key secret object, passed file descriptors, the environment).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from typing import Literal, Protocol

from ..caps import CapsTable
from ..option import Option, Value
from .escape import json_value, keyval

ArgvFormat = Literal["shell", "lines", "json"]


def _object_value(option: Option) -> str:
    """libvirt writes -object as JSON where it writes -device as JSON."""
    return json_value(option, "qom-type")


class WrittenPlan(Protocol):
    """A translation as the writer reads it (libvirt.plan's StoragePlan): the binary, every
    option in libvirt's order, and the release (whether -device is written as JSON)."""

    options: list[Option]
    caps: CapsTable

    @property
    def emulator(self) -> str: ...


def words(
    program: str, options: Sequence[Option], json_device: bool, json_netdev: bool = False
) -> list[tuple[str, str | None]]:
    """PROGRAM and each option with its value (None for a bare flag); with JSON_DEVICE
    -device and -object written as JSON, as libvirt does where QEMU takes it, and with
    JSON_NETDEV -netdev too (libvirt's netdev JSON flag)."""
    found: list[tuple[str, str | None]] = [(program, None)]
    found.extend((option.flag, _value(option, json_device, json_netdev)) for option in options)
    return found


def option_words(plan: WrittenPlan) -> list[tuple[str, str | None]]:
    """Each option of PLAN and its value (None for a bare flag), emulator first with no
    value, in the order of libvirt.plan's PHASES."""
    return words(
        plan.emulator, plan.options, plan.caps.json_device, plan.caps.has_flag("netdev.json")
    )


# Options libvirt writes with the XML's text as is, commas undoubled (a file, the kernel
# command line: qemuBuildBootCommandLine, qemuBuildDomainLoaderCommandLine)
RAW_VALUE = frozenset({"-kernel", "-initrd", "-append", "-dtb", "-bios"})


def _value(option: Option, json_device: bool, json_netdev: bool = False) -> str | None:
    if option.flag in RAW_VALUE and not option.props:
        return option.implied
    if option.flag == "-blockdev":
        return json_value(option)
    if option.flag == "-netdev" and json_netdev:
        return json_value(option, "type")
    if option.flag == "-object" and json_device:
        return _object_value(option)
    if option.flag == "-device" and json_device:
        return json_value(option, "driver")
    if option.flag == "-audiodev":
        # libvirt writes -audiodev as JSON where it writes -device as JSON (QEMU 7.2:
        # checked with libvirt 9.0), else keyval with the directions' keys as in.KEY
        return json_value(option) if json_device else keyval(_flattened(option))
    if option.implied is None and not option.props:
        return None
    return keyval(option)


def _flattened(option: Option) -> Option:
    """OPTION with each nested object's keys as PARENT.KEY (QEMU's dotted keyval)."""
    props: list[tuple[str, Value]] = []
    for key, value in option.props:
        if isinstance(value, dict):
            props.extend((f"{key}.{sub}", inner) for sub, inner in value.items())
        else:
            props.append((key, value))
    return Option(option.flag, option.implied, props, option.origin)


def command_line(plan: WrittenPlan) -> list[str]:
    """argv as a list of strings, emulator first."""
    return [word for pair in option_words(plan) for word in pair if word is not None]


def format_argv(words: list[tuple[str, str | None]], style: ArgvFormat) -> str:
    """json: an array of strings; shell: one quoted command (POSIX quoting, which shlex
    reads back); lines: one option per line, each word quoted for bash and a word with a
    control character (a newline in a path) written as $'…' with \\n, \\t, \\xHH escapes,
    so that a value never spans two lines (bash and `virtxlate from-argv` read it)."""
    argv = [word for pair in words for word in pair if word is not None]
    if style == "json":
        return json.dumps(argv)
    if style == "lines":
        return "\n".join(
            line_quote(flag) if value is None else f"{line_quote(flag)} {line_quote(value)}"
            for flag, value in words
        )
    return shlex.join(argv)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ANSI_QUOTED = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\", "'": "\\'"}


def line_quote(word: str) -> str:
    """WORD as one shell word on one line: shlex's quoting, or bash's $'…' when WORD holds
    a control character."""
    if _CONTROL.search(word) is None:
        return shlex.quote(word)
    return (
        "$'"
        + re.sub(
            r"[\x00-\x1f\x7f\\']",
            lambda m: _ANSI_QUOTED.get(m.group(), f"\\x{ord(m.group()):02x}"),
            word,
        )
        + "'"
    )
