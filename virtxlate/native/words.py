"""A QEMU command line as words, whatever it was written as.

A shell-quoted line, a libvirt `.args` file (VAR=value environment prefix, backslash
continuations) or a JSON array of strings.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass

from ..errors import InputError

_ENVIRONMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class CommandLine:
    emulator: str | None
    words: list[str]          # the options after the binary
    source: str

    @property
    def arch(self) -> str:
        """libvirt's arch of the emulator (qemu-system-ARCH; i386 is i686, arm is armv7l:
        virQEMUCapsArchFromString), x86_64 if none."""
        binary = (self.emulator or "").rsplit("/", 1)[-1]
        arch = binary.removeprefix("qemu-system-") if binary.startswith("qemu-system-") \
            else "x86_64"
        return {"i386": "i686", "arm": "armv7l"}.get(arch, arch)


def read_command_line(text: str, source: str = "<input>") -> CommandLine:
    stripped = text.strip()
    if not stripped:
        raise InputError("no command line in the input", source=source, line=1)
    if stripped.startswith("["):
        try:
            words = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InputError(f"not a JSON array of strings: {exc.msg}", source=source,
                             line=exc.lineno) from None
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise InputError("not a JSON array of strings", source=source, line=1)
    else:
        try:
            # libvirt's .args files break long words too: the continuation joins them
            words = shlex.split(re.sub(r"\\\n", "", stripped), comments=False)
        except ValueError as exc:   # an unclosed quote
            raise InputError(f"cannot split the command line: {exc}", source=source,
                             line=1) from None
    while words and _ENVIRONMENT.match(words[0]):
        words.pop(0)
    emulator = None
    if words and not words[0].startswith("-"):
        emulator = words.pop(0)
    return CommandLine(emulator, words, source)
