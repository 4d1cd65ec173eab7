"""Finding, Analysis, CapsTable and the errors are Records, not dataclasses (issue 18: a
dataclass costs half a millisecond to define at each start); what callers did with them
as dataclasses still works: equality, hash, repr, immutability, pickling and the
dataclasses functions."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from virtxlate import caps
from virtxlate.api import Analysis
from virtxlate.errors import ArgumentTypeError, InputError, InvalidValue, UsageError
from virtxlate.findings import Finding


def _finding(**changes: object) -> Finding:
    values: dict[str, object] = {
        "code": "VX0201",
        "severity": "error",
        "message": "m",
        "source": "a.xml",
        "line": 3,
        "xpath": "/domain/devices/disk[1]",
        "hint": None,
        "since": "2.12",
    }
    values.update(changes)
    return Finding(**values)  # type: ignore[arg-type]


def test_a_finding_is_a_value():
    finding = _finding()
    assert finding == _finding() and hash(finding) == hash(_finding())
    assert finding != _finding(line=4) and len({finding, _finding(), _finding(line=4)}) == 2
    assert Finding("VX0201", "error", "m", "a.xml", 3, "/domain/devices/disk[1]", None, "2.12") == (
        finding
    )
    assert repr(finding) == (
        "Finding(code='VX0201', severity='error', message='m', source='a.xml', line=3, "
        "xpath='/domain/devices/disk[1]', hint=None, since='2.12')"
    )
    with pytest.raises(AttributeError):
        finding.line = 4  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(finding)) == finding and copy.deepcopy(finding) == finding


def test_the_dataclasses_functions_take_a_finding():
    finding = _finding()
    assert dataclasses.is_dataclass(finding)
    assert [f.name for f in dataclasses.fields(Finding)] == list(finding.to_json())
    assert dataclasses.asdict(finding) == finding.to_json()
    moved = dataclasses.replace(finding, xpath="/domain")
    assert moved == finding.at("/domain") and moved.xpath == "/domain" and moved.line == 3


def test_a_table_is_replaced_as_a_dataclass_was():
    table = caps.load("7.2")
    fewer = dataclasses.replace(table, flags=table.flags - {"debug-threads"})
    assert "debug-threads" in table.flags and "debug-threads" not in fewer.flags
    assert fewer.devices is table.devices and fewer.machine("pc") == table.machine("pc")
    assert fewer == table.replace(flags=fewer.flags) and fewer != table


def test_an_analysis_keeps_its_fields_and_defaults():
    analysis = Analysis("7.2")
    assert (analysis.findings, analysis.plan, analysis.argv, analysis.words) == (
        [],
        None,
        None,
        None,
    )
    assert analysis.graph is None and analysis.ok and analysis == Analysis(qemu="7.2")
    assert Analysis("7.2").findings is not Analysis("7.2").findings
    assert repr(analysis).startswith("Analysis(qemu='7.2', findings=[], plan=None")


def test_the_errors_keep_their_fields_codes_and_text():
    assert (InputError("bad", source="a.xml", line=2).exit_code, UsageError("u").exit_code) == (
        3,
        2,
    )
    assert str(InputError("bad\n  text", "a.xml", 2)) == "a.xml:2: error: bad text"
    assert str(UsageError("no such release")) == "virtxlate: error: no such release"
    assert isinstance(ArgumentTypeError("t"), TypeError)
    invalid = InvalidValue("v", line=5, xpath="/domain/@type")
    assert (invalid.exit_code, invalid.xpath, invalid.source) == (1, "/domain/@type", "<input>")
    assert repr(invalid) == (
        "InvalidValue(message='v', source='<input>', line=5, exit_code=1, xpath='/domain/@type')"
    )
    assert InputError("x").at_source("b.xml") == InputError("x", "b.xml")
    assert dataclasses.replace(invalid, line=6).line == 6
