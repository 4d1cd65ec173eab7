"""QEMU command lines: quoting rules and the writer."""

from .writer import command_line, format_argv, option_words

__all__ = ["command_line", "format_argv", "option_words"]
