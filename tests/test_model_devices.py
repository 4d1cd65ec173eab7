"""Issue 16.3: a typed model for every device of libvirt's domain schema.

tests/data/model-every-device.xml holds each device kind as libvirt's documentation
writes it (and passes libvirt 9.0's own domain.rng, checked below); the libvirt
corpus adds libvirt's test inputs.  Each class reads exact values, absent stays None,
a write leaves every other byte of the document alone, and every declared path names
elements and attributes libvirt's schema has where the model puts them.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import pytest
from conftest import CONFORMANCE, DATA, SAMPLES, conformance_inputs
from lxml import etree
from rng_names import SCHEMAS, Allowed

from virtxlate import model
from virtxlate.model import chardevs, devices, display, hostdevs, network, platform, system
from virtxlate.model.domain import DEVICE_CLASSES, Domain
from virtxlate.model.fields import Child, Children, Field, Flag, XmlObject, iter_fields, note_write
from virtxlate.xmlinput import parse_bytes, parse_text

EVERY_DEVICE = DATA / "model-every-device.xml"
# the attributes the first fixture leaves out (other choices of the same element)
MORE_ATTRIBUTES = DATA / "model-more-attributes.xml"
# what no single domain holds together: other <clock offset>s, a custom CPU model
_SMALL_DOMAIN = (
    "<domain type='kvm'><name>x</name><memory>1</memory>"
    "<os><type arch='x86_64' machine='q35'>hvm</type></os>{}</domain>"
)
OTHER_CHOICES = [
    _SMALL_DOMAIN.format(
        "<cpu mode='custom' match='exact'><model fallback='allow' vendor_id='GenuineIntel'>"
        "Haswell</model></cpu><clock offset='timezone' timezone='Europe/Paris'/>"
    ),
    _SMALL_DOMAIN.format("<clock offset='absolute' start='1234567890'/>"),
    # libvirt's tests/qemuxml2argvdata/launch-security-sev-direct.xml's <launchSecurity>
    _SMALL_DOMAIN.format(
        "<launchSecurity type='sev' kernelHashes='yes'><cbitpos>47</cbitpos>"
        "<reducedPhysBits>1</reducedPhysBits><policy>0x0001</policy><dhCert>AQAA</dhCert>"
        "<session>IHAVENOIDEABUTJUSTPROVIDINGASTRING</session></launchSecurity>"
    ),
]
MODULES = (devices, network, chardevs, display, hostdevs, platform, system, model.domain)


def _load(path: Path = EVERY_DEVICE) -> tuple[Domain, object]:
    document = parse_bytes(path.read_bytes(), str(path))
    return model.domain_from_document(document), document


def _c14n(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return etree.tostring(etree.fromstring(data).getroottree(), method="c14n2", with_comments=True)


def _model_classes() -> list[type[XmlObject]]:
    found: dict[str, type[XmlObject]] = {}
    for module in MODULES:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, XmlObject) and cls.__module__ == module.__name__:
                found[cls.__qualname__] = cls
    return sorted(found.values(), key=lambda c: c.__qualname__)


def _links(cls: type) -> list[tuple[str, type[XmlObject], str]]:
    """(attribute, class, path) of every Child/Children declared on CLS or its bases."""
    links = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Child | Children):
                path = value.path if isinstance(value, Children) else "/".join(value.steps)
                links[name] = (name, value.cls, path)
    return list(links.values())


def test_the_fixture_is_valid_for_libvirts_schema():
    rng = SCHEMAS / "domain.rng"
    if not rng.is_file():
        if os.environ.get("VIRTXLATE_REQUIRE_INTEGRATION") == "1":
            pytest.fail(f"{rng} is missing")
        pytest.skip(f"{rng} is not installed (Debian: libvirt-daemon / libvirt0)")
    schema = etree.RelaxNG(file=str(rng))
    assert schema.validate(etree.parse(str(EVERY_DEVICE))), schema.error_log
    assert schema.validate(etree.parse(str(MORE_ATTRIBUTES))), schema.error_log
    for text in OTHER_CHOICES:
        assert schema.validate(etree.fromstring(text)), schema.error_log


def test_devices_in_document_order_each_through_its_class():
    domain, _ = _load()
    written = [
        node.tag
        for node in etree.parse(str(EVERY_DEVICE)).getroot().find("devices")
        if isinstance(node.tag, str) and node.tag != "emulator"
    ]
    found = domain.devices
    assert [d.kind for d in found] == written
    assert len(found) == 49
    for device in found:
        assert type(device) is DEVICE_CLASSES[device.kind]
    # one list per kind, in document order, same classes
    assert [type(d).__name__ for d in domain.interfaces] == ["Interface"] * 3
    assert [s.target_port for s in domain.serials] == [0, 1, 2]
    assert len(domain.videos) == 2 and len(domain.graphics) == 3 and len(domain.rngs) == 3
    assert len(domain.hostdevs) == 3 and len(domain.memory_devices) == 3
    assert domain.memballoon is domain.memballoons[0]


def test_device_base_fields():
    domain, _ = _load()
    nic = domain.interfaces[0]
    assert (nic.alias, nic.boot_order, nic.acpi_index) == ("ua-net0", 2, 3)
    assert (nic.address.type, nic.address.bus, nic.address.slot) == ("pci", 1, 0)
    other = domain.interfaces[1]
    assert (other.alias, other.boot_order, other.acpi_index, other.address) == (
        None,
        None,
        None,
        None,
    )
    assert domain.hostdevs[0].boot_order == 3
    assert domain.redirdevs[1].boot_order == 4
    assert domain.inputs[0].address.type == "usb"
    assert domain.disks[0].boot_order == 1


def test_interfaces():
    domain, _ = _load()
    bridge, network_, vhostuser = domain.interfaces
    assert (bridge.type, bridge.mac, bridge.model, bridge.mtu) == (
        "bridge",
        "52:54:00:6d:90:02",
        "virtio",
        9000,
    )
    assert (bridge.source.bridge, bridge.target_dev, bridge.link_state) == ("br0", "vnet7", "up")
    drv = bridge.driver
    assert (drv.name, drv.queues, drv.rx_queue_size, drv.tx_queue_size) == ("vhost", 4, 256, 256)
    assert (drv.host.csum, drv.host.tso4, drv.host.gso, drv.guest.csum) == (
        False,
        False,
        None,
        False,
    )
    assert drv.txmode is None and drv.iommu is None
    assert (bridge.rom.bar, bridge.rom.file) == (False, None)
    assert (network_.source.network, network_.source.portgroup, network_.model) == (
        "default",
        "web",
        "e1000e",
    )
    assert network_.mac is None and network_.driver is None and network_.mtu is None
    src = vhostuser.source
    assert (src.type, src.path, src.mode) == ("unix", "/tmp/vhost1.sock", "server")


def test_character_devices():
    domain, _ = _load()
    pty, tcp, udp = domain.serials
    assert (pty.type, pty.target_type, pty.target_model, pty.source) == (
        "pty",
        "isa-serial",
        "isa-serial",
        None,
    )
    assert (tcp.source.mode, tcp.source.host, tcp.source.service, tcp.protocol) == (
        "bind",
        "127.0.0.1",
        "4555",
        "telnet",
    )
    assert (tcp.log_file, tcp.log_append) == ("/var/log/libvirt/qemu/g-serial1.log", True)
    assert udp.source_in_mode("connect").host == "192.168.1.1"
    assert udp.source_in_mode("bind").host == "0.0.0.0"
    assert domain.parallels[0].source.path == "/tmp/parallel.log"
    assert (domain.consoles[0].target_type, domain.consoles[0].target_port) == ("serial", 0)
    agent, vmc, port = domain.channels
    assert (agent.type, agent.target_type, agent.target_name) == (
        "unix",
        "virtio",
        "org.qemu.guest_agent.0",
    )
    assert (agent.address.type, agent.address.controller) == ("virtio-serial", 0)
    assert vmc.type == "spicevmc" and vmc.source is None
    assert port.source.channel == "org.qemu.console.serial.0"
    spice, tcp_redir = domain.redirdevs
    assert (spice.bus, spice.type, tcp_redir.source.service) == ("usb", "spicevmc", "4000")
    card = domain.smartcards[0]
    assert (card.mode, card.type, card.certificates, card.database) == (
        "passthrough",
        "spicevmc",
        [],
        None,
    )


def test_video_graphics_input_sound_audio():
    domain, _ = _load()
    qxl, virtio = domain.videos
    assert (qxl.model_type, qxl.primary) == ("qxl", True)
    m = qxl.model
    assert (m.ram, m.vram, m.vgamem, m.vram64, m.heads) == (65536, 65536, 16384, 0, 1)
    assert (virtio.model_type, virtio.primary, virtio.model.accel3d, virtio.model.vram) == (
        "virtio",
        False,
        True,
        None,
    )
    assert virtio.driver.name == "qemu" and qxl.driver is None
    spice, vnc, egl = domain.graphics
    assert (spice.type, spice.autoport, spice.default_mode, spice.port) == (
        "spice",
        True,
        "secure",
        None,
    )
    assert [(c.name, c.mode) for c in spice.channels] == [
        ("main", "secure"),
        ("inputs", "insecure"),
    ]
    assert [(lst.type, lst.address) for lst in spice.listens] == [("address", "127.0.0.1")]
    assert (spice.image_compression, spice.streaming_mode, spice.gl_enable) == (
        "auto_glz",
        "filter",
        False,
    )
    assert (vnc.port, vnc.listen, vnc.keymap, vnc.websocket) == (5904, "0.0.0.0", "de", 5700)
    assert (egl.type, egl.gl_rendernode) == ("egl-headless", "/dev/dri/renderD128")
    tablet, keyboard, evdev = domain.inputs
    assert (tablet.type, tablet.bus, keyboard.bus, keyboard.model) == (
        "tablet",
        "usb",
        "virtio",
        None,
    )
    assert (evdev.source_dev, evdev.source_grab, evdev.source_repeat) == (
        "/dev/input/event1",
        "all",
        True,
    )
    ich9, ac97 = domain.sounds
    assert (ich9.model, [c.type for c in ich9.codecs], ich9.audio_id) == ("ich9", ["micro"], 1)
    assert (ac97.model, ac97.codecs, ac97.audio_id) == ("ac97", [], None)
    spice_audio, pulse = domain.audios
    assert (spice_audio.id, spice_audio.type, spice_audio.input) == (1, "spice", None)
    assert (pulse.server_name, pulse.input.voices, pulse.input.frequency) == (
        "/run/user/1000/pulse/native",
        1,
        44100,
    )
    assert (pulse.input.format, pulse.output.stream_name, pulse.output.voices) == (
        "s16",
        "out",
        None,
    )


def test_hostdevs_and_hub():
    domain, _ = _load()
    pci, usb_id, usb_addr = domain.hostdevs
    assert (pci.type, pci.managed, pci.driver_name) == ("pci", True, "vfio")
    a = pci.source.address
    assert (a.domain, a.bus, a.slot, a.function) == (0, 6, 2, 0)
    assert (pci.rom.bar, pci.rom.file, pci.readonly) == (True, "/etc/fake/boot.bin", False)
    assert (usb_id.source.vendor_id, usb_id.source.product_id) == ("0x1234", "0xbeef")
    assert usb_id.source.startup_policy == "optional" and usb_id.managed is None
    assert (usb_addr.source.usb_bus, usb_addr.source.usb_device) == (1, 5)
    assert usb_addr.source.vendor_id is None
    assert domain.hubs[0].type == "usb"


def test_platform_devices():
    domain, _ = _load()
    balloon = domain.memballoon
    assert (balloon.model, balloon.autodeflate, balloon.free_page_reporting) == (
        "virtio",
        True,
        True,
    )
    assert (balloon.stats_period, balloon.driver.iommu) == (10, True)
    random, egd, builtin = domain.rngs
    assert (random.backend.model, random.backend.path) == ("random", "/dev/urandom")
    assert (random.rate_bytes, random.rate_period) == (1234, 2000)
    assert (egd.backend.type, egd.backend.sources[0].host, egd.backend.protocol) == (
        "tcp",
        "1.2.3.4",
        "raw",
    )
    assert (builtin.backend.model, builtin.backend.path, builtin.rate_bytes) == (
        "builtin",
        None,
        None,
    )
    crb, tis = domain.tpms
    assert (crb.model, crb.backend.type, crb.backend.version) == ("tpm-crb", "emulator", "2.0")
    assert (tis.backend.type, tis.backend.device_path, tis.backend.version) == (
        "passthrough",
        "/dev/tpm0",
        None,
    )
    assert crb.backend.active_pcr_banks == []
    dog = domain.watchdogs[0]
    assert (dog.model, dog.action) == ("i6300esb", "reset")
    panic = domain.panics[0]
    assert (panic.model, panic.address.type) == ("isa", "isa")
    plain, doorbell = domain.shmems
    assert (plain.name, plain.model, plain.size, plain.size_unit) == (
        "my_shmem0",
        "ivshmem-plain",
        4,
        "M",
    )
    assert (doorbell.server_path, doorbell.msi_vectors, doorbell.msi_ioeventfd, doorbell.size) == (
        "/tmp/socket-shmem",
        32,
        True,
        None,
    )
    dimm, nvdimm, vmem = domain.memory_devices
    assert (dimm.model, dimm.target.size, dimm.target.size_unit, dimm.target.node) == (
        "dimm",
        524287,
        "KiB",
        0,
    )
    assert (nvdimm.source.path, nvdimm.target.label_size, nvdimm.target.label_size_unit) == (
        "/tmp/nvdimm",
        128,
        "KiB",
    )
    t = vmem.target
    assert (t.size, t.size_unit, t.block, t.block_unit, t.requested, t.requested_unit) == (
        1,
        "GiB",
        2,
        "MiB",
        512,
        "MiB",
    )
    assert t.current is None and dimm.source is None
    fs = domain.filesystems[0]
    assert (fs.type, fs.accessmode, fs.driver.type, fs.driver.queue) == (
        "mount",
        "passthrough",
        "virtiofs",
        1024,
    )
    assert (fs.source_dir, fs.target_dir, fs.readonly, fs.binary_path, fs.model) == (
        "/srv/share",
        "share",
        True,
        "/usr/libexec/virtiofsd",
        None,
    )
    iommu = domain.iommus[0]
    d = iommu.driver
    assert (iommu.model, d.intremap, d.caching_mode, d.eim, d.iotlb, d.aw_bits) == (
        "intel",
        True,
        True,
        True,
        True,
        48,
    )
    vsock = domain.vsocks[0]
    assert (vsock.model, vsock.cid_auto, vsock.cid_address) == ("virtio", False, 3)


def test_domain_wide_parts():
    domain, _ = _load()
    assert (domain.memory, domain.memory_unit, domain.memory_mib) == (4, "GiB", 4096)
    assert (domain.current_memory, domain.current_memory_unit) == (2048, "MiB")
    assert (domain.max_memory, domain.max_memory_unit, domain.max_memory_slots) == (
        8388608,
        "KiB",
        16,
    )
    assert (domain.vcpu, domain.vcpu_placement, domain.vcpu_current) == (4, "static", 2)
    assert (domain.on_poweroff, domain.on_reboot, domain.on_crash, domain.on_lockfailure) == (
        "destroy",
        "restart",
        "destroy",
        None,
    )
    os_ = domain.os
    assert (os_.firmware, os_.type, os_.arch, os_.machine) == ("efi", "hvm", "x86_64", "pc-q35-7.2")
    assert (os_.loader.path, os_.loader.readonly, os_.loader.type, os_.loader.secure) == (
        "/usr/share/OVMF/OVMF_CODE.secboot.fd",
        True,
        "pflash",
        True,
    )
    assert (os_.nvram.path, os_.nvram.template) == (
        "/var/lib/libvirt/qemu/nvram/g_VARS.fd",
        "/usr/share/OVMF/OVMF_VARS.fd",
    )
    assert (domain.boot_devs, os_.bootmenu_enable, os_.bootmenu_timeout) == (
        ["hd", "cdrom"],
        True,
        3000,
    )
    assert (os_.smbios_mode, os_.bios_useserial, os_.kernel, os_.cmdline) == (
        "sysinfo",
        True,
        None,
        None,
    )
    f = domain.features
    assert (f.acpi, f.apic, f.pae, f.kvm_hidden, f.ioapic_driver) == (
        True,
        True,
        False,
        True,
        "kvm",
    )
    assert (f.pmu.state, f.vmport.state, f.smm.state, f.smm_tseg, f.smm_tseg_unit) == (
        False,
        False,
        True,
        48,
        "MiB",
    )
    assert f.gic_version is None
    h = f.hyperv
    assert (h.mode, h.relaxed, h.spinlocks_retries, h.stimer, h.stimer_direct) == (
        "custom",
        True,
        8191,
        True,
        True,
    )
    assert (h.vendor_id_value, h.reset, h.evmcs) == ("KVM Hv", None, None)
    cpu = domain.cpu
    assert (cpu.mode, cpu.match, cpu.model, cpu.model_fallback, cpu.vendor) == (
        "custom",
        "exact",
        "Skylake-Client",
        "forbid",
        "Intel",
    )
    assert (cpu.sockets, cpu.dies, cpu.cores, cpu.threads) == (1, 1, 2, 2)
    assert [(x.policy, x.name) for x in cpu.features] == [("require", "vmx"), ("disable", "hle")]
    cells = cpu.numa_cells
    assert [(c.id, c.cpus, c.memory, c.unit, c.mem_access) for c in cells] == [
        (0, "0-1", 2, "GiB", None),
        (1, "2-3", 2, "GiB", "shared"),
    ]
    clock = domain.clock
    assert clock.offset == "utc"
    assert [(t.name, t.tickpolicy, t.present) for t in clock.timers] == [
        ("rtc", "catchup", None),
        ("pit", "delay", None),
        ("hpet", None, False),
    ]
    assert clock.timer("hpet").present is False and clock.timer("kvmclock") is None
    assert (domain.pm.suspend_to_mem, domain.pm.suspend_to_disk) == (False, False)


def test_the_libvirt_corpus_virtio_devices(shared):
    """Fragments of libvirt's own test inputs (qemuxml2argvdata)."""
    domain, _ = _load(CONFORMANCE / "virtio-non-transitional" / "virtio-non-transitional.xml")
    assert domain.interfaces[0].model == "virtio-non-transitional"
    assert domain.interfaces[0].mac == "00:11:22:33:44:55"
    assert domain.rngs[0].backend.path == "/dev/urandom"
    assert domain.rngs[0].model == "virtio-non-transitional"
    assert (domain.filesystems[0].source_dir, domain.filesystems[0].target_dir) == (
        "/export/fs1",
        "fs1",
    )
    assert domain.filesystems[0].driver is None
    assert (domain.inputs[0].type, domain.inputs[0].source_evdev) == (
        "passthrough",
        "/dev/input/event1234",
    )
    assert domain.memballoon.model == "virtio-non-transitional"
    assert (domain.vsocks[0].cid_auto, domain.vsocks[0].cid_address) == (False, 4)
    assert (domain.hostdevs[0].type, domain.hostdevs[0].source.wwpn) == (
        "scsi_host",
        "naa.5123456789abcde0",
    )
    arm, _ = _load(CONFORMANCE / "aarch64-virt-virtio" / "aarch64-virt-virtio.xml")
    assert (arm.os.kernel, arm.os.initrd, arm.os.dtb) == (
        "/aarch64.kernel",
        "/aarch64.initrd",
        "/aarch64.dtb",
    )
    assert arm.os.cmdline.startswith("earlyprintk console=ttyAMA0")
    assert (arm.cpu.match, arm.cpu.model, arm.cpu.mode) == ("exact", "cortex-a53", None)
    assert [c.target_type for c in arm.consoles] == [None, "virtio"]
    event, _ = _load(CONFORMANCE / "event_idx" / "event_idx.xml")
    assert (event.interfaces[0].driver.name, event.interfaces[0].driver.event_idx) == (
        "vhost",
        False,
    )


def _documents() -> list[Path]:
    # (model-nvram-block.xml: the <nvram type='block'> form, which no other document has)
    nvram = DATA / "model-nvram-block.xml"
    return [
        EVERY_DEVICE,
        MORE_ATTRIBUTES,
        nvram,
        *sorted(SAMPLES.glob("*.xml")),
        *conformance_inputs(),
    ]


def _values_seen(obj: XmlObject, seen: set[tuple[type, str]], depth: int = 0) -> None:
    for name, _ in iter_fields(type(obj)):
        if getattr(obj, name) is not None:
            seen.add((_declared_on(type(obj), name), name))
    if depth < 6:
        for name, _cls, _path in _links(type(obj)):
            found = getattr(obj, name)
            for child in found if isinstance(found, list) else [found]:
                if child is not None:
                    _values_seen(child, seen, depth + 1)


def _declared_on(cls: type, name: str) -> type:
    return next(k for k in cls.__mro__ if name in vars(k).get("FIELDS", {}))


def test_every_declared_field_reads_a_value_from_some_document(shared):
    """As virt-manager's test_checkprops: a declaration no libvirt-valid document
    exercises is untested, so the fixtures and libvirt's corpus hold a value for every
    Field of every class."""
    seen: set[tuple[type, str]] = set()
    texts = [path.read_bytes() for path in _documents()]
    texts += [text.encode() for text in OTHER_CHOICES]
    for data in texts:
        domain = model.domain_from_document(parse_bytes(data, "doc.xml"))
        _values_seen(domain, seen)
        for device in domain.devices:
            _values_seen(device, seen)
    declared = {
        (_declared_on(cls, name), name) for cls in _model_classes() for name, _ in iter_fields(cls)
    }
    never = sorted(f"{cls.__qualname__}.{name}" for cls, name in declared - seen)
    assert not never, f"declared but never read with a value: {never}"


def _read_everything(obj: XmlObject, depth: int = 0) -> int:
    """Read every field, flag and child of OBJ (bounded depth); the count of reads."""
    count = 0
    for name, _ in iter_fields(type(obj)):
        getattr(obj, name)
        count += 1
    for klass in type(obj).__mro__:
        for name, value in vars(klass).items():
            if isinstance(value, Flag):
                getattr(obj, name)
    if depth < 6:
        for name, _cls, _path in _links(type(obj)):
            found = getattr(obj, name)
            for child in found if isinstance(found, list) else [found]:
                if child is not None:
                    count += _read_everything(child, depth + 1)
    return count


@pytest.mark.parametrize("path", _documents(), ids=lambda p: p.name)
def test_reading_every_field_of_real_documents_writes_nothing(path):
    """libvirt's inputs and our samples read without an error (no enumeration refuses a
    value libvirt takes) and reading leaves the document byte for byte as it was."""
    data = path.read_bytes()
    document = parse_bytes(data, str(path))
    domain = model.domain_from_document(document)
    reads = _read_everything(domain)
    for device in domain.devices:
        reads += _read_everything(device)
    assert reads > 10
    assert _c14n(document.to_xml()) == _c14n(data)


def test_a_write_changes_only_its_attribute():
    domain, document = _load()
    before = document.to_xml()
    domain.interfaces[0].driver.queues = 8
    domain.videos[0].model.vram = None
    domain.memballoon.stats_period = 5
    domain.cpu.sockets = 2
    after = document.to_xml()
    expected = (
        before.replace('queues="4"', 'queues="8"')
        .replace(' vram="65536"', "")
        .replace('period="10"', 'period="5"')
        .replace('sockets="1"', 'sockets="2"')
    )
    assert after == expected
    assert "qemu:commandline" in after and "every device kind" in after


def test_loader_text_written_and_cleared_in_place():
    domain, document = _load()
    loader = domain.os.loader
    loader.path = "/usr/share/OVMF/OVMF_CODE.fd"
    assert domain.os.loader.path == "/usr/share/OVMF/OVMF_CODE.fd"
    loader.path = None
    assert domain.os.loader is not None and loader.path is None
    assert loader.readonly is True  # the element and its attributes stay


_SAMPLES = {"integer": 7, "yes/no": True, "on/off": False, "string": "v-1"}


def _sample(field: Field) -> object:
    if field.converter.values:
        return field.converter.values[-1]
    return _SAMPLES[field.converter.name]


@pytest.mark.parametrize("cls", _model_classes(), ids=lambda c: c.__qualname__)
def test_every_field_of_every_class_writes_what_it_reads(cls):
    """As virt-manager's test_checkprops: each declaration, both ways, and absent is None."""
    for name, field in iter_fields(cls):
        element = etree.Element("x")
        obj = cls(element)
        assert getattr(obj, name) is None, name
        value = _sample(field)
        setattr(obj, name, value)
        assert getattr(obj, name) == value, name
        assert getattr(cls(etree.fromstring(etree.tostring(element))), name) == value, name
        setattr(obj, name, None)
        assert getattr(obj, name) is None, name


_BOOLEAN_TEXTS = {"yes/no": ("yes", "no"), "on/off": ("on", "off")}
# enumerations on an element whose name other kinds share (the check merges them):
# <controller><model name> also holds the serial models' names, <driver type> the
# filesystem drivers, <backend type> the chardev types of an EGD <rng>
_MERGED_ELEMENTS = frozenset(("Controller.model_name", "DiskDriver.type", "TpmBackend.type"))


def _walk(cls: type[XmlObject], tag: str, seen: set[tuple[str, str]], out: list) -> None:
    if (cls.__qualname__, tag) in seen:
        return
    seen.add((cls.__qualname__, tag))
    out.append((cls, tag))
    for name, child_cls, path in _links(cls):
        if name in vars(devices.Device) and cls is not devices.Device:
            continue  # as Device's fields: checked on <disk>
        _walk(child_cls, path.split("/")[-1], seen, out)
        out.append((cls, tag, path))


def test_every_declared_path_exists_in_libvirts_schema():
    """Each Field, Flag, Child and Children path of each class, read from the element
    the class stands for, names a child element/attribute libvirt 9.0's RelaxNG allows
    there (coarse: all definitions of an element name merged)."""
    if not (SCHEMAS / "domaincommon.rng").is_file():
        if os.environ.get("VIRTXLATE_REQUIRE_INTEGRATION") == "1":
            pytest.fail(f"{SCHEMAS} is missing")
        pytest.skip(f"libvirt's schemas are not installed in {SCHEMAS}")
    allowed = Allowed()
    places: list = []
    seen: set[tuple[str, str]] = set()
    _walk(Domain, "domain", seen, places)
    for tag, cls in DEVICE_CLASSES.items():
        _walk(cls, tag, seen, places)
    _walk(devices.Device, "disk", seen, places)
    _walk(chardevs.CharDevice, "serial", seen, places)
    _walk(chardevs.CharHost, "redirdev", seen, places)
    reached = {entry[0] for entry in places if len(entry) == 2}
    missing = [c.__qualname__ for c in _model_classes() if c not in reached]
    assert not missing, f"classes no element of the schema reaches: {missing}"
    problems = []

    def check(tag: str, path: str, where: str, texts: tuple[str, ...] = ()) -> None:
        etree.XPath(path)  # parses as XPath
        owner = tag
        for step in [s for s in path.split("/") if s and s != "."]:
            if step.startswith("@"):
                if step[1:] not in allowed.attributes[owner]:
                    problems.append(f"{where}: <{owner}> has no attribute {step}")
                listed = allowed.values[(owner, step[1:])]
                if texts and listed and "*" not in listed and not set(texts) <= listed:
                    problems.append(f"{where}: {step} takes {sorted(listed)}, not {texts}")
                # one value fewer than the schema is a false error on valid input (but
                # where the merge of equally named elements lists other kinds' values)
                if (
                    texts
                    and listed
                    and "*" not in listed
                    and set(texts) < listed
                    and where not in _MERGED_ELEMENTS
                ):
                    problems.append(f"{where}: {step} also takes {sorted(listed - set(texts))}")
                return
            if step not in allowed.children[owner]:
                problems.append(f"{where}: <{owner}> has no child <{step}>")
                return
            owner = step

    for entry in places:
        if len(entry) == 3:
            cls, tag, path = entry
            check(tag, path, f"{cls.__qualname__} (child {path})")
            continue
        cls, tag = entry
        assert allowed.known(tag), tag
        # Device's own fields (address, alias, boot, acpi) are checked on <disk>: on a
        # kind whose schema lacks one of them they simply read None
        base = set() if cls is devices.Device else set(devices.Device.FIELDS)
        for name, field in iter_fields(cls):
            if name not in base:
                texts = _BOOLEAN_TEXTS.get(field.converter.name, field.converter.values)
                check(tag, field.path, f"{cls.__qualname__}.{name}", texts)
        for klass in cls.__mro__:
            for name, value in vars(klass).items():
                if isinstance(value, Flag) and klass is not devices.Device:
                    check(tag, "/".join(value.steps), f"{cls.__qualname__}.{name}")
    assert not problems, "\n".join(problems)


def test_device_lists_follow_a_write_and_note_write():
    """Issue 16 (no stale caches): a device list was read once per Domain object, so a
    device added to the tree never appeared in domain.disks / domain.devices."""
    document = parse_text(
        "<domain type='qemu'><devices><disk type='file'><target dev='vda' bus='virtio'/>"
        "</disk></devices></domain>"
    )
    domain = model.domain_from_document(document)
    assert len(domain.disks) == 1 and len(domain.devices) == 1 and domain.interfaces == []
    devices_node = domain.element.find("devices")
    etree.SubElement(devices_node, "interface", type="user")
    etree.SubElement(etree.SubElement(devices_node, "disk", type="file"), "target", dev="vdb")
    note_write()
    assert [d.dev for d in domain.disks] == ["vda", "vdb"]
    assert [d.kind for d in domain.devices] == ["disk", "interface", "disk"]
    assert domain.interfaces[0].type == "user"
    domain.disks[1].target.bus = "scsi"  # a write through the model: lists read again
    assert domain.disks[1].bus == "scsi"


def test_capabilities_and_mdev_host_devices_read():
    """<hostdev mode='capabilities' type='storage'> is valid libvirt XML: the hostdev
    type enumeration refused it (a false error) before it named every schema value."""
    domain = model.domain_from_document(
        parse_text(
            "<domain type='lxc'><devices>"
            "<hostdev mode='capabilities' type='storage'><source><block>/dev/sdf1</block>"
            "</source></hostdev>"
            "<hostdev mode='capabilities' type='net'><source><interface>eth0</interface>"
            "</source></hostdev>"
            "<hostdev mode='subsystem' type='mdev' model='vfio-pci' display='on'><source>"
            "<address uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source></hostdev>"
            "</devices></domain>"
        )
    )
    storage, net, mdev = domain.hostdevs
    assert (storage.mode, storage.type, storage.source.block) == (
        "capabilities",
        "storage",
        "/dev/sdf1",
    )
    assert (net.type, net.source.interface, net.source.block) == ("net", "eth0", None)
    assert (mdev.type, mdev.model, mdev.display, mdev.source.address.uuid) == (
        "mdev",
        "vfio-pci",
        "on",
        "c2177883-f1bb-47f0-914d-32a22e3a8804",
    )
