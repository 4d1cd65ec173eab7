"""Errors virtxlate reports to its user, and the exit codes that go with them.

Every error the CLI prints is one line, ``FILE:LINE: error: MESSAGE``; no traceback.
EXIT_CODES is the table the README's "Commands and exit codes" shows (a test keeps the
two equal).
"""

from __future__ import annotations

from typing import ClassVar

from .records import Record

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
# as a shell reports a process ended by a signal: 128 + the signal's number
EXIT_SIGINT = 130
EXIT_SIGTERM = 143

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "no errors",
    EXIT_FINDINGS: "errors found",
    EXIT_USAGE: "usage error",
    EXIT_INPUT: "unreadable input",
    EXIT_SIGINT: "interrupted (SIGINT)",
    EXIT_SIGTERM: "terminated (SIGTERM)",
}


class VirtxlateError(Record, Exception):
    """A problem with what the user gave us, located in a file when that is known."""

    _fields: ClassVar[tuple[str, ...]] = ("message", "source", "line", "exit_code")

    def __init__(
        self, message: str, source: str = "<input>", line: int = 0, exit_code: int = EXIT_INPUT
    ):
        self.message = message
        self.source = source
        self.line = line
        self.exit_code = exit_code

    def __str__(self) -> str:
        # one line, whatever the message quotes (libxml2 adds the offending text)
        return f"{self.source}:{self.line}: error: {' '.join(self.message.split())}"

    def at_source(self, source: str) -> VirtxlateError:
        """The same error, in the file SOURCE."""
        return self.replace(source=source)


class InputError(VirtxlateError):
    """The input could not be read as a libvirt domain XML (exit 3)."""


class UsageError(VirtxlateError):
    """The command was asked for something it cannot do, e.g. an unknown QEMU release (exit 2)."""

    def __init__(
        self, message: str, source: str = "<input>", line: int = 0, exit_code: int = EXIT_USAGE
    ):
        super().__init__(message, source, line, exit_code)

    def __str__(self) -> str:
        return f"virtxlate: error: {' '.join(self.message.split())}"


class ArgumentTypeError(UsageError, TypeError):
    """A Python API call given a value of a type it does not take, e.g. ``analyze(domain,
    1.5)``; also a TypeError, so callers that catch TypeError keep working."""


class InvalidValue(VirtxlateError):
    """An attribute or element value the model cannot convert (reported as a finding, exit 1)."""

    _fields = ("message", "source", "line", "exit_code", "xpath")

    def __init__(
        self,
        message: str,
        source: str = "<input>",
        line: int = 0,
        exit_code: int = EXIT_FINDINGS,
        xpath: str = "",
    ):
        super().__init__(message, source, line, exit_code)
        self.xpath = xpath
