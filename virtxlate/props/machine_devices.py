"""Devices a domain's own elements ask for rather than an entry of <devices>: vmgenid for
<genid> (qemuBuildVMGenIDCommandLine) and vmcoreinfo for <features><vmcoreinfo
state='on'/> (qemuBuildVMCoreInfoCommandLine).  Neither sits on a bus: QEMU's `info qtree`
does not show them."""

from __future__ import annotations

from ..findings import finding_at
from ..option import Option
from .context import StoragePlan
from .controllers import missing_device

# libvirt makes up a GUID for an empty <genid/> when it reads the domain (virUUIDGenerate)
GENID_PLACEHOLDER = "<random-genid>"


def vmgenid_options(plan: StoragePlan) -> list[Option]:
    """-device vmgenid,guid=…,id=vmgenid0 for <genid> (written after -uuid and -smbios)."""
    domain = plan.domain
    if not domain.has_genid:
        return []
    element = domain.element.find("genid")
    assert element is not None
    if not plan.caps.has_device("vmgenid"):
        plan.findings.append(missing_device(plan, domain, "vmgenid", "<genid>"))
        return []
    guid = (domain.genid or "").strip()
    if not guid:
        guid = GENID_PLACEHOLDER
        plan.findings.append(
            finding_at(
                "VX0701",
                "info",
                "an empty <genid/>: libvirt makes up the VM generation ID when it reads the "
                f"domain; written as {guid}",
                domain,
                plan.domain.source,
                xpath_suffix="/genid",
                hint="write the <genid> virsh dumpxml shows",
            )
        )
    option = Option("-device", "vmgenid", [("guid", guid), ("id", "vmgenid0")], origin=domain)
    return [option]


def vmcoreinfo_options(plan: StoragePlan) -> list[Option]:
    """-device vmcoreinfo for <features><vmcoreinfo state='on'/>."""
    features = plan.domain.features
    if features is None or not features.vmcoreinfo:
        return []
    if not plan.caps.has_device("vmcoreinfo"):
        plan.findings.append(
            missing_device(plan, features, "vmcoreinfo", "<vmcoreinfo state='on'/>")
        )
        return []
    return [Option("-device", "vmcoreinfo", origin=features)]
