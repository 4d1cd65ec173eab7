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


# What the CLI used to decide itself (issue 16, item 4): the API decides, the CLI prints.
def test_graph_of_argv_leaves_out_what_no_table_models(tmp_path):
    from virtxlate import api

    path = tmp_path / "q35.args"
    path.write_text(
        "qemu-system-x86_64 -machine pc-q35-7.2 -global isa-debugcon.iobase=0x402 "
        "-device virtio-scsi-pci,id=scsi0,bus=pcie.0,addr=0x5\n"
    )
    result = api.graph_of_argv(api.load_command_line(str(path)), "7.2")
    assert result.graph is not None
    assert [(f.code, f.severity, f.source) for f in result.findings] == [
        ("VX0602", "warning", str(path))
    ]
    assert result.findings[0].message.startswith("-global isa-debugcon.iobase=0x402 is not")


def test_graph_of_argv_says_why_qemu_refuses_the_line():
    from virtxlate import api
    from virtxlate.native.words import read_command_line

    command = read_command_line("qemu-system-x86_64 -device scsi-hd,bus=nowhere.0", "x.args")
    result = api.graph_of_argv(command, "1.2")
    assert result.graph is None
    assert [(f.code, f.severity, f.source) for f in result.findings] == [
        ("VX0302", "error", "x.args")
    ]
    assert "nowhere.0" in result.findings[0].message


def test_load_command_line_refuses_what_is_not_utf8(tmp_path):
    from virtxlate import api

    path = tmp_path / "bad.args"
    path.write_bytes(b"qemu-system-x86_64 -name \xff\xfe\n")
    with pytest.raises(InputError, match="not UTF-8 text"):
        api.load_command_line(str(path))


def test_domain_of_argv_names_the_releases_default_machine():
    from virtxlate import api
    from virtxlate.native.words import read_command_line

    command = read_command_line("qemu-system-x86_64 -device virtio-scsi-pci,id=scsi0")
    assert 'machine="pc-i440fx-7.2"' in api.domain_of_argv(command, "7.2").xml
    assert "pc-i440fx" not in api.domain_of_argv(command).xml


@pytest.mark.parametrize(
    "host, connect, expected",
    [
        (None, None, "none"),
        ("none", "qemu:///system", "none"),
        (None, "qemu:///system", "local"),
        (None, "qemu+ssh://far/system", "none"),
        ("local", None, "local"),
    ],
)
def test_host_name_of_the_options(host, connect, expected):
    from virtxlate.api import host_name

    assert host_name(host, connect) == expected


def _libvirt_says(monkeypatch, argv=None, refusal=None):
    from virtxlate import live

    def native_argv(uri: str, xml: str) -> list[str]:
        if refusal is not None:
            raise InputError(refusal, source=uri)
        return list(argv or [])

    monkeypatch.setattr(live, "native_argv", native_argv)


def test_compare_agrees_when_libvirt_writes_the_same_storage(monkeypatch):
    from virtxlate import api

    ours = virtxlate.analyze(SEED, "7.2").argv
    _libvirt_says(monkeypatch, argv=ours)
    result = api.compare_with_libvirt(SEED, "qemu:///system", "7.2")
    assert result.agree and result.diff == [] and result.refusal is None


def test_compare_shows_the_difference(monkeypatch):
    from virtxlate import api

    ours = virtxlate.analyze(SEED, "7.2").argv
    assert ours is not None
    theirs = [w.replace("virtio-scsi-pci", "lsi") for w in ours]
    _libvirt_says(monkeypatch, argv=theirs)
    result = api.compare_with_libvirt(SEED, "qemu:///system", "7.2")
    assert not result.agree
    assert result.diff[:2] == ["--- libvirt (qemu:///system)", "+++ virtxlate --qemu 7.2"]
    assert any(line.startswith("+-device") and "virtio-scsi-pci" in line for line in result.diff)


def test_compare_when_only_libvirt_refuses(monkeypatch):
    from virtxlate import api

    _libvirt_says(monkeypatch, refusal="libvirt refuses the domain: unsupported")
    result = api.compare_with_libvirt(SEED, "qemu:///system", "7.2")
    assert not result.agree and result.refusal == "libvirt refuses the domain: unsupported"


def test_compare_agrees_when_both_refuse(monkeypatch):
    from virtxlate import api

    needs_newer = SAMPLES / "needs-newer-qemu.xml"
    assert virtxlate.analyze(needs_newer, "1.2").argv is None
    _libvirt_says(monkeypatch, refusal="libvirt refuses the domain: unsupported")
    assert api.compare_with_libvirt(needs_newer, "qemu:///system", "1.2").agree


def test_compare_stops_when_libvirt_has_no_such_emulator(monkeypatch):
    from virtxlate import api

    _libvirt_says(
        monkeypatch, refusal="libvirt refuses the domain: Cannot check QEMU binary /usr/bin/x: no"
    )
    with pytest.raises(UsageError, match="emulator is missing where libvirt"):
        api.compare_with_libvirt(SEED, "qemu:///system", "7.2")


def test_each_call_plans_a_domain_once_per_release(monkeypatch):
    from virtxlate import api

    planned = []
    plan_storage = api.plan_storage

    def counted(domain, table, host):  # type: ignore[no-untyped-def]
        planned.append(table.version)
        return plan_storage(domain, table, host)

    monkeypatch.setattr(api, "plan_storage", counted)
    common, per_release = api.check(SEED, ["1.5", "7.2"])
    assert per_release and not any(f.is_error for f in common)
    assert sorted(planned) == sorted(table.version for table, _ in per_release)
    planned.clear()
    assert api.analyze(SEED, "7.2").argv is not None
    assert len(planned) == 1


ISCSI_LUN_NO_NUMBER = """<disk type='network' device='disk'>
  <driver name='qemu' type='raw'/>
  <source protocol='iscsi' name='iqn.2013-07.com.example:t/abc'>
    <host name='example.org' port='3260'/>
  </source>
  <target dev='vda' bus='virtio'/>
</disk>"""


def test_a_value_libvirt_refuses_is_at_the_fragments_own_xpath():
    # analyze gave /domain/devices/disk/source/@name, a path the user's fragment lacks
    analysis = virtxlate.analyze(ISCSI_LUN_NO_NUMBER, "7.2")
    common, per_release = virtxlate.check(ISCSI_LUN_NO_NUMBER, ["7.2"])
    checked = [f for f in common + per_release[0][1] if f.code == "VX0100"]
    analyzed = [f for f in analysis.findings if f.code == "VX0100"]
    assert [f.xpath for f in analyzed] == [f.xpath for f in checked] == ["/disk/source/@name"]
