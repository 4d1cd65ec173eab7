"""A running libvirt, through libvirt-python (the optional extra `virtxlate[libvirt]`).

Only this module imports libvirt; without the binding every call says in one line how
to install it (exit 2).
"""

from __future__ import annotations

import shlex
from typing import Any

from .errors import InputError, UsageError

INSTALL_HINT = (
    "needs libvirt-python: pip install 'virtxlate[libvirt]' "
    "(it builds against libvirt's headers: Debian libvirt-dev and pkg-config)"
)


def _libvirt() -> Any:
    try:
        import libvirt
    except ImportError:
        raise UsageError(f"--connect {INSTALL_HINT}") from None
    return libvirt


def connect(uri: str) -> Any:
    libvirt = _libvirt()
    libvirt.registerErrorHandler(lambda *_: None, None)  # errors come as exceptions
    try:
        return libvirt.open(uri)
    except libvirt.libvirtError as exc:
        raise UsageError(f"cannot connect to {uri}: {_message(exc)}") from None


def domain_xml(uri: str, name: str, inactive: bool = False) -> tuple[str, str]:
    """The XML of domain NAME (or UUID) on URI — the persistent definition when INACTIVE
    — and a name for messages."""
    libvirt = _libvirt()
    conn = connect(uri)
    try:
        try:
            domain = conn.lookupByUUIDString(name) if _is_uuid(name) else conn.lookupByName(name)
        except libvirt.libvirtError as exc:
            raise InputError(f"no domain '{name}': {_message(exc)}", source=uri) from None
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE if inactive else 0
        return domain.XMLDesc(flags), f"{uri}#{name}"
    finally:
        conn.close()


def native_argv(uri: str, xml: str) -> list[str]:
    """libvirt's own command line for XML (domainXMLToNative 'qemu-argv'), as words
    after the environment prefix."""
    libvirt = _libvirt()
    conn = connect(uri)
    try:
        text = conn.domainXMLToNative("qemu-argv", xml, 0)
    except libvirt.libvirtError as exc:
        raise InputError(f"libvirt refuses the domain: {_message(exc)}", source=uri) from None
    finally:
        conn.close()
    words = shlex.split(text.replace("\\\n", ""))
    start = next((i for i, word in enumerate(words) if word.startswith("/")), 0)
    return words[start:]


def hypervisor_release(uri: str) -> str:
    """The QEMU release libvirt drives on URI, e.g. '7.2'."""
    conn = connect(uri)
    try:
        version = conn.getVersion()
    finally:
        conn.close()
    return f"{version // 1000000}.{version // 1000 % 1000}"


def domain_capabilities(
    uri: str, emulator: str | None, arch: str | None, machine: str | None, virttype: str | None
) -> str:
    libvirt = _libvirt()
    conn = connect(uri)
    try:
        return conn.getDomainCapabilities(emulator, arch, machine, virttype, 0)
    except libvirt.libvirtError as exc:
        raise UsageError(f"no domain capabilities on {uri}: {_message(exc)}") from None
    finally:
        conn.close()


def _is_uuid(text: str) -> bool:
    parts = text.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(
        c in "0123456789abcdefABCDEF" for c in text.replace("-", "")
    )


def _message(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
