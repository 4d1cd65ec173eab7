"""Issue 16.3: the model's fields are typed.  `Field("@queues", INT)` reads as
`int | None`, a Flag as `bool`, a Child as its class or None, Children as a list; mypy
sees it (run through its API when installed; mypy is a development dependency)."""

from __future__ import annotations

import pytest

mypy_api = pytest.importorskip("mypy.api", reason="mypy is not installed")

_PROGRAM = """
from virtxlate.model import Controller, Disk, Domain

def look(controller: Controller, disk: Disk, domain: Domain) -> None:
    driver = controller.driver
    reveal_type(driver)
    if driver is not None:
        reveal_type(driver.queues)
    reveal_type(controller.type)
    reveal_type(controller.model_name)
    reveal_type(disk.readonly)
    reveal_type(disk.bus)
    reveal_type(domain.disks)
    reveal_type(Controller.index)
    nic = domain.interfaces[0]
    reveal_type(nic)
    if nic.driver is not None:
        reveal_type(nic.driver.queues)
    reveal_type(nic.boot_order)
    reveal_type(domain.devices)
    reveal_type(domain.memballoon)
    reveal_type(domain.videos[0].primary)
    reveal_type(domain.features.acpi if domain.features else None)
    reveal_type(domain.cpu.numa_cells if domain.cpu else [])
    reveal_type(domain.serials[0].source)
"""

_EXPECTED = [
    "virtxlate.model.devices.ControllerDriver | None",
    "int | None",
    "str | None",
    "str | None",
    "bool",
    "str | None",
    "list[virtxlate.model.devices.Disk]",
    "virtxlate.model.fields.Field[int]",
    "virtxlate.model.network.Interface",
    "int | None",
    "int | None",
    "list[virtxlate.model.devices.Device]",
    "virtxlate.model.platform.Memballoon | None",
    "bool",
    "bool | None",
    "list[virtxlate.model.system.NumaCell]",
    "virtxlate.model.chardevs.CharSource | None",
]


def test_fields_read_as_their_converters_type(tmp_path):
    program = tmp_path / "look.py"
    program.write_text(_PROGRAM)
    out, err, _status = mypy_api.run(
        ["--follow-imports=silent", "--no-error-summary", str(program)]
    )
    revealed = [
        line.split('Revealed type is "', 1)[1].rstrip('"')
        for line in out.splitlines()
        if "Revealed type is" in line
    ]
    assert revealed == _EXPECTED, out + err
