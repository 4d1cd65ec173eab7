"""<vsock>'s -device equals libvirt 9.0's (`domxml-to-native`) on pc and q35, with a
fixed CID and an automatic one (tests/runtime_only.py: the CID libvirt takes from the
host at start).  No sample or generated guest holds a <vsock> (whole_guests.py: the
host lacks /dev/vhost-vsock), so this is where the kind is compared."""

from __future__ import annotations

import pytest
from runtime_only import normalise
from test_whole_domain import libvirt_line, options

from virtxlate.api import analyze, load

pytestmark = pytest.mark.integration

_DOMAIN = (
    "<domain type='kvm'><name>g</name><memory>262144</memory>"
    "<os><type arch='x86_64' machine='{machine}'>hvm</type></os>"
    "<devices>{vsock}</devices></domain>"
)
_VSOCKS = [
    "<vsock model='virtio'><cid auto='no' address='3'/></vsock>",
    "<vsock model='virtio'><cid auto='yes'/></vsock>",
    "<vsock model='virtio'><cid auto='yes' address='5'/></vsock>",
    "<vsock><cid address='4'/><driver iommu='on'/></vsock>",
    "<vsock model='virtio'><cid address='6'/>"
    "<address type='pci' domain='0' bus='0' slot='7' function='0'/></vsock>",
]


@pytest.mark.parametrize("machine", ["pc", "q35"])
@pytest.mark.parametrize("vsock", _VSOCKS)
def test_vsock_device_is_libvirts(virsh, machine, vsock):
    xml = _DOMAIN.format(machine=machine, vsock=vsock)
    domain = load(xml)
    result = analyze(domain, "7.2")
    theirs, refusal = libvirt_line(xml)
    if theirs is None:
        assert not result.ok, f"libvirt refuses it ({refusal}); virtxlate accepts it"
        return
    assert result.argv, [f.message for f in result.findings]
    ours = [o for o in options(normalise(list(result.argv), domain)) if o[0] == "vsock"]
    libvirts = [o for o in options(normalise(list(theirs), domain)) if o[0] == "vsock"]
    assert ours and ours == libvirts
