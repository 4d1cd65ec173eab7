"""`tree --format dot` parsed back gives the graph `tree --format json` gives; `--format
svg` draws it with Graphviz (one line and exit 2 without it); the README's pictures are
the tool's."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from conftest import REPO, SAMPLES, _missing, run_cli
from lxml import etree

NODE = re.compile(r'^\s*(\w+) \[shape=(box|ellipse), label="((?:[^"\\]|\\.)*)"\];$')
EDGE = re.compile(r"^\s*(\w+) -> (\w+);$")


def parse_dot(text: str) -> dict:
    """The DOT back into {"name","type","devices"} / {"type","id","buses"} dicts."""
    labels, shapes, children = {}, {}, {}
    for line in text.splitlines():
        if match := NODE.match(line):
            name, shape, label = match.groups()
            labels[name] = [part.replace('\\"', '"') for part in label.split("\\n")]
            shapes[name] = shape
        elif match := EDGE.match(line):
            children.setdefault(match.group(1), []).append(match.group(2))

    def bus(name: str) -> dict:
        assert shapes[name] == "ellipse"
        bus_name, bus_type = labels[name]
        return {
            "name": bus_name,
            "type": bus_type,
            "devices": [device(child) for child in children.get(name, [])],
        }

    def device(name: str) -> dict:
        assert shapes[name] == "box"
        label = labels[name]
        device_id = label[1][4:-1] if len(label) > 1 and label[1].startswith('id "') else None
        return {
            "type": label[0],
            "id": device_id,
            "buses": [bus(child) for child in children.get(name, [])],
        }

    targets = {child for kids in children.values() for child in kids}
    (root,) = [name for name in labels if name not in targets]
    return bus(root)


def _shape(node: dict) -> dict:
    """A graph JSON bus reduced to what the picture shows: names, types, ids."""
    return {
        "name": node["name"],
        "type": node["type"],
        "devices": [
            {"type": d["type"], "id": d["id"], "buses": [_shape(b) for b in d["buses"]]}
            for d in node["devices"]
        ],
    }


@pytest.mark.parametrize("release", ["1.2", "1.5", "7.2"])
@pytest.mark.parametrize(
    "sample",
    [
        "seed-virtio-scsi.xml",
        "scsi-controller-models.xml",
        "q35-storage.xml",
        "virtio-blk-and-ide-cdrom.xml",
    ],
)
def test_dot_parses_back_into_the_graph(sample, release):
    if release != "7.2" and sample in ("q35-storage.xml", "scsi-controller-models.xml"):
        return  # no q35 before 1.3, no mptsas1068 before 2.6
    dot = run_cli("tree", str(SAMPLES / sample), "--qemu", release, "--format", "dot")
    graph = run_cli("tree", str(SAMPLES / sample), "--qemu", release, "--format", "json")
    assert dot.returncode == 0 and graph.returncode == 0, dot.stderr + graph.stderr
    assert parse_dot(dot.stdout) == _shape(json.loads(graph.stdout)["root"])


def test_dot_shows_where_a_disk_sits():
    dot = run_cli(
        "tree", str(SAMPLES / "seed-virtio-scsi.xml"), "--qemu", "1.5", "--format", "dot"
    ).stdout
    (disk,) = [line for line in dot.splitlines() if 'label="scsi-hd' in line]
    assert "drive = drive-scsi0-0-0-0" in disk and "scsi-id = 0" in disk


def test_svg_is_drawn_by_graphviz():
    if shutil.which("dot") is None:
        _missing("Graphviz's dot (apt-get install graphviz)", "VIRTXLATE_REQUIRE_INTEGRATION")
    svg = run_cli("tree", str(SAMPLES / "seed-virtio-scsi.xml"), "--qemu", "1.5", "--format", "svg")
    assert svg.returncode == 0, svg.stderr
    root = etree.fromstring(svg.stdout.encode())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "virtio-scsi-device" in "".join(root.itertext())


def test_svg_without_graphviz_says_so_in_one_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "virtxlate",
            "tree",
            str(SAMPLES / "seed-virtio-scsi.xml"),
            "--qemu",
            "1.5",
            "--format",
            "svg",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": str(tmp_path)},
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "graphviz" in result.stderr


@pytest.mark.parametrize("release", ["1.2", "1.5"])
def test_readme_pictures_are_the_tools(release):
    """docs/seed-qemu-VER.svg came from `tree --format svg`: same boxes and buses."""
    picture = REPO / "docs" / f"seed-qemu-{release}.svg"
    assert f"](docs/seed-qemu-{release}.svg)" in (REPO / "README.md").read_text()
    texts = {t.strip() for t in etree.parse(str(picture)).getroot().itertext() if t.strip()}
    dot = run_cli(
        "tree", str(SAMPLES / "seed-virtio-scsi.xml"), "--qemu", release, "--format", "dot"
    )
    assert dot.returncode == 0, dot.stderr
    labels = {
        part.replace('\\"', '"')
        for match in map(NODE.match, dot.stdout.splitlines())
        if match
        for part in match.group(3).split("\\n")
    }
    assert {"virtio-scsi-pci", "scsi-hd"} <= labels, dot.stdout  # not an empty graph
    assert labels <= texts, labels - texts
