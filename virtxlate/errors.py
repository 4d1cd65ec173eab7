"""Errors virtxlate reports to its user, and the exit codes that go with them.

Every error the CLI prints is one line, ``FILE:LINE: error: MESSAGE``; no traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INPUT = 3


@dataclass
class VirtxlateError(Exception):
    """A problem with what the user gave us, located in a file when that is known."""

    message: str
    source: str = "<input>"
    line: int = 0
    exit_code: int = EXIT_INPUT

    def __str__(self) -> str:
        # one line, whatever the message quotes (libxml2 adds the offending text)
        return f"{self.source}:{self.line}: error: {' '.join(self.message.split())}"


class InputError(VirtxlateError):
    """The input could not be read as a libvirt domain XML (exit 3)."""


@dataclass
class UsageError(VirtxlateError):
    """The command was asked for something it cannot do, e.g. an unknown QEMU release (exit 2)."""

    exit_code: int = EXIT_USAGE

    def __str__(self) -> str:
        return f"virtxlate: error: {self.message}"


@dataclass
class InvalidValue(VirtxlateError):
    """An attribute or element value the model cannot convert (reported as a finding, exit 1)."""

    xpath: str = ""
    exit_code: int = EXIT_FINDINGS
