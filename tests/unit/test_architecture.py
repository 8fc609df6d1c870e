"""The dependency rules of DESIGN.md and STYLE.md 1, checked by walking every import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("path", modules("portfolio"), ids=lambda p: str(p.relative_to(ROOT)))
def test_portfolio_knows_no_web_and_only_storage_knows_drivers(path: Path) -> None:
    tops = {top(n) for n in imports_of(path)}
    assert not tops & {"flask", "werkzeug", "service", "gunicorn"}, path
    if "storage" not in path.relative_to(ROOT / "portfolio").parts:
        assert not tops & {"sqlite3", "pymongo", "bson"}, path


@pytest.mark.parametrize("path", modules("schemas"), ids=lambda p: str(p.relative_to(ROOT)))
def test_schemas_import_none_of_our_other_packages(path: Path) -> None:
    tops = {top(n) for n in imports_of(path)}
    assert not tops & {"portfolio", "service", "lrs_adapters", "flask"}, path


@pytest.mark.parametrize("package", ["portfolio", "schemas", "lrs_adapters"])
def test_nothing_imports_service(package: str) -> None:
    for path in modules(package):
        assert "service" not in {top(n) for n in imports_of(path)}, path
