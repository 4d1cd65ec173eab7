"""Layer 4 of check: lints.  Warnings about domains libvirt and QEMU accept but that
probably do not do what their author meant; the exit status stays 0."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Finding, finding_at
from ..model import Domain
from ..model.devices import ControllerDriver, DiskDriver
from ..placement.addresses import drive_address

VIRTIO_SCSI_MODELS = (None, "auto", "virtio-scsi", "virtio-transitional", "virtio-non-transitional")
# More disks than this on one iothread serialize their I/O on one host thread.
DISKS_PER_IOTHREAD = 4
# Cache modes that keep writes in the host page cache (QEMU's default is writeback).
_HOST_CACHED = (None, "writeback", "unsafe")


def uneven_iothreads(domain: Domain) -> Iterator[Finding]:
    """VX0401 — disks on a virtio-scsi controller without an iothread while another
    virtio-scsi controller has one: those disks stay on QEMU's main loop."""
    virtio = [c for c in domain.controllers if c.type == "scsi" and c.model in VIRTIO_SCSI_MODELS]
    with_thread = [c for c in virtio if c.driver is not None and c.driver.iothread is not None]
    if not with_thread:
        return
    used = {
        drive_address(d).controller  # type: ignore[union-attr]
        for d in domain.disks
        if d.bus == "scsi" and drive_address(d) is not None
    }
    for controller in virtio:
        if controller in with_thread or (controller.index or 0) not in used:
            continue
        yield finding_at(
            "VX0401",
            "warning",
            f"virtio-scsi controller {controller.index or 0} has disks but no "
            "iothread, while another controller has one",
            controller,
            domain.source,
            hint="add <driver iothread='N'/> to the controller",
        )


def queues_above_vcpus(domain: Domain) -> Iterator[Finding]:
    """VX0402 — more virtqueues than vCPUs: the extra queues add no parallelism."""
    vcpus = domain.vcpu or 1
    # (queues on another SCSI model is an error of its own, VX0206)
    drivers: list[ControllerDriver | DiskDriver | None] = [
        c.driver for c in domain.controllers if c.type == "scsi" and c.model in VIRTIO_SCSI_MODELS
    ]
    drivers += [d.driver for d in domain.disks if d.bus == "virtio"]
    for driver in drivers:
        if driver is not None and driver.queues is not None and driver.queues > vcpus:
            yield finding_at(
                "VX0402",
                "warning",
                f"queues='{driver.queues}' is more than the domain's {vcpus} vCPUs",
                driver,
                domain.source,
                xpath_suffix="/@queues",
                hint=f"queues='{vcpus}' gives every vCPU its own queue",
            )


def crowded_iothread(domain: Domain) -> Iterator[Finding]:
    """VX0403 — more than DISKS_PER_IOTHREAD virtio disks share one iothread."""
    counts: dict[int, int] = {}
    for disk in domain.disks:
        driver = disk.driver
        if driver is not None and driver.iothread is not None:
            counts[driver.iothread] = counts.get(driver.iothread, 0) + 1
    for iothread, count in sorted(counts.items()):
        if count > DISKS_PER_IOTHREAD:
            first = next(
                d for d in domain.disks if d.driver is not None and d.driver.iothread == iothread
            )
            yield finding_at(
                "VX0403",
                "warning",
                f"{count} disks share iothread {iothread}",
                first.driver,
                domain.source,
                xpath_suffix="/@iothread",
                hint="spread the disks over more <iothreads>",
            )


def cached_shared_disk(domain: Domain) -> Iterator[Finding]:
    """VX0404 — a shareable disk written through the host page cache: another host
    writing the same disk does not see those writes until they are flushed."""
    for disk in domain.disks:
        if not disk.shareable or disk.readonly:
            continue
        cache = disk.driver.cache if disk.driver is not None else None
        if cache in _HOST_CACHED:
            mode = f"cache='{cache}'" if cache else "the default cache (writeback)"
            yield finding_at(
                "VX0404",
                "warning",
                f"a shareable disk with {mode}",
                disk.driver or disk,
                domain.source,
                xpath_suffix="/@cache" if cache else "",
                hint="use cache='none' or 'directsync' for shared disks",
            )


LINTS = (uneven_iothreads, queues_above_vcpus, crowded_iothread, cached_shared_disk)


def lint_findings(domain: Domain) -> list[Finding]:
    return [finding for lint in LINTS for finding in lint(domain)]
