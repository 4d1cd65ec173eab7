"""What a QEMU binary answered over QMP, in the shape of libvirt's captured `.replies` files.

libvirt's tests keep, per real QEMU release, the conversation its capability probe had
with the binary (tests/qemucapabilitiesdata/caps_X.Y.Z_ARCH.replies): each command
({"execute": …, "arguments": …}) followed by its reply ({"return": …} or {"error": …}),
JSON objects separated by blank lines.  `caps probe` records its own conversation in the
same shape, so that one pure step (interpret.py) turns either into a capability table.
A conversation may hold several QEMU processes: each starts with qmp_capabilities; the
probe writes the command line it started QEMU with beside that command ("x-args").
"""

from __future__ import annotations

import json
import lzma
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError


@dataclass
class Exchange:
    """One command and what QEMU answered to it, in the session (QEMU process) it ran in."""

    execute: str
    arguments: dict[str, Any]
    reply: dict[str, Any]
    session: int = 0
    args: list[str] | None = None  # the QEMU command line, on a session's first command

    @property
    def ok(self) -> bool:
        return "return" in self.reply

    @property
    def value(self) -> Any:
        return self.reply.get("return")


@dataclass
class Answers:
    """A whole conversation, with lookups by command (first answer wins, as sessions go)."""

    exchanges: list[Exchange] = field(default_factory=list)
    origin: str = ""

    def first(self, execute: str, **arguments: Any) -> Exchange | None:
        for exchange in self.exchanges:
            if exchange.execute == execute and all(
                exchange.arguments.get(k) == v for k, v in arguments.items()
            ):
                return exchange
        return None

    def value(self, execute: str, **arguments: Any) -> Any:
        exchange = self.first(execute, **arguments)
        return exchange.value if exchange is not None and exchange.ok else None

    def all(self, execute: str) -> list[Exchange]:
        return [e for e in self.exchanges if e.execute == execute]

    def sessions(self) -> list[list[Exchange]]:
        grouped: dict[int, list[Exchange]] = {}
        for exchange in self.exchanges:
            grouped.setdefault(exchange.session, []).append(exchange)
        return [grouped[key] for key in sorted(grouped)]

    def hmp(self, session: list[Exchange], command_line: str) -> str | None:
        """The text a human-monitor command gave in SESSION."""
        for exchange in session:
            if (
                exchange.execute == "human-monitor-command"
                and exchange.ok
                and exchange.arguments.get("command-line") == command_line
            ):
                return str(exchange.value)
        return None


def parse_replies(text: str, origin: str = "") -> Answers:
    """Read a conversation: each command object is followed by its reply object."""
    decoder = json.JSONDecoder()
    position, pending, session = 0, None, -1
    answers = Answers(origin=origin)
    length = len(text)
    while position < length:
        while position < length and text[position].isspace():
            position += 1
        if position >= length:
            break
        try:
            obj, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"{origin or 'replies'}: not a QMP conversation (line {exc.lineno}: {exc.msg})"
            ) from None
        if not isinstance(obj, dict):
            raise UsageError(
                f"{origin or 'replies'}: not a QMP conversation (a JSON "
                "value that is not an object)"
            )
        if "execute" in obj:
            if obj["execute"] == "qmp_capabilities":
                session += 1
            pending = obj
        elif pending is not None and ("return" in obj or "error" in obj):
            reply = {k: v for k, v in obj.items() if k in ("return", "error")}
            answers.exchanges.append(
                Exchange(
                    str(pending["execute"]),
                    dict(pending.get("arguments") or {}),
                    reply,
                    max(session, 0),
                    pending.get("x-args"),
                )
            )
            pending = None
    return answers


def read_replies(path: Path) -> Answers:
    """A .replies file, xz-compressed or not."""
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        return parse_replies(handle.read(), origin=path.name)


def format_replies(answers: Answers) -> str:
    """The conversation as libvirt writes it (2-space JSON, a blank line between objects)."""
    parts = []
    for number, exchange in enumerate(answers.exchanges, start=1):
        command: dict[str, Any] = {"execute": exchange.execute}
        if exchange.arguments:
            command["arguments"] = exchange.arguments
        if exchange.args is not None:
            command["x-args"] = exchange.args
        command["id"] = f"virtxlate-{number}"
        parts.append(json.dumps(command, indent=2))
        parts.append(json.dumps({**exchange.reply, "id": f"virtxlate-{number}"}, indent=2))
    return "\n\n".join(parts) + "\n"
