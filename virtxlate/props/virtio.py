"""The virtio devices of the seed's family beside storage and network: the balloon, RNGs,
vsock and the IOMMU, as libvirt writes them.

Checked against libvirt 9.0 with QEMU 7.2 (virsh domxml-to-native, and a started domain).
The balloon's statistics period is set over QMP after the start, not on the line; a
vsock's vhost descriptor and an automatic guest CID exist only in a libvirt-run process
and are named placeholders (VSOCK_FD, VSOCK_CID) with an info finding.
"""

from __future__ import annotations

from ..findings import finding_at
from ..host import ASK_THE_HOST
from ..model.devices import Device
from ..model.platform import Rng
from ..names import transitional
from ..option import Option
from ..placement.assign import IMPLICIT_BALLOON
from .context import StoragePlan, add_location, add_virtio_options, transport_device, unsupported
from .device_table import BALLOON, INTEL_IOMMU, RNG
from .mapping import add_props
from .net import missing_device

VSOCK_FD = "<vhost-vsock-fd:{alias}>"
VSOCK_CID = "<vsock-cid:{alias}>"
# the random back-end's device when <backend model='random'> names none (libvirt 9.0)
DEFAULT_RNG_PATH = "/dev/random"


def _virtio_device(plan: StoragePlan, device: Device, base: str) -> tuple[Option, str] | None:
    """-device of virtio BASE (virtio-balloon-pci …) for DEVICE: the transitional model
    and the channel-subsystem transport applied, its virtio options added
    (qemuBuildVirtioDevProps); None, with a VX0303 finding, when the release lacks it."""
    # (each kind's own model field: memballoon, rng, vsock)
    model = getattr(device, "model", None)
    wanted = transport_device(plan, base + transitional.model_suffix(model), device.address)
    name, added = transitional.resolve(plan.caps, wanted)
    if not plan.caps.has_device(name) and name not in plan.caps.uncertain_devices:
        plan.findings.append(missing_device(plan, device, f"<{device.kind}>", name))
        return None
    option = Option("-device", name, origin=device)
    add_virtio_options(option, getattr(device, "driver", None))
    for key, value in added:
        option.add(key, value)
    return option, wanted


def _place(plan: StoragePlan, option: Option, key: object) -> None:
    placed = plan.placement.location_of(key)
    if placed is not None:
        add_location(option, placed)


def iommu_options(plan: StoragePlan) -> list[Option]:
    """<iommu> (qemuBuildIOMMUCommandLine): intel-iommu with its driver settings, or
    virtio-iommu on its PCI place; smmuv3 is a -machine property (not written here)."""
    options = []
    for iommu in plan.domain.iommus[:1]:
        if iommu.model == "intel":
            if not plan.caps.has_device("intel-iommu"):
                plan.findings.append(
                    missing_device(plan, iommu, "<iommu model='intel'>", "intel-iommu")
                )
                continue
            option = Option("-device", "intel-iommu", origin=iommu)
            option.add("id", "iommu0")
            add_props(option, INTEL_IOMMU, iommu, None, None)
            options.append(option)
        elif iommu.model == "virtio":
            if not plan.caps.has_device("virtio-iommu-pci"):
                plan.findings.append(
                    missing_device(plan, iommu, "<iommu model='virtio'>", "virtio-iommu-pci")
                )
                continue
            # libvirt writes QEMU's alias "virtio-iommu" of virtio-iommu-pci
            option = Option("-device", "virtio-iommu", origin=iommu)
            option.add("id", "iommu0")
            _place(plan, option, iommu)
            options.append(option)
    return options


def memballoon_options(plan: StoragePlan) -> list[Option]:
    """<memballoon> (qemuBuildMemballoonCommandLine), or the virtio balloon libvirt adds
    to a domain without one; model='none' has none."""
    balloon = plan.domain.memballoon
    if balloon is not None and balloon.model == "none":
        return []
    if balloon is not None and balloon.model not in (None, "virtio", "virtio-transitional",
                                                      "virtio-non-transitional"):  # fmt: skip
        plan.findings.append(unsupported(plan, balloon, f"a <memballoon model='{balloon.model}'>"))
        return []
    if balloon is None:
        name = transport_device(plan, "virtio-balloon-pci")
        if not plan.caps.has_device(name):
            return []
        option = Option("-device", name, origin=plan.domain)
        option.add("id", "balloon0")
        _place(plan, option, IMPLICIT_BALLOON)
        return [option]
    made = _virtio_device(plan, balloon, "virtio-balloon-pci")
    if made is None:
        return []
    option = made[0]
    option.add("id", balloon.user_alias or "balloon0")
    add_props(option, BALLOON, balloon, None, None)
    _place(plan, option, balloon)
    return [option]


def rng_options(plan: StoragePlan) -> list[Option]:
    """Each <rng>: its back-end (a -chardev for egd, then the -object) and the virtio-rng
    device (qemuBuildRNGCommandLine); aliases rngN count those without a user alias."""
    options: list[Option] = []
    automatic = 0
    for rng in plan.domain.rngs:
        alias = rng.user_alias
        if alias is None:
            alias = f"rng{automatic}"
            automatic += 1
        options.extend(_rng(plan, rng, alias))
    return options


def _rng(plan: StoragePlan, rng: Rng, alias: str) -> list[Option]:
    backend = rng.backend
    model = backend.model if backend is not None else None
    objects: list[Option] = []
    if model == "egd" and backend is not None:
        chardev = _egd_chardev(backend, f"char{alias}")
        if chardev is None:
            plan.findings.append(unsupported(plan, rng, f"an egd <rng> of type '{backend.type}'"))
            return []
        objects.append(chardev)
    qom_type = {"random": "rng-random", "egd": "rng-egd", "builtin": "rng-builtin"}.get(model or "")
    if qom_type is None or backend is None:
        plan.findings.append(unsupported(plan, rng, "an <rng> without a back-end"))
        return []
    made = _virtio_device(plan, rng, "virtio-rng-pci")
    if made is None:
        return []
    if not plan.caps.has_flag(qom_type):
        plan.findings.append(
            missing_device(plan, rng, f"<rng> back-end '{model}'", qom_type, kind="flags")
        )
        return []
    backend_object = Option("-object", qom_type, origin=rng)
    backend_object.add("id", f"obj{alias}")
    if model == "random":
        backend_object.add("filename", backend.path or DEFAULT_RNG_PATH)
    elif model == "egd":
        backend_object.add("chardev", f"char{alias}")
    objects.append(backend_object)
    device = made[0]
    device.add("rng", f"obj{alias}")
    device.add("id", alias)
    add_props(device, RNG, rng, None, None)
    _place(plan, device, rng)
    return [*objects, device]


def _egd_chardev(backend, chardev_id: str) -> Option | None:  # type: ignore[no-untyped-def]
    """The egd back-end's character device as libvirt writes it (keyval -chardev) for a
    tcp, unix or udp client; None for the other source types."""
    sources = {source.mode or "connect": source for source in backend.sources}
    peer = sources.get("connect")
    if peer is None:
        return None
    if backend.type == "tcp":
        option = Option("-chardev", "socket", [("id", chardev_id), ("host", peer.host or "")])
        option.add("port", peer.service)
        return option
    if backend.type == "unix":
        return Option("-chardev", "socket", [("id", chardev_id), ("path", peer.path or "")])
    if backend.type == "udp":
        option = Option("-chardev", "udp", [("id", chardev_id), ("host", peer.host or "")])
        option.add("port", peer.service)
        local = sources.get("bind")
        if local is not None:
            option.add("localaddr", local.host)
            option.add("localport", local.service)
        return option
    return None


def vsock_options(plan: StoragePlan) -> list[Option]:
    """<vsock> (qemuBuildVsockCommandLine): vhost-vsock with the guest CID and the
    descriptor of /dev/vhost-vsock libvirt opens (placeholders when only a running
    libvirt knows them)."""
    options = []
    for vsock in plan.domain.vsocks[:1]:
        made = _virtio_device(plan, vsock, "vhost-vsock-pci")
        if made is None:
            continue
        option = made[0]
        alias = vsock.user_alias or "vsock0"
        option.add("id", alias)
        automatic = vsock.cid_auto is True or vsock.cid_address is None
        cid: str | int = VSOCK_CID.format(alias=alias) if automatic else vsock.cid_address  # type: ignore[assignment]
        option.add("guest-cid", cid)
        option.add("vhostfd", VSOCK_FD.format(alias=alias))
        _place(plan, option, vsock)
        options.append(option)
        message = (
            f"vsock {alias}: libvirt opens /dev/vhost-vsock on the VM's host and passes its "
            f"descriptor; written as the placeholder {VSOCK_FD.format(alias=alias)}"
        )
        if automatic:
            message += (
                f"; the guest CID libvirt picks when it starts the domain is written as "
                f"{VSOCK_CID.format(alias=alias)}"
            )
        plan.findings.append(
            finding_at("VX0701", "info", message, vsock, plan.domain.source, hint=ASK_THE_HOST)
        )
    return options
