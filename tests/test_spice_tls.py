"""SPICE's ports and channels as libvirt 9.0 writes them (qemuProcessSPICEAllocatePorts,
qemuBuildGraphicsSPICECommandLine): a TLS port only where a channel or the default mode
is secure, a plain port only where one is plaintext, x509-dir with every TLS port, the
default mode first and the channels in libvirt's order whatever the XML's, -k for the
keymap.  oVirt writes every channel secure; each variant is compared with this machine's
libvirt, less the ports it picks (argv/runtime.py)."""

from __future__ import annotations

import pytest

from virtxlate.api import analyze, compare_with_libvirt, load

GUEST = """<domain type='qemu'><name>sp</name>
<uuid>0b0c6c2a-6c3e-4b6a-9d7b-6f0f6b3f1a18</uuid><memory>262144</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices>{graphics}<audio id='1' type='spice'/></devices></domain>"""
VARIANTS = {
    "secure-and-plain": "<graphics type='spice' autoport='yes'><channel name='inputs' "
    "mode='secure'/><channel name='main' mode='insecure'/></graphics>",
    "default-secure": "<graphics type='spice' autoport='yes' defaultMode='secure'/>",
    "default-insecure": "<graphics type='spice' autoport='yes' defaultMode='insecure'>"
    "<channel name='display' mode='insecure'/></graphics>",
    "tls-port-picked": "<graphics type='spice' port='5901' tlsPort='-1' autoport='no' "
    "defaultMode='secure'/>",
    "ovirt-all-secure": "<graphics type='spice' autoport='yes' keymap='en-us'>"
    + "".join(
        f"<channel name='{name}' mode='secure'/>"
        for name in ("main", "inputs", "cursor", "playback", "record", "display", "smartcard")
    )
    + "</graphics>",
}


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_spice_is_libvirts(virsh, name):  # noqa: F811
    comparison = compare_with_libvirt(
        load(GUEST.format(graphics=VARIANTS[name])), "qemu:///system", qemu="7.2"
    )
    assert comparison.refusal is None
    assert comparison.agree, "\n".join(comparison.diff)


def test_channels_in_libvirts_order_with_the_certificates():
    argv = analyze(load(GUEST.format(graphics=VARIANTS["ovirt-all-secure"])), "7.2").argv
    assert argv is not None
    spice = argv[argv.index("-spice") + 1]
    assert spice == (
        "port=AUTOPORT,tls-port=AUTOPORT,addr=127.0.0.1,disable-ticketing=on,"
        "x509-dir=/etc/pki/qemu,tls-channel=main,tls-channel=display,tls-channel=inputs,"
        "tls-channel=cursor,tls-channel=playback,tls-channel=record,tls-channel=smartcard,"
        "seamless-migration=on"
    )
    assert argv[argv.index("-k") + 1] == "en-us"
