"""The layout's rules: every arrow runs down, between folders and between files.

The product (what is installed and deployed) imports nothing from the laboratory or the tests;
the folders stand in layers and an import only reaches a lower one; and no two files import each
other, directly or round a longer loop (imports inside functions and under ``TYPE_CHECKING``
count: a loop is a loop wherever its import sits).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Each folder's layer: an import may only reach a folder of a lower layer (or its own).
LAYERS = {
    "shared": 0,
    "chaos": 1,
    "order_service": 2,
    "inventory_service": 2,
    "console": 2,
    "lab": 3,
    "tests": 4,
}
PRODUCT = ("shared", "chaos", "order_service", "inventory_service", "console")


@cache
def _modules() -> dict[str, Path]:
    """Every module by dotted name; a package is its ``__init__``."""
    found = {}
    for top in LAYERS:
        for path in (ROOT / top).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imported(module: str, path: Path) -> Iterator[str]:
    """The dotted names ``module`` imports, relative imports resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from package import submodule`` imports the submodule; anything else, the module.
            for alias in node.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in _modules() else base


@cache
def _graph() -> dict[str, frozenset[str]]:
    """Module -> the project modules it imports (the nearest enclosing module of each name)."""
    graph = {}
    for module, path in _modules().items():
        targets = set()
        for name in _imported(module, path):
            while name and name not in _modules():
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = frozenset(targets)
    return graph


def _cycles(graph: dict[str, frozenset[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while (member := stack.pop()) != node:
                    component.append(member)
                component.append(node)
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _top(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("package", PRODUCT)
def test_the_product_imports_nothing_under_lab_or_tests(package):
    reached = {
        f"{module} -> {target}"
        for module, targets in _graph().items()
        if _top(module) == package
        for target in targets
        if _top(target) in ("lab", "tests")
    }

    assert reached == set()


def test_every_folder_arrow_runs_down():
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in _graph().items()
        for target in targets
        if LAYERS[_top(target)] > LAYERS[_top(module)]
        or (LAYERS[_top(target)] == LAYERS[_top(module)] and _top(target) != _top(module))
    )

    assert upward == []


def test_no_two_files_import_each_other_directly_or_round_a_loop():
    assert _cycles(_graph()) == []


def test_the_cycle_check_finds_a_loop_through_a_package_init():
    graph = {
        "pkg": frozenset({"pkg.sub"}),
        "pkg.sub": frozenset({"pkg"}),
        "pkg.other": frozenset({"pkg.sub"}),
    }

    assert _cycles(graph) == [["pkg", "pkg.sub"]]


def test_the_console_reaches_the_services_only_through_their_public_apis():
    # No service code, so no database and no shortcut: what the console shows, curl could show.
    forbidden = ("order_service", "inventory_service", "shared.db", "shared.uow", "sqlalchemy")
    reached = {
        name
        for module, path in _modules().items()
        if _top(module) == "console"
        for name in _imported(module, path)
        if any(name == f or name.startswith(f"{f}.") for f in forbidden)
    }

    assert reached == set()


def test_the_order_service_never_imports_the_fault_injection():
    reached = {
        target
        for module, targets in _graph().items()
        if _top(module) == "order_service"
        for target in targets
        if _top(target) == "chaos"
    }

    assert reached == set()


@pytest.mark.parametrize("module", ["order_service/reconciler.py", "lab"])
def test_tools_build_objects_through_bootstrap_not_the_flask_app(module):
    paths = [ROOT / module] if module.endswith(".py") else sorted((ROOT / module).rglob("*.py"))
    text = "".join(p.read_text() for p in paths)

    assert "order_service.app import" not in text
    assert "inventory_service.app import" not in text
