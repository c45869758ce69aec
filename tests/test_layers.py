"""Layers import one way (api, workers, cli -> services -> db -> domain), and only services open database sessions."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ("app.domain", "app.db", "app.services", "app.api", "app.cli", "app.bench", "app.embedded", "workers")
SHARED = ("app.settings", "app.logs", "app.tracing")  # configuration, logging and tracing: every layer may use them
ALLOWED: dict[str, tuple[str, ...]] = {
    "app/domain": ("app.domain",),
    "app/db": ("app.db", "app.domain", *SHARED),
    "app/services": ("app.services", "app.db", "app.domain", *SHARED),
    "app/api": ("app.api", "app.services", "app.domain", *SHARED),
    "workers": ("workers", "app.services", "app.domain", *SHARED),
}
"""Which of the project's packages each layer may import (`app` itself only for `__version__`)."""
IO_LIBRARIES = ("sqlalchemy", "sqlmodel", "asyncpg", "redis", "arq", "alembic", "strawberry", "graphql", "starlette",
                "httpx", "uvicorn", "psutil", "subprocess", "socket")
NO_DATABASE_HANDLE = ("app/api", "app/cli", "workers")
"""Callers of services: they pass Resources and never reach `.db` (sessions, connections, transactions)."""


def _modules(layer: str) -> Iterator[Path]:
    yield from sorted((ROOT / layer).rglob("*.py"))


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_a_layer_imports_only_the_layers_below_it(layer: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _modules(layer)
        for line, module in _imports(path)
        if _within(module, APP) and not _within(module, ALLOWED[layer])
    ]
    assert wrong == []


def test_the_domain_does_no_io() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _modules("app/domain")
        for line, module in _imports(path)
        if _within(module, IO_LIBRARIES) or _within(module, SHARED)
    ]
    assert wrong == []


def test_the_cli_reaches_the_database_package_only_to_migrate() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _modules("app/cli")
        for line, module in _imports(path)
        if _within(module, ("app.db",)) and module != "app.db.migrate"
    ]
    assert wrong == []


@pytest.mark.parametrize("layer", NO_DATABASE_HANDLE)
def test_callers_of_services_open_no_sessions(layer: str) -> None:
    """`resources.db.session()`, `.raw()` and the like belong to services, which own their transactions."""
    wrong = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _modules(layer)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and node.attr == "db"
    ]
    assert wrong == []


def test_the_rules_cover_every_package() -> None:
    """A new top-level package of app/ needs a place in these rules."""
    packages = {p.name for p in (ROOT / "app").iterdir() if p.is_dir() and not p.name.startswith("__")}
    known = {"domain", "db", "services", "api", "cli", "bench", "embedded", "migrations"}
    assert packages <= known, packages - known


def test_a_forbidden_import_is_found(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from app.api.schema import schema\nimport app.db.engine\nimport json\n")
    assert [m for _, m in _imports(module) if _within(m, APP)] == ["app.api.schema", "app.db.engine"]
