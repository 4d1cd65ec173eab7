"""Generated guests for the whole-domain tests: every device kind of issue 17 that a guest
can hold without a host device of its own, in combinations libvirt 9.0 accepts and QEMU
7.2 starts on (paused, storage on null-co: tests/qemu_start.py).

Left out, with the reason: PCI/USB <hostdev> (the host's device and its IOMMU group),
<vsock> (/dev/vhost-vsock, absent here), <interface type='direct'/'vhostuser'> (a host
NIC, a vhost-user server), tcp chardevs in connect mode (a listener), a plain EHCI alone
(QEMU refuses full-speed devices on its high-speed ports while libvirt lets them through).
Memory devices (dimm, nvdimm, virtio-mem) come with maxMemory and one NUMA cell, an
intel IOMMU with <ioapic driver='qemu'/> on q35.  Each generated
guest says which kinds it holds (`Guest.kinds`) so a test can name what it covered.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field

from hypothesis import strategies as st

IMAGES = "/var/lib/libvirt/images"


@dataclass
class Guest:
    xml: str
    kinds: set[str] = field(default_factory=set)


@dataclass
class _Parts:
    machine: str
    devices: list[str] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)
    head: list[str] = field(default_factory=list)  # more <features>
    numa: bool = False  # memory devices need maxMemory and a NUMA cell

    def add(self, kind: str, xml: str) -> None:
        self.devices.append(xml)
        self.kinds.add(kind)


_NIC_MODELS = ("virtio", "e1000", "rtl8139", "e1000e")
_VIDEO = ("vga", "cirrus", "qxl", "virtio", "bochs", "ramfb")
_SOUND = ("ich6", "ich9", "ac97", "es1370", "usb")
_USB = ("qemu-xhci", "nec-xhci", "piix3-uhci", "ich9-ehci1")  # (EHCI alone: no full-speed port)


@st.composite
def guests(draw: st.DrawFn) -> Guest:
    """One guest: a machine, a disk, and a drawn set of the other device kinds."""
    machine = draw(st.sampled_from(("pc", "q35")))
    parts = _Parts(machine)
    parts.add(
        "disk",
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        f"<source file='{IMAGES}/gen-root.qcow2'/><target dev='vda' bus='virtio'/></disk>",
    )
    spice = draw(st.booleans())
    usb = draw(st.sampled_from((*_USB, "default")))
    if usb == "ich9-ehci1":
        parts.add("usb-controller", "<controller type='usb' index='0' model='ich9-ehci1'/>")
        for n, port in ((1, 0), (2, 2), (3, 4)):
            parts.add(
                "usb-controller",
                f"<controller type='usb' index='0' model='ich9-uhci{n}'>"
                f"<master startport='{port}'/></controller>",
            )
    elif usb != "default":
        parts.add("usb-controller", f"<controller type='usb' index='0' model='{usb}'/>")
    # graphics
    if spice:
        parts.add(
            "graphics",
            "<graphics type='spice' autoport='yes'><listen type='address'/>"
            "<image compression='off'/></graphics>",
        )
        if draw(st.booleans()):
            parts.add("audio", "<audio id='1' type='spice'/>")
    if draw(st.booleans()):
        port = draw(st.sampled_from(("autoport='yes'", "port='5987'")))
        parts.add("graphics", f"<graphics type='vnc' {port} listen='127.0.0.1'/>")
    # interfaces
    for index in range(draw(st.integers(0, 2))):
        nic_type = draw(st.sampled_from(("user", "network", "bridge", "ethernet")))
        source = {
            "user": "",
            "network": "<source network='default'/>",
            "bridge": "<source bridge='br0'/>",
            "ethernet": "",
        }[nic_type]
        mac = f"<mac address='52:54:00:aa:00:{index:02x}'/>" if draw(st.booleans()) else ""
        model = draw(st.sampled_from(_NIC_MODELS))
        parts.add(
            "interface",
            f"<interface type='{nic_type}'>{mac}{source}<model type='{model}'/></interface>",
        )
    # video
    video = draw(st.sampled_from((*_VIDEO, "none", "default")))
    if video == "qxl":
        parts.add(
            "video",
            "<video><model type='qxl' ram='65536' vram='65536' vgamem='16384'"
            " heads='1' primary='yes'/></video>",
        )
    elif video != "default":
        parts.add("video", f"<video><model type='{video}'/></video>")
    # character devices
    serial = draw(st.sampled_from(("pty", "null", "file", "unix", "udp", "none")))
    if serial != "none":
        target = draw(st.sampled_from(("isa-serial", "isa-serial", "pci-serial", "usb-serial")))
        parts.add("serial", _chardev("serial", serial, target))
    if draw(st.booleans()):
        parts.add("console", "<console type='pty'><target type='virtio'/></console>")
    if draw(st.booleans()):
        parts.add(
            "channel",
            "<channel type='unix'><source mode='bind'/>"
            "<target type='virtio' name='org.qemu.guest_agent.0'/></channel>",
        )
    if spice and draw(st.booleans()):
        parts.add(
            "channel",
            "<channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>",
        )
    if machine == "pc" and draw(st.booleans()):
        parts.add("parallel", "<parallel type='pty'/>")
    # inputs
    for kind in draw(
        st.lists(st.sampled_from(("tablet", "mouse", "keyboard")), max_size=2, unique=True)
    ):
        bus = draw(st.sampled_from(("usb", "virtio")))
        parts.add("input", f"<input type='{kind}' bus='{bus}'/>")
    # sound
    for model in draw(st.lists(st.sampled_from(_SOUND), max_size=2, unique=True)):
        parts.add("sound", f"<sound model='{model}'/>")
    # USB redirection and smartcards ride on SPICE
    if spice and draw(st.booleans()):
        parts.add("redirdev", "<redirdev bus='usb' type='spicevmc'/>")
    if spice and draw(st.booleans()):
        parts.add("smartcard", "<smartcard mode='passthrough' type='spicevmc'/>")
    # virtio family
    balloon = draw(st.sampled_from(("plain", "stats", "none", "default")))
    if balloon == "plain":
        parts.add("memballoon", "<memballoon model='virtio'/>")
    elif balloon == "stats":
        parts.add("memballoon", "<memballoon model='virtio'><stats period='10'/></memballoon>")
    elif balloon == "none":
        parts.add("memballoon", "<memballoon model='none'/>")
    rng = draw(st.sampled_from(("random", "builtin", "egd", "none")))
    if rng == "random":
        parts.add("rng", "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>")
    elif rng == "builtin":
        parts.add("rng", "<rng model='virtio'><backend model='builtin'/></rng>")
    elif rng == "egd":
        parts.add(
            "rng",
            "<rng model='virtio'><backend model='egd' type='udp'>"
            "<source mode='connect' host='127.0.0.1' service='7811'/>"
            "<source mode='bind' host='127.0.0.1' service='7812'/></backend></rng>",
        )
    if draw(st.booleans()):
        parts.add(
            "filesystem",
            "<filesystem type='mount' accessmode='mapped'>"
            "<source dir='/tmp'/><target dir='tmpshare'/></filesystem>",
        )
    # platform devices
    watchdog = draw(st.sampled_from(("i6300esb", "ib700", "none")))
    if watchdog == "i6300esb" or (watchdog == "ib700" and machine == "pc"):
        parts.add("watchdog", f"<watchdog model='{watchdog}' action='reset'/>")
    if draw(st.booleans()):
        parts.add("panic", "<panic model='isa'/>")
    if draw(st.booleans()):
        parts.add(
            "shmem",
            "<shmem name='gen-shm'><model type='ivshmem-plain'/><size unit='M'>4</size></shmem>",
        )
    if machine == "q35" and draw(st.booleans()):
        parts.head.append("<ioapic driver='qemu'/>")
        parts.add("iommu", "<iommu model='intel'/>")
    memory = draw(st.sampled_from(("dimm", "nvdimm", "virtio-mem", "none", "none")))
    if memory != "none":
        parts.numa = True
        source = (
            "<source><path>/tmp/virtxlate-gen-nvdimm.img</path></source>"
            if memory == "nvdimm"
            else ""
        )
        extra = "<block unit='MiB'>2</block><requested unit='MiB'>64</requested>"
        parts.add(
            "memory-device",
            f"<memory model='{memory}'>{source}<target><size unit='MiB'>128</size>"
            f"<node>0</node>{extra if memory == 'virtio-mem' else ''}</target></memory>",
        )
    if shutil.which("swtpm") and draw(st.booleans()):
        model = draw(st.sampled_from(("tpm-crb", "tpm-tis")))
        parts.add("tpm", f"<tpm model='{model}'><backend type='emulator' version='2.0'/></tpm>")
    return Guest(_domain(parts), parts.kinds)


def _chardev(element: str, source: str, target: str) -> str:
    inner = {
        "pty": "",
        "null": "",
        "file": "<source path='/tmp/virtxlate-gen-serial.log'/>",
        "unix": "<source mode='bind' path='/tmp/virtxlate-gen-serial.sock'/>",
        "udp": "<source mode='bind' host='127.0.0.1' service='7813'/>"
        "<source mode='connect' host='127.0.0.1' service='7814'/>",
    }[source]
    return f"<{element} type='{source}'>{inner}<target type='{target}'/></{element}>"


def _domain(parts: _Parts) -> str:
    devices = "\n    ".join(parts.devices)
    features = "".join(parts.head)
    numa = (
        "\n  <cpu><numa><cell id='0' cpus='0' memory='512' unit='MiB'/></numa></cpu>"
        if parts.numa
        else ""
    )
    max_memory = "\n  <maxMemory slots='2' unit='MiB'>2048</maxMemory>" if parts.numa else ""
    return f"""<domain type='qemu'>
  <name>whole-gen</name>
  <uuid>6a1c3e5f-7b9d-4f2a-8c4e-1a3b5c7d9e0f</uuid>{max_memory}
  <memory unit='MiB'>512</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='{parts.machine}'>hvm</type></os>
  <features><acpi/>{features}</features>{numa}
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    {devices}
  </devices>
</domain>
"""
