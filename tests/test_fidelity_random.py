"""Generated domains with the devices libvirt places before or beside storage (virtio
channels and consoles, ich9 USB sets, network cards, sound, video, RNG, watchdogs,
filesystems, root ports without index, pci-bridges) and UEFI firmware named by its files
(a pflash <loader>, with or without <nvram> as text, file or block source, read-only or
not, with or without ACPI) against the running libvirt 9.0: both accept or both refuse,
and the storage options (the pflash nodes among them), -machine's pflashN= and PCI
controllers are libvirt's.
Left out: <os firmware='efi'> (libvirt picks the files from the VM host's firmware
descriptors, a host fact virtxlate reads only when asked) and secure boot.
.ci/run starts libvirtd (.ci/start-libvirtd)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fidelity import _compared
from test_libvirt import _libvirt_argv

from virtxlate.api import analyze, load
from virtxlate.host import FixedHost

pytestmark = pytest.mark.integration

_NICS = ("virtio", "e1000", "e1000e", "rtl8139", "virtio-transitional")
_SCSI = ("virtio-scsi", "lsilogic", "virtio-transitional", "lsisas1078")
_CHANNEL = "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
_CONSOLE = "<console type='pty'><target type='virtio'/></console>"
_ICH9 = "<controller type='usb' index='0' model='ich9-ehci1'/>" + "".join(
    f"<controller type='usb' index='0' model='ich9-uhci{n}'><master startport='{2 * n - 2}'/>"
    "</controller>"
    for n in (1, 2, 3)
)


@st.composite
def domains(draw) -> str:
    machine = draw(st.sampled_from(("pc", "q35")))
    parts: list[str] = []
    ports = draw(st.integers(0, 8)) if machine == "q35" else 0
    bridges = draw(st.integers(0, 2)) if machine == "pc" else 0
    parts += ["<controller type='pci' model='pcie-root-port'/>"] * ports
    parts += ["<controller type='pci' model='pci-bridge'/>"] * bridges
    ich9 = draw(st.booleans())
    for present, text in (
        (draw(st.booleans()), _CHANNEL),
        (draw(st.booleans()), _CONSOLE),
        (ich9, _ICH9),
    ):
        if present:
            parts.append(text)
    parts += [
        f"<interface type='user'><model type='{model}'/></interface>"
        for model in draw(st.lists(st.sampled_from(_NICS), max_size=3))
    ]
    for text in (
        "<sound model='ich9'/>",
        "<sound model='ac97'/>",
        "<video><model type='qxl'/></video>",
        "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>",
        "<watchdog model='i6300esb'/>",
        "<input type='keyboard' bus='virtio'/>",
        "<memballoon model='virtio-transitional'/>",
        "<filesystem type='mount'><source dir='/tmp'/><target dir='t'/></filesystem>",
        "<serial type='pty'><target type='pci-serial'/></serial>",
    ):
        if draw(st.integers(0, 4)) == 0:
            parts.append(text)
    for index, model in enumerate(draw(st.lists(st.sampled_from(_SCSI), max_size=2))):
        parts.append(f"<controller type='scsi' index='{index}' model='{model}'/>")
    # (USB disks on an ich9 set: the set's -device options are not written yet)
    buses = (
        ["virtio", "scsi", "sata"]
        + ([] if ich9 else ["usb"])
        + (["ide"] if machine == "pc" else [])
    )
    names: dict[str, int] = {}
    for bus in draw(st.lists(st.sampled_from(buses), min_size=1, max_size=6)):
        prefix = {"virtio": "vd", "ide": "hd"}.get(bus, "sd")
        names[prefix] = names.get(prefix, -1) + 1
        dev = prefix + "abcdefgh"[names[prefix]]
        model = (
            " model='virtio-transitional'"
            if bus == "virtio" and draw(st.integers(0, 5)) == 0
            else ""
        )
        parts.append(
            f"<disk type='file' device='disk'{model}><driver name='qemu' type='raw'/>"
            f"<source file='/v/{dev}.img'/><target dev='{dev}' bus='{bus}'/></disk>"
        )
    parts = draw(st.permutations(parts))
    os_extra, features = _firmware(draw), ""
    if os_extra and draw(st.integers(0, 4)) > 0:
        features = "<features><acpi/></features>"  # UEFI needs ACPI (libvirt refuses)
    root = {"q35": "pcie-root", "pc": "pci-root"}[machine] if ports or bridges else None
    head = f"<controller type='pci' index='0' model='{root}'/>" if root else ""
    return (
        "<domain type='kvm'><name>g</name><memory unit='MiB'>256</memory>"
        f"<os><type arch='x86_64' machine='{machine}'>hvm</type>{os_extra}</os>{features}"
        "<devices>"
        "<emulator>/usr/bin/qemu-system-x86_64</emulator>"
        + head
        + "".join(parts)
        + "</devices></domain>"
    )


def _firmware(draw) -> str:
    """A UEFI loader named by its files, as virt-install and Nova write it, or none."""
    kinds = ("none", "none", "code+vars", "code", "writable", "template", "source", "block")
    kind = draw(st.sampled_from(kinds))
    code = "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>"
    return {
        "none": "",
        "code+vars": code + "<nvram>/var/lib/libvirt/qemu/nvram/g_VARS.fd</nvram>",
        "code": code,
        "writable": "<loader readonly='no' type='pflash'>/v/OVMF.fd</loader>",
        "template": code + "<nvram template='/usr/share/OVMF/OVMF_VARS.fd'>/v/g_VARS.fd</nvram>",
        "source": code + "<nvram type='file'><source file='/v/g_VARS.fd'/></nvram>",
        "block": code + "<nvram type='block'><source dev='/dev/vg/vars'/></nvram>",
    }[kind]


def _pflash(words: list[str]) -> list[str]:
    """-machine's pflashN=NODE properties."""
    machine = words[words.index("-machine") + 1]
    return [prop for prop in machine.split(",") if prop.startswith("pflash")]


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(xml=domains())
def test_placement_beside_other_devices_is_libvirts(virsh, tmp_path, xml):  # noqa: F811
    path = tmp_path / "g.xml"
    path.write_text(xml)
    theirs, refusal = _libvirt_argv(virsh, path)
    ours = analyze(load(xml), "7.2", host=FixedHost())
    if theirs is None:
        assert not ours.ok, refusal
        return
    assert ours.ok, [f for f in ours.findings if f.is_error]
    assert _compared(ours.argv or []) == _compared(theirs)
    assert _pflash(ours.argv or []) == _pflash(theirs)
