"""Layer 3 of check: release gates from the capability tables.

A device type or machine type the chosen release lacks is an error naming the
first known release that has it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..caps import CapsTable
from ..caps.index import first_with, last_with, releases_with, summaries
from ..findings import Finding, finding_at
from ..model import Domain
from ..model.fields import XmlObject
from ..names import transitional
from ..names.scsi import SCSI_MODEL_DEVICES, default_scsi_model
from ..placement.addresses import drive_address
from .launch_security import launch_security_findings

# libvirt's disk device → QEMU device type per bus, for the gates.
_DISK_DEVICE_TYPES = {
    ("scsi", "disk"): "scsi-hd",
    ("scsi", "cdrom"): "scsi-cd",
    ("scsi", "lun"): "scsi-block",
    ("ide", "disk"): "ide-hd",
    ("ide", "cdrom"): "ide-cd",
    ("sata", "disk"): "ide-hd",
    ("sata", "cdrom"): "ide-cd",
    ("virtio", "disk"): "virtio-blk-pci",
    ("virtio", "lun"): "virtio-blk-pci",
}


def release_findings(domain: Domain, caps: CapsTable) -> list[Finding]:
    return (
        list(_machine(domain, caps))
        + list(_devices(domain, caps))
        + list(_iothreads(domain, caps))
        + list(_name(domain, caps))
        + list(_reservations(domain, caps))
        + list(_limits(domain, caps))
        + launch_security_findings(domain, caps)
    )


def _since(device_type: str, caps: CapsTable) -> str | None:
    return first_with("devices", device_type, caps.arch, after=caps.version)


def _removed(kind: str, name: str, caps: CapsTable) -> str:
    """' (removed: last in QEMU X)' when an older release had it, else ''."""
    last = last_with(kind, name, caps.arch, before=caps.version)
    return f" (removed: last in QEMU {last})" if last else ""


def _machine(domain: Domain, caps: CapsTable) -> Iterator[Finding]:
    if caps.machine(domain.machine) is not None:
        return
    name = domain.machine or ""
    since = first_with("machines", name, caps.arch, after=caps.version)
    removed = "" if since else _removed("machines", name, caps)
    os = domain.os
    where = (os.place_of("machine") if os is not None else None) or domain
    yield finding_at(
        "VX0301",
        "error",
        f"machine type '{domain.machine}' does not exist in QEMU {caps.version}{removed}",
        where,
        domain.source,
        xpath_suffix="/@machine",
        since=since,
        hint="aliases: " + ", ".join(m.alias for m in caps.machines if m.alias),
    )


# id(table) → (the table, what the gates found of it: "missing": QEMU device type → the
# resolved type the release lacks, None when nothing is missing; "scsi-bus": SCSI
# controller model → its SCSI bus): domain after domain, they ask for the same few
_KEPT: dict[int, tuple[CapsTable, dict[str, dict[Any, Any]]]] = {}
_MAX_TABLES = 256  # the shipped tables are far fewer


def _kept(caps: CapsTable, what: str) -> dict[Any, Any]:
    """The answers of kind WHAT kept for CAPS (the table is kept with them, so that its
    id names no other table while they are)."""
    entry = _KEPT.get(id(caps))
    if entry is None or entry[0] is not caps:
        if len(_KEPT) >= _MAX_TABLES:
            _KEPT.clear()  # (tables made on the fly, as tests do: no growth)
        entry = _KEPT[id(caps)] = (caps, {"missing": {}, "scsi-bus": {}})
    return entry[1][what]


def _devices(domain: Domain, caps: CapsTable) -> Iterator[Finding]:
    """VX0303 — every QEMU device type the storage needs exists in the release."""
    # (the object, what needs it: a format and its value, the device type, xpath suffix)
    needs: list[tuple[XmlObject, str, str | None, str | None, str]] = []
    for controller in domain.controllers:
        if controller.type == "scsi":
            model = controller.model
            if model in (None, "auto"):
                model = default_scsi_model(caps)
            needs.append(
                (
                    controller,
                    "SCSI controller model '{}'",
                    model,
                    SCSI_MODEL_DEVICES.get(model or ""),
                    "/@model",
                )
            )
    for disk in domain.disks:
        bus = disk.bus
        needs.append(
            (
                disk,
                "disk on bus '{}'",
                bus,
                _DISK_DEVICE_TYPES.get((bus or "", disk.effective_device)),
                "",
            )
        )
    hostdevs = domain.hostdevs
    if hostdevs:
        machine = caps.machine(domain.machine)
        ccw = machine is not None and caps.family_of(machine).libvirt_addressing == "ccw"
    for hostdev in hostdevs:
        source = hostdev.source
        if hostdev.type != "scsi_host" or source is None or source.protocol != "vhost":
            continue
        # qemuBuildSCSIVHostHostdevDevProps: vhost-scsi on the machine's virtio transport
        device = (
            "vhost-scsi-ccw" if ccw else f"vhost-scsi-pci{transitional.model_suffix(hostdev.model)}"
        )
        needs.append((hostdev, "vhost-scsi host device", None, device, ""))
    missing: dict[str | None, str | None] = _kept(caps, "missing")
    for obj, what_format, detail, wanted, suffix in needs:
        if wanted not in missing:
            resolved = transitional.resolve(caps, wanted)[0] if wanted is not None else None
            missing[wanted] = None if resolved is None or caps.has_device(resolved) else resolved
        device_type = missing[wanted]
        if device_type is None:
            continue
        what = what_format.format(detail)
        if device_type in caps.uncertain_devices:
            # a derived release whose neighbours disagree: not known, so not an error
            yield finding_at(
                "VX0307",
                "warning",
                f"{what} needs QEMU device '{device_type}'; virtxlate does not "
                f"know whether QEMU {caps.version} has it (no captured replies "
                "of this release, and its neighbours disagree)",
                obj,
                domain.source,
                xpath_suffix=suffix,
            )
            continue
        since = _since(device_type, caps)
        removed = "" if since else _removed("devices", device_type, caps)
        yield finding_at(
            "VX0303",
            "error",
            f"{what} needs QEMU device '{device_type}', which QEMU {caps.version} "
            f"does not have{removed}",
            obj,
            domain.source,
            xpath_suffix=suffix,
            since=since,
            hint=None if since or removed else "no release virtxlate knows has it",
        )


def _name(domain: Domain, caps: CapsTable) -> Iterator[Finding]:
    """VX0303 — a comma in <name> needs -name's guest= key (libvirt's name-guest flag).
    Before it QEMU's vl.c took everything after the first comma of -name as a
    sub-argument and accepted only 'process=' there ("Unknown subargument … to -name"),
    so a doubled comma is no escape either."""
    if caps.has_flag("name-guest"):
        return  # (the release has the guest= key: <name> is not looked for)
    where = domain.place_of("name")
    if where is not None and "," in (domain.name or ""):
        yield _flag_gate(
            domain,
            caps,
            "name-guest",
            "a comma in the domain name",
            "QEMU's -name guest= key",
            where,
            hint="QEMU without it refuses: Unknown subargument … to -name",
        )


def _iothreads(domain: Domain, caps: CapsTable) -> Iterator[Finding]:
    """VX0303 — IOThreads need QEMU's iothread object, libvirt's iothread flag
    (qemuProcessStartValidateIOThreads: "IOThreads not supported for this QEMU"), and a
    virtio-scsi controller's iothread its iothread property (virtio-scsi-pci.iothread:
    "IOThreads for virtio-scsi not supported for this QEMU")."""
    if not caps.has_flag("iothread"):
        ids = domain.iothreadids
        where = ids or domain.place_of("iothreads")
        if where is not None and domain.iothread_id_set():
            yield _flag_gate(
                domain,
                caps,
                "iothread",
                "<iothreadids>" if ids is not None else "<iothreads>",
                "QEMU's iothread object",
                where,
            )
        return
    if caps.has_flag("virtio-scsi-pci.iothread"):
        return
    for controller in domain.controllers:
        driver = controller.driver
        if controller.type != "scsi" or driver is None or driver.iothread is None:
            continue
        if (controller.model or default_scsi_model(caps)) == "virtio-scsi":
            yield _flag_gate(
                domain,
                caps,
                "virtio-scsi-pci.iothread",
                "an iothread of a virtio-scsi controller",
                "QEMU's virtio-scsi iothread property",
                driver,
                "/@iothread",
            )


def _flag_gate(
    domain: Domain,
    caps: CapsTable,
    flag: str,
    what: str,
    needs: str,
    obj: XmlObject,
    suffix: str = "",
    hint: str | None = None,
) -> Finding:
    """WHAT needs libvirt's FLAG (NEEDS says what QEMU lacks without it): an error naming
    the first release with it, or VX0307 where a derived table does not know."""
    if _flag_uncertain(flag, caps):
        return finding_at(
            "VX0307",
            "warning",
            f"{what} needs {needs}; virtxlate does not know whether QEMU "
            f"{caps.version} has it (no captured replies of this release, and "
            "its neighbours disagree)",
            obj,
            domain.source,
            xpath_suffix=suffix,
            hint=hint,
        )
    return finding_at(
        "VX0303",
        "error",
        f"{what} needs {needs}, which QEMU {caps.version} does not have",
        obj,
        domain.source,
        xpath_suffix=suffix,
        since=first_with("flags", flag, caps.arch, after=caps.version),
        hint=hint,
    )


def _flag_uncertain(flag: str, caps: CapsTable) -> bool:
    """Whether a derived release (2.0, 2.2, 2.3: no captured replies) lacks FLAG only
    because its table keeps the flags both neighbours have, the next captured release
    having it."""
    tables = summaries(caps.arch)
    position = next((i for i, entry in enumerate(tables) if entry["version"] == caps.version), None)
    if position is None or not tables[position]["origin"].startswith("derived"):
        return False
    upper = next(
        (
            entry["version"]
            for entry in tables[position + 1 :]
            if not entry["origin"].startswith("derived")
        ),
        None,
    )
    return upper is not None and upper in releases_with("flags", flag, caps.arch)


def _reservations(domain: Domain, caps: CapsTable) -> Iterator[Finding]:
    """VX0303 — <reservations> needs QEMU's pr-manager-helper object (libvirt:
    "reservations not supported with this QEMU binary")."""
    if caps.has_flag("pr-manager-helper"):
        return
    since = first_with("flags", "pr-manager-helper", caps.arch, after=caps.version)
    for disk in domain.disks:
        source = disk.source
        if source is not None and source.reservations_managed is not None:
            yield finding_at(
                "VX0303",
                "error",
                f"<reservations> needs QEMU's pr-manager-helper, which QEMU "
                f"{caps.version} does not have",
                source,
                domain.source,
                xpath_suffix="/reservations",
                since=since,
            )


def _limits(domain: Domain, caps: CapsTable) -> Iterator[Finding]:
    """VX0304 — target and LUN within what the SCSI HBA model accepts in this release
    (libvirt: "target must be 0 for controller model 'lsilogic'")."""
    for disk in domain.disks:
        if disk.bus != "scsi":
            continue
        address = drive_address(disk)
        if address is None:
            continue
        controller = domain.controller("scsi", address.controller)
        model = (controller.model if controller is not None else None) or default_scsi_model(caps)
        if model == "lsilogic" and address.target != 0:
            yield finding_at(
                "VX0304",
                "error",
                f"target must be 0 for controller model 'lsilogic', not {address.target}",
                disk.address or disk,
                domain.source,
                xpath_suffix="/@target" if disk.address is not None else "",
            )
            continue
        buses = _kept(caps, "scsi-bus")
        if model not in buses:
            device_type = caps.device(SCSI_MODEL_DEVICES.get(model or "", ""))
            buses[model] = (
                _scsi_bus_spec(caps, device_type.name) if device_type is not None else None
            )
        scsi_bus = buses[model]
        if scsi_bus is None:
            continue
        for what, value, limit in (
            ("target", address.target, scsi_bus.max_target),
            (
                "unit",
                address.unit,
                scsi_bus.max_lun if model != "lsilogic" else scsi_bus.max_target,
            ),
        ):
            if limit is not None and value > limit:
                yield finding_at(
                    "VX0304",
                    "error",
                    f"{what} {value} is beyond what a '{model}' controller accepts "
                    f"(at most {limit}) in QEMU {caps.version}",
                    disk.address or disk,
                    domain.source,
                    xpath_suffix=f"/@{what}" if disk.address is not None else "",
                )


def _scsi_bus_spec(caps: CapsTable, device_type: str):  # type: ignore[no-untyped-def]
    dtype = caps.device(device_type)
    while dtype is not None:
        for spec in dtype.buses:
            if spec.bus_type == "SCSI":
                return spec
        dtype = caps.device(dtype.embeds) if dtype.embeds else None
    return None
