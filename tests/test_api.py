"""The Python API (issue 14, item 19): load() and analyze() take str, bytes, path-likes
and file objects; every other value raises a documented error class with a sentence,
never an AttributeError or TypeError from deep inside; the public names are listed."""

from __future__ import annotations

import io
import itertools
import pathlib
import subprocess
import sys

import pytest
from conftest import REPO, SAMPLES

import virtxlate
from virtxlate import errors
from virtxlate.errors import InputError, UsageError, VirtxlateError

SEED = SAMPLES / "seed-virtio-scsi.xml"
XML = SEED.read_text()


@pytest.mark.parametrize(
    "given",
    [
        pytest.param(XML, id="xml-text"),
        pytest.param("  \n" + XML, id="xml-text-after-white-space"),
        pytest.param(str(SEED), id="path-str"),
        pytest.param(SEED, id="pathlib"),
        pytest.param(XML.encode(), id="bytes"),
        pytest.param(bytearray(XML.encode()), id="bytearray"),
        pytest.param(io.BytesIO(XML.encode()), id="BytesIO"),
        pytest.param(io.StringIO(XML), id="StringIO"),
    ],
)
def test_load_takes_what_a_caller_has_at_hand(given):
    domain = virtxlate.load(given)
    result = virtxlate.analyze(domain, "1.5")
    assert result.ok and result.argv is not None and "virtio-scsi-pci" in " ".join(result.argv)


def test_an_open_file_is_read_and_named_in_messages(tmp_path):
    with open(SEED, "rb") as handle:
        assert virtxlate.load(handle).name == "seed"
    broken = tmp_path / "broken.xml"
    broken.write_text("<domain>\n<devices>\n</domain>\n")
    with open(broken) as handle, pytest.raises(InputError) as caught:
        virtxlate.load(handle)
    assert str(caught.value).startswith(f"{broken}:3: error: malformed XML")


def test_analyze_and_check_take_what_load_takes():
    assert virtxlate.analyze(XML, "1.5").ok
    assert virtxlate.analyze(XML.encode(), "7.2").ok
    common, per_release = virtxlate.check(SEED, ["1.2", "7.2"])
    assert common == [] and [table.version for table, _ in per_release] == ["1.2", "7.2"]
    assert virtxlate.check(XML, "7.2")[1][0][0].version == "7.2"  # one release as a str


def test_a_release_as_libvirts_integer_is_taken():
    assert virtxlate.analyze(SEED, 1005003).qemu == "1.5"


def test_a_release_as_a_float_is_refused_with_the_reason():
    with pytest.raises(errors.ArgumentTypeError) as caught:
        virtxlate.analyze(SEED, 1.5)
    assert str(caught.value) == (
        "virtxlate: error: give the QEMU release as a string, e.g. "
        "'1.5': as a float 1.10 and 1.1 are the same number"
    )
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, UsageError)


# Every public function with every kind of wrong value, in every position: the error is
# one of the documented classes, with a sentence.
WRONG = [
    None,
    1.5,
    True,
    42,
    object(),
    [],
    {},
    ("7.2",),
    b"\xff\xfe",
    "",
    "-x-",
    lambda: None,
    io.BytesIO(b""),
    io.StringIO("not xml"),
]
CALLS = {
    "load": lambda v: virtxlate.load(v),
    "analyze-domain": lambda v: virtxlate.analyze(v, "7.2"),
    "analyze-qemu": lambda v: virtxlate.analyze(SEED, v),
    "analyze-arch": lambda v: virtxlate.analyze(SEED, "7.2", arch=v),
    "analyze-host": lambda v: virtxlate.analyze(SEED, "7.2", host=v),
    "check-domain": lambda v: virtxlate.check(v, ["7.2"]),
    "check-releases": lambda v: virtxlate.check(SEED, [v]),
    "check-release-list": lambda v: virtxlate.check(SEED, v),
}
# values a position takes: not wrong there
ACCEPTED = {
    ("analyze-qemu", "42"),
    ("analyze-arch", "None"),
    ("analyze-host", "None"),
    ("check-domain", "('7.2',)"),
    ("check-release-list", "('7.2',)"),
    ("check-release-list", "[]"),
}


@pytest.mark.parametrize(
    "call,value",
    list(itertools.product(CALLS, WRONG)),
    ids=[f"{c}-{i}" for c, i in itertools.product(CALLS, range(len(WRONG)))],
)
def test_wrong_values_raise_documented_errors_with_a_sentence(call, value):
    if (call, repr(value)) in ACCEPTED or (call, str(value)) in ACCEPTED:
        pytest.skip("a value this position takes")
    try:
        CALLS[call](value)
    except VirtxlateError as exc:
        message = str(exc)
        assert "\n" not in message and len(message.split(": error: ", 1)[1]) > 10, message
        return
    except (TypeError, AttributeError, ValueError) as exc:  # pragma: no cover
        pytest.fail(f"{call}({value!r}) raised {type(exc).__name__}: {exc}")
    if call == "analyze-arch" and value in ("", "-x-"):
        return  # an arch string with no tables: the VX0305 finding, not an exception
    pytest.fail(f"{call}({value!r}) was accepted")


def test_dir_and_help_list_the_public_functions():
    names = dir(virtxlate)
    assert {
        "load",
        "analyze",
        "check",
        "Analysis",
        "Finding",
        "InputError",
        "UsageError",
        "ArgumentTypeError",
        "VirtxlateError",
    } <= set(names)
    import pydoc

    text = pydoc.render_doc(virtxlate, renderer=pydoc.plaintext)
    functions = text.split("FUNCTIONS", 1)[1]
    assert all(f"\n    {name}(" in functions for name in ("analyze", "check", "load"))


def test_importing_virtxlate_loads_no_heavy_module():
    code = (
        "import sys, virtxlate; print(sorted(m for m in ('lxml', 'virtxlate.api', "
        "'virtxlate.caps') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.stdout.strip() == "[]", result.stderr
    # nor does the command line before it has a command to run (`virtxlate --version`)
    code = "import sys, virtxlate.cli; print('virtxlate.api' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.stdout.strip() == "False", result.stderr


def test_a_path_like_that_does_not_exist_is_an_input_error(tmp_path):
    with pytest.raises(InputError) as caught:
        virtxlate.load(pathlib.Path(tmp_path / "nope.xml"))
    assert str(caught.value).endswith("cannot read: No such file or directory")
