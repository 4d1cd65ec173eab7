"""Deep chains of PCI bridges: libvirt 9.0 accepts 255 nested pci-bridges (bus numbers end
at 0xFF) and refuses more ("Invalid PCI address bus='0x100', must be <= 0xFF", checked with
its domxml-to-native); the graph of the longest chain it accepts is drawn in every format,
and a graph nested deeper than any PCI topology is refused with a one-line error (exit 3)."""

from __future__ import annotations

import pytest
from conftest import run_cli

from virtxlate import caps
from virtxlate.graph import build_graph
from virtxlate.graph.build import MAX_BUS_DEPTH, GraphTooDeep
from virtxlate.option import Option


def _chain(bridges: int) -> str:
    controllers = "".join(
        f"<controller type='pci' index='{i}' model='pci-bridge'><address type='pci' "
        f"domain='0' bus='{i - 1}' slot='{2 if i == 1 else 1}' function='0'/></controller>"
        for i in range(1, bridges + 1)
    )
    return (
        "<domain type='qemu'><name>b</name><os><type arch='x86_64' machine='pc'>hvm"
        f"</type></os><devices>{controllers}</devices></domain>"
    )


@pytest.mark.parametrize("style", ["qtree", "json", "dot"])
def test_the_longest_chain_libvirt_accepts_is_drawn(style):
    result = run_cli("tree", "-", "--qemu", "7.2", "--format", style, stdin=_chain(255).encode())
    assert result.returncode == 0, result.stderr[-300:]
    assert "pci.255" in result.stdout and "Traceback" not in result.stderr
    if style == "json":  # (json.loads itself recurses: the text is looked at)
        assert result.stdout.count('"type": "pci-bridge"') == 255
        assert result.stdout.rstrip().endswith("}")


def test_a_bus_number_beyond_0xff_is_refused():
    result = run_cli("check", "-", "--qemu", "7.2", stdin=_chain(257).encode())
    assert result.returncode == 1
    assert "Invalid PCI address bus='0x100', must be <= 0xFF" in result.stdout


def test_a_graph_deeper_than_pci_allows_is_refused():
    table = caps.load("7.2")
    machine = table.machine("pc")
    assert machine is not None, "7.2 names a default pc machine"
    options = [
        Option(
            "-device",
            "pci-bridge",
            [
                ("chassis_nr", i),
                ("id", f"pci.{i}"),
                ("bus", f"pci.{i - 1}"),
                ("addr", "0x1" if i > 1 else "0x2"),
            ],
        )
        for i in range(1, MAX_BUS_DEPTH + 2)
    ]
    with pytest.raises(GraphTooDeep) as refused:
        build_graph(table, machine.name, table.family_of(machine), options)
    assert refused.value.exit_code == 3 and "\n" not in str(refused.value)
