"""Firmware rules libvirt 9.0 applies before it writes a line (checked with its
domxml-to-native): firmware autoselection takes no loader attributes (VX0225), a
secure-boot loader needs SMM (VX0226); the accepted variants give no finding."""

from __future__ import annotations

import pytest
from test_libvirt import _libvirt_argv

import virtxlate

_DOMAIN = """<domain type='qemu'><name>fw</name><memory unit='MiB'>256</memory>
<os{firmware}><type arch='x86_64' machine='q35'>hvm</type>{loader}</os>
<features><acpi/>{smm}</features>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>"""
_CODE = "/usr/share/OVMF/OVMF_CODE.fd"

# (firmware attribute, <os> children, <smm>, the code virtxlate gives, or None)
CASES = {
    "autoselect-readonly": (
        " firmware='efi'",
        f"<loader readonly='yes' type='pflash'>{_CODE}</loader>",
        "",
        "VX0225",
    ),
    "autoselect-type": (" firmware='efi'", "<loader type='pflash'/>", "", "VX0225"),
    "autoselect-path": (" firmware='efi'", f"<loader>{_CODE}</loader>", "", "VX0225"),
    "autoselect-readonly-no": (" firmware='efi'", "<loader readonly='no'/>", "", "VX0225"),
    "autoselect-template": (" firmware='efi'", "<nvram template='/t.fd'/>", "", "VX0225"),
    "secure-without-smm": (
        "",
        f"<loader readonly='yes' secure='yes' type='pflash'>{_CODE}</loader>",
        "",
        "VX0226",
    ),
    "secure-smm-off": (
        "",
        f"<loader readonly='yes' secure='yes' type='pflash'>{_CODE}</loader>",
        "<smm state='off'/>",
        "VX0226",
    ),
    "secure-with-smm": (
        "",
        f"<loader readonly='yes' secure='yes' type='pflash'>{_CODE}</loader>",
        "<smm state='on'/>",
        None,
    ),
    "pflash-not-secure": ("", f"<loader readonly='yes' type='pflash'>{_CODE}</loader>", "", None),
}


def _xml(name: str) -> str:
    firmware, loader, smm, _ = CASES[name]
    return _DOMAIN.format(firmware=firmware, loader=loader, smm=smm)


@pytest.mark.parametrize("name", sorted(CASES))
def test_firmware_rule_codes(name):
    common, per_release = virtxlate.check(virtxlate.load(_xml(name)), ["7.2"])
    found = common + [finding for _, findings in per_release for finding in findings]
    codes = {finding.code for finding in found if finding.is_error}
    expected = CASES[name][3]
    assert codes == ({expected} if expected else set())


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(CASES))
def test_libvirt_refuses_what_virtxlate_refuses(virsh, tmp_path, name):  # noqa: F811
    path = tmp_path / f"{name}.xml"
    path.write_text(_xml(name))
    argv, reason = _libvirt_argv(virsh, path)
    assert (argv is None) == (CASES[name][3] is not None), reason


@pytest.mark.parametrize(
    ("devices", "refused"),
    [
        ("", True),
        # libvirt 9.0 makes a serial port of a console without a target type
        ("<console type='pty'/>", False),
        ("<serial type='pty'/>", False),
        ("<console type='pty'><target type='virtio'/></console>", True),
    ],
)
def test_bios_serial_output_needs_a_serial_port(devices, refused):
    # virDomainDefOSValidate, checked with libvirt 9.0's domxml-to-native (the refused
    # ones are tests/cases/bios-serial-*.qemu-7.2.err)
    xml = (
        "<domain type='qemu'><name>sga</name><memory>262144</memory><os><type "
        "arch='x86_64' machine='pc'>hvm</type><bios useserial='yes'/></os>"
        f"<devices>{devices}</devices></domain>"
    )
    common, per_release = virtxlate.check(virtxlate.load(xml), ["7.2"])
    found = common + [finding for _, findings in per_release for finding in findings]
    codes = [f.code for f in found if f.is_error]
    assert codes == (["VX0229"] if refused else [])
