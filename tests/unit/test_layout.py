"""The layout's rules: no import runs upward, and the product never reaches the laboratory."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("order_service", "inventory_service")
LABORATORY = ("lab", "tests", "chaos.runner")


def _imports(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[:2] == ("chaos", "runner"):
            continue  # the chaos runner is laboratory, kept beside the extension it drives
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                yield relative, [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                yield relative, [node.module]


def _offending(package, forbidden):
    return [
        f"{path}: {name}"
        for path, names in _imports(package)
        for name in names
        if any(name == f or name.startswith(f"{f}.") for f in forbidden)
    ]


def test_shared_imports_no_service():
    assert _offending("shared", (*SERVICES, "chaos", "console", *LABORATORY)) == []


def test_the_console_reaches_the_services_only_through_their_public_apis():
    # No service code, so no database and no shortcut: what the console shows, curl could show.
    assert _offending("console", (*SERVICES, "shared.db", "shared.uow", "sqlalchemy")) == []


@pytest.mark.parametrize("package", [*SERVICES, "chaos", "console"])
def test_the_product_imports_nothing_from_the_laboratory(package):
    assert _offending(package, LABORATORY) == []


def test_the_order_service_never_imports_the_fault_injection():
    assert _offending("order_service", ("chaos",)) == []


@pytest.mark.parametrize("module", ["order_service/reconciler.py", "lab"])
def test_tools_build_objects_through_bootstrap_not_the_flask_app(module):
    paths = [ROOT / module] if module.endswith(".py") else sorted((ROOT / module).rglob("*.py"))
    text = "".join(p.read_text() for p in paths)

    assert "order_service.app import" not in text
    assert "inventory_service.app import" not in text
