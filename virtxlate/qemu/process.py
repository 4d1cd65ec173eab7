"""Start QEMU paused with a QMP socket, talk QMP with timeouts, always end the process.

This is the only place virtxlate starts QEMU.  The process runs with no guest (``-S``,
``-display none``, ``-nodefaults``), on TCG or the ``none`` machine, so it needs no KVM,
and it is ended on every path out of the ``with`` block: ``quit`` first, then SIGTERM,
then SIGKILL.  Only the process started here is ever signalled.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from typing import Any


class QemuError(Exception):
    """QEMU could not be started, did not answer in time, or refused a command."""


class QemuProcess:
    """A paused QEMU with a QMP monitor.  Use as a context manager.

    with QemuProcess("qemu-system-x86_64", ["-machine", "none"]) as qemu:
        qemu.execute("query-version")
    """

    def __init__(
        self, binary: str, args: Sequence[str] = ("-machine", "none"), timeout: float = 30.0
    ):
        self.binary = binary
        self.args = list(args)
        self.timeout = timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._socket: socket.socket | None = None
        self._buffer = b""
        self._tmpdir: str | None = None
        self.greeting: dict[str, Any] = {}

    # -- lifetime ---------------------------------------------------------------------
    def __enter__(self) -> QemuProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        path = shutil.which(self.binary) or self.binary
        if not os.path.exists(path):
            raise QemuError(f"QEMU binary '{self.binary}' not found")
        self._tmpdir = tempfile.mkdtemp(prefix="virtxlate-qmp-")
        sock_path = os.path.join(self._tmpdir, "qmp.sock")
        command = [
            path,
            "-S",
            "-display",
            "none",
            "-nodefaults",
            "-no-user-config",
            "-qmp",
            f"unix:{sock_path},server=on,wait=off",
            *self.args,
        ]
        try:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except OSError as exc:
            self.close()
            raise QemuError(f"cannot start {path}: {exc.strerror}") from None
        deadline = time.monotonic() + self.timeout
        while True:
            if self._process.poll() is not None:
                stderr = self._stderr_tail()
                self.close()
                raise QemuError(f"QEMU exited at start: {stderr}")
            try:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self._socket.connect(sock_path)
                break
            except OSError:
                if self._socket is not None:
                    self._socket.close()
                    self._socket = None
                if time.monotonic() > deadline:
                    self.close()
                    raise QemuError("QEMU did not open its QMP socket in time") from None
                time.sleep(0.02)
        try:
            self.greeting = self._read_message(deadline)
            self.execute("qmp_capabilities")
        except QemuError:
            stderr = self._stderr_tail()
            self.close()
            raise QemuError(f"QEMU exited at start: {stderr}") from None

    def close(self) -> None:
        """End the QEMU this object started, whatever state it is in."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            try:
                if self._socket is not None:
                    self._send({"execute": "quit"})
            except OSError:
                pass
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if process is not None and process.stderr is not None:
            process.stderr.close()
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def _stderr_tail(self) -> str:
        """QEMU's last line on stderr once it has exited (its reason), else ''."""
        process = self._process
        if process is None or process.stderr is None:
            return ""
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            return ""
        lines = process.stderr.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    # -- QMP --------------------------------------------------------------------------
    def execute(self, command: str, **arguments: Any) -> Any:
        """Run one QMP command; its 'return' value, or QemuError with QEMU's message."""
        message: dict[str, Any] = {"execute": command}
        if arguments:
            message["arguments"] = arguments
        self._send(message)
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if "event" in reply:
                continue
            if "error" in reply:
                raise QemuError(f"{command}: {reply['error'].get('desc', reply['error'])}")
            return reply.get("return")

    def hmp(self, command_line: str) -> str:
        """A human monitor command through QMP (e.g. 'info qtree')."""
        return str(self.execute("human-monitor-command", **{"command-line": command_line}))

    def _send(self, message: dict[str, Any]) -> None:
        if self._socket is None:
            raise QemuError("QMP is not connected")
        try:
            self._socket.sendall(json.dumps(message).encode() + b"\n")
        except OSError as exc:
            raise QemuError(f"QMP connection lost: {exc.strerror}") from None

    def _read_message(self, deadline: float) -> dict[str, Any]:
        assert self._socket is not None
        selector = selectors.DefaultSelector()
        selector.register(self._socket, selectors.EVENT_READ)
        try:
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    raise QemuError(f"QEMU did not answer within {self.timeout:.0f} s")
                try:
                    chunk = self._socket.recv(65536)
                except OSError as exc:
                    raise QemuError(f"QMP connection lost: {exc.strerror}") from None
                if not chunk:
                    raise QemuError("QEMU closed the QMP connection")
                self._buffer += chunk
        finally:
            selector.close()
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)
