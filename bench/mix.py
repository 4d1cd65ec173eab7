"""The bench's mixed domain set: storage as operators' guests have it, drawn reproducibly.

Each domain has 1–8 disks on every bus a machine takes (virtio, SCSI on several HBA models,
SATA, IDE on i440fx, USB), file, block and network sources (NBD, iSCSI, RBD), CD-ROMs (some
empty), SCSI LUNs, iSCSI host devices, i440fx and q35, and explicit drive addresses on a third
of the SCSI disks.  The same seed gives the same domains.
"""

from __future__ import annotations

import random

SCSI_MODELS = ("virtio-scsi", "lsilogic", "lsisas1068", "lsisas1078", "vmpvscsi")


def _disk_name(prefix: str, index: int) -> str:
    """sda … sdz, sdaa … (libvirt's virDiskNameParse order)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return prefix + letters


def _source(rng: random.Random, number: int, index: int) -> tuple[str, str]:
    """(disk type, source element)."""
    kind = rng.choices(("file", "block", "nbd", "iscsi", "rbd"), (6, 2, 1, 1, 1))[0]
    if kind == "file":
        return "file", f"<source file='/var/lib/libvirt/images/g{number}-{index}.qcow2'/>"
    if kind == "block":
        return "block", f"<source dev='/dev/vg0/g{number}-{index}'/>"
    name = {
        "nbd": f"export{index}",
        "iscsi": f"iqn.2013-07.com.example:t{number}/{index % 4}",
        "rbd": f"pool/g{number}-{index}",
    }[kind]
    port = {"nbd": 10809, "iscsi": 3260, "rbd": 6789}[kind]
    return "network", (
        f"<source protocol='{kind}' name='{name}'>"
        f"<host name='storage{index % 3}.example.org' port='{port}'/></source>"
    )


def domain_xml(number: int, seed: int = 0) -> str:
    """Domain NUMBER of the mixed set drawn with SEED."""
    rng = random.Random(seed * 1_000_003 + number)
    q35 = rng.random() < 0.5
    machine = "q35" if q35 else "pc"
    buses = ["virtio", "virtio", "scsi", "sata", "usb"] + ([] if q35 else ["ide"])
    if not q35:
        buses.remove("sata")  # libvirt gives pc no AHCI unless asked; keep to its usual
    model = rng.choice(SCSI_MODELS)
    parts = [f"<controller type='scsi' index='0' model='{model}'/>"]
    if rng.random() < 0.3:
        parts.append(
            "<controller type='scsi' index='1' model='virtio-scsi'>"
            "<driver queues='4'/></controller>"
        )
    counters: dict[str, int] = {}
    prefixes = {"virtio": "vd", "scsi": "sd", "sata": "sd", "usb": "sd", "ide": "hd"}
    scsi_units = scsi_disks = 0
    for index in range(rng.randint(1, 8)):
        bus = rng.choice(buses)
        prefix = prefixes[bus]
        key = "sd" if prefix == "sd" else prefix
        if bus == "ide" and counters.get(key, 0) >= 4:
            bus, prefix, key = "virtio", "vd", "vd"
        # libvirt numbers units after target names; pvscsi and mptsas take LUN 0 only
        # (QEMU refuses more), so their disks are given a target each, as users do
        address = ""
        if bus == "scsi" and model in ("vmpvscsi", "lsisas1068"):
            address = (
                f"<address type='drive' controller='0' bus='0' target='{scsi_disks}' unit='0'/>"
            )
        scsi_disks += bus == "scsi"
        name = _disk_name(prefix, counters.get(key, 0))
        counters[key] = counters.get(key, 0) + 1
        device = "disk"
        roll = rng.random()
        if bus in ("sata", "ide", "scsi") and roll < 0.15:
            device = "cdrom"
        elif bus == "scsi" and roll < 0.25:
            device = "lun"
        if device == "cdrom":
            empty = rng.random() < 0.5
            source = "" if empty else f"<source file='/iso/install-{number}.iso'/>"
            parts.append(
                f"<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>"
                f"{source}<target dev='{name}' bus='{bus}'/><readonly/>{address}</disk>"
            )
            continue
        if device == "lun":
            parts.append(
                f"<disk type='block' device='lun'><driver name='qemu' type='raw'/>"
                f"<source dev='/dev/disk/by-id/wwn-0x5000c500{number:08x}{index}'/>"
                f"<target dev='{name}' bus='scsi'/>{address}</disk>"
            )
            continue
        disk_type, source = _source(rng, number, index)
        fmt = "raw" if disk_type != "file" else rng.choice(("qcow2", "raw"))
        cache = rng.choice(("", " cache='none'", " cache='writeback'"))
        io = " io='native'" if "none" in cache and rng.random() < 0.5 else ""
        driver = f"<driver name='qemu' type='{fmt}'{cache}{io}/>"
        if bus == "scsi" and rng.random() < 0.33 and model == "virtio-scsi":
            # units far above the ones libvirt derives from target names (sda → 0)
            address = (
                f"<address type='drive' controller='0' bus='0' target='0' "
                f"unit='{200 + scsi_units}'/>"
            )
            scsi_units += 1
        extra = "<boot order='1'/>" if index == 0 and rng.random() < 0.5 else ""
        serial = f"<serial>S{number}-{index}</serial>" if rng.random() < 0.2 else ""
        parts.append(
            f"<disk type='{disk_type}' device='disk'>{driver}{source}"
            f"<target dev='{name}' bus='{bus}'/>{serial}{extra}{address}</disk>"
        )
    if rng.random() < 0.2:
        parts.append(
            "<hostdev mode='subsystem' type='scsi'><source protocol='iscsi' "
            f"name='iqn.2014-08.com.example:passthrough/{number % 3}'>"
            "<host name='iscsi.example.org' port='3260'/></source></hostdev>"
        )
    return (
        f"<domain type='kvm'><name>mix-{number}</name><memory unit='MiB'>2048</memory>"
        f"<vcpu>2</vcpu><os><type arch='x86_64' machine='{machine}'>hvm</type></os>"
        f"<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>{''.join(parts)}"
        f"</devices></domain>\n"
    )


def many_disks(disks: int) -> str:
    """A q35 domain with DISKS disks: one in ten virtio-blk (each takes a root port), the
    rest on one virtio-scsi controller."""
    parts = ["<controller type='scsi' index='0' model='virtio-scsi'/>"]
    virtio = scsi = 0
    for index in range(disks):
        source = f"<source file='/var/lib/libvirt/images/big-{index}.qcow2'/>"
        driver = "<driver name='qemu' type='qcow2' cache='none'/>"
        if index % 10:
            parts.append(
                f"<disk type='file' device='disk'>{driver}{source}"
                f"<target dev='{_disk_name('sd', scsi)}' bus='scsi'/></disk>"
            )
            scsi += 1
        else:
            parts.append(
                f"<disk type='file' device='disk'>{driver}{source}"
                f"<target dev='{_disk_name('vd', virtio)}' bus='virtio'/></disk>"
            )
            virtio += 1
    return (
        "<domain type='kvm'><name>big</name><memory unit='MiB'>1024</memory>"
        "<vcpu>2</vcpu><os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
        f"<emulator>/usr/bin/qemu-system-x86_64</emulator>{''.join(parts)}</devices>"
        "</domain>\n"
    )
