"""Hostile characters in any value reach QEMU as that value and nothing more (issue 14).

For every value site (a string of the domain XML that reaches the command line), every
output format (shell, lines, json) and both option styles (4.2: key=value -device;
7.2: JSON -device), a value holding commas, '=', newlines, quotes, blanks or a whole
'-device …' is written; the output is read back (shlex, bash-style lines, JSON, then
QEMU's key=value rules with ',,' or JSON) and must give exactly the options and keys of
the same domain with a plain value, only that value changed: never an extra option,
key or line.  Where QEMU 7.2 is installed, a sample is started paused to confirm that
QEMU reads the same name and serial.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from virtxlate.api import analyze, load
from virtxlate.argv.escape import split_keyval
from virtxlate.argv.writer import format_argv, option_words
from virtxlate.native.words import split_words

RELEASES = ("4.2", "7.2")
FORMATS = ("shell", "lines", "json")
# the markers around each value: a base value is MARK + MARK_END, a hostile one has the
# hostile text between them, so that the value is found again wherever it is written
MARK, MARK_END = "Zq", "Qz"
HOSTILE = [
    ",",
    ",,",
    "=",
    ",id=x",
    "a=b,c=d",
    "\n",
    "\n-device\ne1000\n",
    "'",
    '"',
    " ",
    " -device e1000 ",
    "\\",
    "$'x'",
    '{"a":1}',
    "\t",
    ";",
    "}",
    ",driver=e1000",
    "\r",
    "\\n",
    "--",
    "-device",
    "x,,y,=z",
]


def _attr(value: str) -> str:
    return quoteattr(value).replace("\r", "&#13;")


def _text(value: str) -> str:
    return escape(value).replace("\r", "&#13;")


def _domain(sites: dict[str, str]) -> str:
    """The domain with each site's value (MARK+MARK_END where SITES does not say)."""

    def v(site: str) -> str:
        return sites.get(site, MARK + MARK_END)

    return f"""<domain type='qemu'>
  <name>{_text("n" + v("name"))}</name>
  <memory unit='MiB'>256</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>{_text("/usr/bin/" + v("emulator"))}</emulator>
    <controller type='scsi' index='0' model='virtio-scsi'/>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file={_attr("/v/" + v("file") + ".img")}/>
      <target dev='vda' bus='virtio'/>
      <serial>{_text(v("serial"))}</serial>
    </disk>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw'/>
      <source dev={_attr("/dev/" + v("dev"))}/>
      <target dev='sda' bus='scsi'/>
      <vendor>{_text(v("vendor"))}</vendor>
      <product>{_text(v("product"))}</product>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file={_attr("/iso/" + v("cdrom"))}/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw'/>
      <source protocol='nbd' name={_attr(v("export"))}>
        <host name={_attr("h" + v("host"))} port='10809'/>
      </source>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw'/>
      <source protocol='nbd'>
        <host transport='unix' socket={_attr("/run/" + v("socket"))}/>
      </source>
      <target dev='vdc' bus='virtio'/>
    </disk>
    <disk type='block' device='lun'>
      <driver name='qemu' type='raw'/>
      <source dev='/dev/sdz'>
        <reservations managed='no'>
          <source type='unix' path={_attr("/run/pr-" + v("reservations"))} mode='client'/>
        </reservations>
      </source>
      <target dev='sdb' bus='scsi'/>
    </disk>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw'/>
      <source protocol='iscsi' name={_attr("iqn.2013-07.com.example:" + v("iqn") + "/1")}>
        <host name='iscsi.example' port='3260'/>
      </source>
      <target dev='sdc' bus='scsi'/>
    </disk>
  </devices>
</domain>"""


SITES = [
    "name",
    "emulator",
    "file",
    "serial",
    "dev",
    "vendor",
    "product",
    "cdrom",
    "export",
    "host",
    "socket",
    "reservations",
    "iqn",
]


def _words(text: str, style: str) -> list[list[str]]:
    """The output read back: one list of words per option (the emulator first)."""
    if style == "json":
        return _pairs(json.loads(text))
    if style == "shell":
        return _pairs(shlex.split(text))
    return [split_words(line) for line in text.split("\n")]


def _pairs(argv: list[str]) -> list[list[str]]:
    """argv grouped as an option and its value: a value never starts with '-' in what
    virtxlate writes (checked by comparing with the lines format)."""
    grouped: list[list[str]] = [[argv[0]]]
    for word in argv[1:]:
        if word.startswith("-") and len(word) > 1:
            grouped.append([word])
        else:
            grouped[-1].append(word)
    return grouped


def _structure(option: list[str], value_of: Callable[[str], str]) -> tuple[object, ...]:
    """An option as QEMU reads it: its flag and its keys with their values (JSON, or
    key=value with ',,' for a comma); VALUE_OF maps each value string."""
    if len(option) == 1:
        return (value_of(option[0]),)
    flag, value = option
    if value.startswith("{"):
        return (flag, "json", _json_items(json.loads(value), value_of))
    parts = []
    for part in split_keyval(value):
        key, sep, item = part.partition("=")
        parts.append((key, value_of(item)) if sep else (value_of(key),))
    return (flag, "keyval", tuple(parts))


def _json_items(data: object, value_of: Callable[[str], str]) -> object:
    if isinstance(data, dict):
        return tuple((key, _json_items(item, value_of)) for key, item in data.items())
    if isinstance(data, list):
        return tuple(_json_items(item, value_of) for item in data)
    return value_of(data) if isinstance(data, str) else data


def _unvalued(text: str, value: str) -> str:
    """TEXT with VALUE, as written, back to the plain value: libvirt writes a serial's
    blanks as '\\ ' in key=value (qemuBuildDriveStr's serial escaping)."""
    plain = MARK + MARK_END
    return text.replace(value, plain).replace(value.replace(" ", "\\ "), plain)


def _output(xml: str, release: str) -> dict[str, str] | None:
    result = analyze(load(xml), release)
    if result.argv is None or result.plan is None:
        return None
    words = option_words(result.plan)
    return {style: format_argv(words, style) for style in FORMATS}  # type: ignore[arg-type]


_BASE: dict[str, dict[str, str] | None] = {}


def _base(release: str) -> dict[str, str]:
    if release not in _BASE:
        _BASE[release] = _output(_domain({}), release)
    base = _BASE[release]
    assert base is not None, f"the plain domain gives no output for {release}"
    return base


_BASE_STRUCTURE: dict[tuple[str, str], list[tuple[object, ...]]] = {}


def _base_structure(release: str, style: str) -> list[tuple[object, ...]]:
    """The plain domain's options in STYLE as QEMU reads them, read once per run (each
    site and hostile value is compared with it)."""
    if (release, style) not in _BASE_STRUCTURE:
        words = _words(_base(release)[style], style)
        _BASE_STRUCTURE[release, style] = [_structure(o, lambda s: s) for o in words]
    return _BASE_STRUCTURE[release, style]


def _check_site(site: str, hostile: str, release: str) -> bool:
    """True when the hostile domain was translated (and its output read back as the
    base's with only the value changed); False when virtxlate refuses it."""
    value = MARK + hostile + MARK_END
    output = _output(_domain({site: value}), release)
    if output is None:
        return False
    base = _base(release)
    read: dict[str, list[list[str]]] = {}
    for style in FORMATS:
        expected = _base_structure(release, style)
        words = _words(output[style], style)  # (read once: _words and _structure are pure)
        got = [_structure(o, lambda s: _unvalued(s, value)) for o in words]
        assert got == expected, (site, repr(hostile), release, style)
        # and the value is there, read back whole
        raw = [_structure(o, lambda s: s) for o in words]
        assert raw != expected, (site, repr(hostile), release, style)
        read[style] = words
    assert read["shell"] == read["json"] == read["lines"], (site, repr(hostile), release)
    assert output["lines"].count("\n") == base["lines"].count("\n")
    return True


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("site", SITES)
def test_a_hostile_value_is_that_value_and_nothing_more(site, release):
    translated = [hostile for hostile in HOSTILE if _check_site(site, hostile, release)]
    # most hostile values are valid XML values libvirt takes: the property is exercised
    assert len(translated) >= 3, (site, release, translated)


@pytest.mark.parametrize("release", RELEASES)
def test_every_site_reaches_the_command_line(release):
    """Each site's value is in the output: the sites are real value sites."""
    for site in SITES:
        output = _output(_domain({site: MARK + "Site" + MARK_END}), release)
        assert output is not None, site
        assert MARK + "Site" + MARK_END in output["json"], (site, release)


@settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    site=st.sampled_from(SITES),
    release=st.sampled_from(RELEASES),
    hostile=st.text(
        alphabet=st.sampled_from(list(",=\n\t '\"\\${}[]-;:xd")), min_size=1, max_size=12
    ),
)
def test_random_hostile_values(site, release, hostile):
    _check_site(site, hostile, release)


# --- what QEMU 7.2 reads ----------------------------------------------------------------

_QEMU_SAMPLE = [",id=x", "\n-device\ne1000\n", "a=b,c=d", "'\" $'x'", ",driver=e1000"]


# a domain as virsh dumpxml gives it has its <uuid> (else -uuid is a placeholder)
_UUID = "<uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>"


def _qemu_domain(name: str, serial: str) -> str:
    """One virtio disk: the name and serial QEMU is asked about."""
    return (
        f"<domain type='qemu'><name>{_text(name)}</name>{_UUID}<memory unit='MiB'>64</memory>"
        "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
        "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
        "<source file='/nonexistent/a.img'/><target dev='vda' bus='virtio'/>"
        f"<serial>{_text(serial)}</serial></disk>"
        "<controller type='usb' model='none'/><memballoon model='none'/>"
        "</devices></domain>"
    )


def _null_storage(argv: list[str]) -> list[str]:
    """argv with each storage node (a -blockdev without a 'file' child) as null-co."""
    out = []
    for word in argv:
        if word.startswith("{") and '"node-name"' in word:
            node = json.loads(word)
            if "file" not in node:
                word = json.dumps(
                    {
                        "driver": "null-co",
                        "node-name": node["node-name"],
                        "read-only": node.get("read-only", False),
                    }
                )
        out.append(word)
    return out


@pytest.mark.integration
@pytest.mark.parametrize("hostile", _QEMU_SAMPLE)
def test_qemu_reads_the_same_name_and_serial(qemu_binary, hostile):
    from virtxlate.qemu.process import QemuProcess

    # the serial takes libvirt's characters only: a blank and a '-device' in it
    name, serial = "n" + hostile, "s -device e1000 -x"
    for release in RELEASES:
        result = analyze(load(_qemu_domain(name, serial)), release)
        assert result.argv is not None, result.findings
        args = [
            word
            for word in _null_storage(result.argv[1:])
            if word not in ("-S", "-nodefaults", "-no-user-config")
        ]
        # what the property test reads back from the -device option is what QEMU holds
        device_word = next(w for w in args if "virtio-blk-pci" in w)
        written = dict(
            item for item in _structure(["-device", device_word], str)[2] if len(item) == 2
        )
        with QemuProcess(qemu_binary, args) as qemu:
            assert qemu.execute("query-name") == {"name": name}
            device = "/machine/peripheral/virtio-disk0"
            assert qemu.execute("qom-get", path=device, property="serial") == written["serial"]
            # exactly the one disk: no smuggled -device
            peripherals = qemu.execute("qom-list", path="/machine/peripheral")
            assert sorted(p["name"] for p in peripherals if p["type"].startswith("child<")) == [
                "virtio-disk0"
            ]
