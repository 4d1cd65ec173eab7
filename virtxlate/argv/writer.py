"""The QEMU command line for a storage plan, ready to run without libvirt around it.

Left out on purpose: what only exists inside a libvirt-run process (the monitor
socket, the master-key secret object, passed file descriptors, the environment).
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Literal

from ..caps import CapsTable
from ..libvirt.plan import StoragePlan
from ..props.option import Option
from .escape import json_value, keyval

ArgvFormat = Literal["shell", "lines", "json"]


def _machine_options(plan: StoragePlan) -> list[Option]:
    domain, caps = plan.domain, plan.caps
    options: list[Option] = []
    if domain.name:
        options.append(_name_option(domain.name, caps))
    # libvirt always starts QEMU paused and lets the guest run after setup.
    options.append(Option("-S"))
    # UEFI: the pflash nodes before -machine, which names them (as
    # qemuBuildPflashBlockdevCommandLine and qemuBuildMachineCommandLine write them)
    options.extend(plan.firmware)
    machine = Option("-machine", plan.machine_name)
    for key, node in plan.pflash:
        machine.add(key, node)
    machine.add("accel", plan.accel)
    options.append(machine)
    if domain.memory_mib is not None:
        options.append(Option("-m", str(domain.memory_mib)))
    vcpus = domain.vcpu or 1
    smp = Option("-smp", str(vcpus))
    smp.props += [("sockets", vcpus), ("cores", 1), ("threads", 1)]
    options.append(smp)
    if domain.uuid:
        options.append(Option("-uuid", domain.uuid))
    if caps.has_flag("display") and domain.element.find("devices/graphics") is None:
        # libvirt: no <graphics> means no display at all
        options.append(Option("-display", "none"))
    options.append(Option("-no-user-config" if caps.has_flag("no-user-config") else "-nodefconfig"))
    options.append(Option("-nodefaults"))
    if caps.has_flag("iothread"):
        options.extend(
            Option("-object", "iothread", [("id", f"iothread{number}")])
            for number in sorted(domain.iothread_id_set())
        )
    return options


def _name_option(name: str, caps: CapsTable) -> Option:
    """-name as qemuBuildNameCommandLine writes it: the name under QEMU's 'guest' key
    (never as the option's first token, where 'process=…' or 'web,id=1' would be read
    as keys) and debug-threads=on where QEMU has them (libvirt's name-guest and
    debug-threads flags, which the tables of 1.x lack: the name is the whole value there)."""
    if not caps.has_flag("name-guest"):
        return Option("-name", name)
    option = Option("-name", None, [("guest", name)])
    if caps.has_flag("debug-threads"):
        option.add("debug-threads", True)
    return option


def _object_value(option: Option) -> str:
    """libvirt writes -object as JSON where it writes -device as JSON."""
    return json_value(option, "qom-type")


def option_words(plan: StoragePlan) -> list[tuple[str, str | None]]:
    """Each option and its value (None for a bare flag), emulator first with no value."""
    emulator = plan.domain.emulator or plan.caps.emulator
    words: list[tuple[str, str | None]] = [(emulator, None)]
    for option in _machine_options(plan) + plan.options:
        words.append((option.flag, _value(option, plan.caps.json_device)))
    return words


def _value(option: Option, json_device: bool) -> str | None:
    if option.flag == "-blockdev":
        return json_value(option)
    if option.flag == "-object" and json_device:
        return _object_value(option)
    if option.flag == "-device" and json_device:
        return json_value(option, "driver")
    if option.implied is None and not option.props:
        return None
    return keyval(option)


def command_line(plan: StoragePlan) -> list[str]:
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
