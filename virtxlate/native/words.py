"""A QEMU command line as words, whatever it was written as.

A shell-quoted line, a libvirt `.args` file (VAR=value environment prefix, backslash
continuations) or a JSON array of strings.  Shell words are read as a POSIX shell reads
them, plus bash's $'…' quoting (which `argv --format lines` writes for control
characters), in one pass: time linear in the input.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ..errors import InputError

_ENVIRONMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class CommandLine:
    emulator: str | None
    words: list[str]  # the options after the binary
    source: str

    @property
    def arch(self) -> str:
        """libvirt's arch of the emulator (qemu-system-ARCH; i386 is i686, arm is armv7l:
        virQEMUCapsArchFromString), x86_64 if none."""
        binary = (self.emulator or "").rsplit("/", 1)[-1]
        arch = (
            binary.removeprefix("qemu-system-") if binary.startswith("qemu-system-") else "x86_64"
        )
        return {"i386": "i686", "arm": "armv7l"}.get(arch, arch)


def read_command_line(text: str, source: str = "<input>") -> CommandLine:
    stripped = text.strip()
    if not stripped:
        raise InputError("no command line in the input", source=source, line=1)
    if stripped.startswith("["):
        try:
            words = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"not a JSON array of strings: {exc.msg}", source=source, line=exc.lineno
            ) from None
        except RecursionError:
            raise InputError(
                "not a JSON array of strings: nested too deep", source=source, line=1
            ) from None
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise InputError("not a JSON array of strings", source=source, line=1)
    else:
        # libvirt's .args files break long words too: the continuation joins them
        words = split_words(stripped.replace("\\\n", ""), source)
    while words and _ENVIRONMENT.match(words[0]):
        words.pop(0)
    emulator = None
    if words and not words[0].startswith("-"):
        emulator = words.pop(0)
    return CommandLine(emulator, words, source)


# One shell token each: blanks, '…', $'…', "…", a backslash-escaped character, or a run of
# plain characters (the quoted bodies as unrolled loops: no backtracking).
_TOKEN = re.compile(
    r"""
    (?P<blank>[ \t\r\n]+)
  | '(?P<single>[^']*)'
  | \$'(?P<ansi>[^'\\]*(?:\\.[^'\\]*)*)'
  | "(?P<double>[^"\\]*(?:\\.[^"\\]*)*)"
  | \\(?P<escaped>.)
  | (?P<plain>[^ \t\r\n'"\\$]+|\$)
""",
    re.VERBOSE | re.DOTALL,
)
# inside "…" a backslash quotes only these (POSIX); elsewhere it stays
_DOUBLE_ESCAPE = re.compile(r'\\([\\"$`\n])')
_ANSI_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)", re.DOTALL)
_ANSI_NAMED = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}


def _ansi(match: re.Match[str]) -> str:
    code = match.group(1)
    if code[0] == "x":
        return chr(int(code[1:], 16))
    if code[0] in "01234567":
        return chr(int(code, 8))
    return _ANSI_NAMED.get(code, "\\" + code)


def split_words(text: str, source: str = "<input>") -> list[str]:
    """TEXT split into words as a shell would (no expansion, no comments)."""
    words: list[str] = []
    current: list[str] = []
    in_word = False
    position, end = 0, len(text)
    while position < end:
        match = _TOKEN.match(text, position)
        if match is None:  # only an unclosed quote stops the scanner
            line = text.count("\n", 0, position) + 1
            raise InputError(
                f"cannot split the command line: no closing quotation for the "
                f"{text[position]} at character {position + 1}",
                source=source,
                line=line,
            )
        position = match.end()
        kind = match.lastgroup
        if kind == "blank":
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
            continue
        value = match.group(kind or "plain")
        if kind == "escaped" and value == "\n":
            continue  # a line continuation: neither a character nor a word
        if kind == "double":
            value = _DOUBLE_ESCAPE.sub(lambda m: "" if m.group(1) == "\n" else m.group(1), value)
        elif kind == "ansi":
            value = _ANSI_ESCAPE.sub(_ansi, value)
        current.append(value)
        in_word = True
    if in_word:
        words.append("".join(current))
    return words
