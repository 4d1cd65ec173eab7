"""Reading a regular file by its size (xmlinput.read_bytes, issue 18's batch): the same
bytes and the same refusals as reading it through a buffered reader up to the limit."""

from __future__ import annotations

import os

import pytest

from virtxlate import xmlinput
from virtxlate.errors import InputError
from virtxlate.xmlinput import read_bytes, set_input_limit


@pytest.fixture
def limit_of_100():
    set_input_limit(100)
    yield
    set_input_limit(None)


@pytest.mark.parametrize("size", [0, 1, 99, 100])
def test_a_file_up_to_the_limit_is_read_whole(tmp_path, limit_of_100, size):
    path = tmp_path / "d.xml"
    data = bytes(range(size))
    path.write_bytes(data)
    assert read_bytes(str(path)) == (data, str(path))
    assert read_bytes(str(path), regular_only=True) == (data, str(path))


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path, limit_of_100, monkeypatch):
    path = tmp_path / "d.xml"
    path.write_bytes(b"x" * 101)
    monkeypatch.setattr(xmlinput.os, "read", None)  # (never called)
    with pytest.raises(InputError, match="input larger than 100 bytes, not read"):
        read_bytes(str(path))


def _shrunk_fstat(monkeypatch):
    """os.fstat saying a file is 3 bytes long: as if it had grown since."""
    real = os.fstat

    def fstat(fd):
        status = real(fd)
        return os.stat_result((*status[:6], 3, *status[7:]))

    monkeypatch.setattr(xmlinput.os, "fstat", fstat)


def test_a_file_that_grew_since_its_fstat_is_read_to_its_end(tmp_path, monkeypatch):
    path = tmp_path / "d.xml"
    data = b"<domain/>" * 20_000  # more than one 64 KiB read after the first
    path.write_bytes(data)
    _shrunk_fstat(monkeypatch)
    assert read_bytes(str(path)) == (data, str(path))


def test_a_file_that_grew_past_the_limit_is_refused(tmp_path, limit_of_100, monkeypatch):
    path = tmp_path / "d.xml"
    path.write_bytes(b"x" * 150)
    _shrunk_fstat(monkeypatch)
    with pytest.raises(InputError, match="input larger than 100 bytes, not read"):
        read_bytes(str(path))


def test_a_fifo_named_on_the_command_line_is_still_read(tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    pid = os.fork()
    if pid == 0:  # the writer
        with open(path, "wb") as handle:
            handle.write(b"<domain/>")
        os._exit(0)
    try:
        assert read_bytes(str(path)) == (b"<domain/>", str(path))
    finally:
        os.waitpid(pid, 0)
