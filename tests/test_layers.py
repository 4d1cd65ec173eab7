"""The package's layers: no import cycle between its parts, and no part importing one above it.

The import graph is read with ast from the sources (module-level and function-local imports,
those under TYPE_CHECKING too), so a cycle hidden behind a local import still fails here.
A part is a subpackage (virtxlate/model/, …) or a top-level module (api, cli, findings, …).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "virtxlate"

# Parts each part must not import (issue 16: parse → model → placement → props →
# argv/graph/rules → api → cli); option (the Option type) and names (libvirt's device names)
# sit below every part.
FORBIDDEN = {
    "option": {"names", "placement", "props", "libvirt", "argv", "graph", "rules", "api", "cli"},
    "names": {"option", "placement", "props", "libvirt", "argv", "graph", "rules", "api", "cli"},
    "model": {"placement", "props", "libvirt", "argv", "graph", "rules", "api", "cli"},
    "placement": {"props", "libvirt", "argv", "graph", "rules", "api", "cli"},
    "props": {"libvirt", "argv", "graph", "rules", "api", "cli"},
    "argv": {"placement", "props", "libvirt", "rules", "api", "cli"},
    "graph": {"placement", "props", "libvirt", "rules", "api", "cli"},
    "rules": {"api", "cli"},
}

# KNOWN EXCEPTIONS: imports that break the contract or close a cycle, each (importing
# module, imported module); empty, and a test keeps every entry honest.  Placement still
# builds the -device options of the PCI controllers, root ports, hubs and zPCI devices it
# adds (virtxlate.option is below every part, so that is no breach of the layers).
KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


@functools.cache
def _nodes(path: Path) -> tuple[ast.AST, ...]:
    """Every node of PATH's syntax tree, parsed once a test run (the sources do not change
    while it runs; each test parsing the whole package again cost ~1 s)."""
    return tuple(ast.walk(ast.parse(path.read_text(), str(path))))


def _from_imports(name: str, path: Path) -> list[tuple[str, ast.ImportFrom]]:
    """Each `from X import …` of virtxlate in NAME's source, X resolved to a module name."""
    is_package = path.name == "__init__.py"
    found = []
    for node in _nodes(path):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = name.split(".")
            # a package's own name is its level-1 base; a module's is its parent
            base = base[: len(base) - node.level + (1 if is_package else 0)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        if target.split(".")[0] == "virtxlate":
            found.append((target, node))
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The virtxlate modules NAME imports anywhere in its source."""
    found: set[str] = set()
    for node in _nodes(path):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "virtxlate")
    for target, node in _from_imports(name, path):
        # `from . import caps` imports the module virtxlate.caps, not the package
        submodules = {f"{target}.{a.name}" for a in node.names} & known
        found.update(submodules or {target})
    return found


def _part(module: str) -> str:
    """virtxlate.props.disks → props; virtxlate.api → api; virtxlate → virtxlate."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def import_graph() -> dict[str, set[str]]:
    """Each virtxlate module and the virtxlate modules it imports."""
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def part_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    parts: dict[str, set[str]] = {}
    for module, imported in graph.items():
        edges = parts.setdefault(_part(module), set())
        edges.update(_part(i) for i in imported if _part(i) != _part(module))
    return parts


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def contract_breaches(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """(importing module, imported module) of every import the layer contract forbids."""
    breaches = set()
    for module, imported in graph.items():
        part = _part(module)
        for target in imported:
            if _part(target) == "cli" and part != "virtxlate":
                # nothing imports the CLI but `python -m virtxlate`
                if module != "virtxlate.__main__":
                    breaches.add((module, target))
            if _part(target) not in FORBIDDEN.get(part, set()):
                continue
            breaches.add((module, target))

    return breaches


def test_the_graph_sees_local_and_relative_imports() -> None:
    graph = import_graph()
    # a function-local import (cli imports the API inside its commands)
    assert "virtxlate.api" in graph["virtxlate.cli"]
    # `from .. import caps` is the module virtxlate.caps
    assert "virtxlate.caps" in graph["virtxlate.api"]
    assert "virtxlate.option" in graph["virtxlate.argv.escape"]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_parts() -> None:
    graph = {
        module: {t for t in imported if (module, t) not in KNOWN_EXCEPTIONS}
        for module, imported in import_graph().items()
    }
    parts = part_graph(graph)
    # the package's __init__ names the API lazily (PEP 562); it is not a part
    parts.pop("virtxlate", None)
    for edges in parts.values():
        edges.discard("virtxlate")
    assert cycles(parts) == []


def test_no_import_cycle_between_modules() -> None:
    assert cycles(import_graph()) == []


def test_the_layer_contract_holds() -> None:
    breaches = contract_breaches(import_graph())
    assert sorted(breaches - KNOWN_EXCEPTIONS) == []


@pytest.mark.parametrize(
    "module, target",
    [
        ("virtxlate.model.devices", "virtxlate.props.disks"),
        ("virtxlate.argv.writer", "virtxlate.libvirt.plan"),
        ("virtxlate.graph.build", "virtxlate.props.disks"),
        ("virtxlate.rules.machine", "virtxlate.api"),
        ("virtxlate.batch", "virtxlate.cli"),
    ],
)
def test_the_contract_names_a_forbidden_import(module: str, target: str) -> None:
    assert contract_breaches({module: {target}}) == {(module, target)}


def test_no_part_imports_another_parts_private_name() -> None:
    # as native.fromtree once imported graph.build._convert
    private = [
        f"{name} imports {target}.{alias.name}"
        for name, path in _modules().items()
        for target, node in _from_imports(name, path)
        if _part(target) != _part(name)
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert private == []


def test_known_exceptions_are_still_imported() -> None:
    """An exception the code no longer needs is taken off the list."""
    graph = import_graph()
    assert sorted(e for e in KNOWN_EXCEPTIONS if e[1] not in graph.get(e[0], set())) == []
