"""The fence: outside app/api/execution/internals.py, the project uses only public names of Strawberry and graphql-core.

Public means importable from a module the libraries document as their API (below) and not starting with `_`. Private
attributes (`obj._name`, or `getattr(obj, "_name")`) are refused everywhere outside internals.py, whatever the object,
except the few below that belong to the project or the standard library.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
INTERNALS = ROOT / "app" / "api" / "execution" / "internals.py"
LIBRARIES = ("strawberry", "graphql")
PUBLIC_MODULES = {
    # graphql-core: the packages whose __all__ make up its documented API.
    "graphql", "graphql.error", "graphql.execution", "graphql.language", "graphql.pyutils", "graphql.type",
    "graphql.utilities", "graphql.validation",
    # Strawberry: the modules its documentation imports from.
    "strawberry", "strawberry.asgi", "strawberry.dataloader", "strawberry.exceptions", "strawberry.extensions",
    "strawberry.file_uploads", "strawberry.http", "strawberry.permission", "strawberry.relay", "strawberry.scalars",
    "strawberry.schema.config", "strawberry.types", "strawberry.types.nodes",
    "strawberry.subscriptions",  # the protocol names its subscription docs pass to `subscription_protocols`
}
OWN_PRIVATE_ATTRIBUTES = {
    "_SubParsersAction",  # argparse's, only in annotations of the CLI's register() functions
    "_checked_type",  # app/api/activities/types.py: Activity's own static method
    "_notified",  # app/services/ingestion: the project's own listener callback
}


def sources() -> list[Path]:
    files = [*sorted((ROOT / "app").rglob("*.py")), *sorted((ROOT / "workers").rglob("*.py"))]
    return [f for f in files if f != INTERNALS and "migrations" not in f.parts]


def _library(module: str) -> bool:
    return module.split(".")[0] in LIBRARIES


def violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[str] = []
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and _library(node.module):
            if node.module not in PUBLIC_MODULES:
                found.append(f"{where}:{node.lineno}: from {node.module} import ... (not a public module)")
                continue
            exported = getattr(importlib.import_module(node.module), "__all__", None)
            for alias in node.names:
                private = alias.name.startswith("_")
                unlisted = node.module.startswith("graphql") and exported is not None and alias.name not in exported
                if private or unlisted:
                    found.append(f"{where}:{node.lineno}: {alias.name} from {node.module} (not exported)")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _library(alias.name) and alias.name not in PUBLIC_MODULES:
                    found.append(f"{where}:{node.lineno}: import {alias.name} (not a public module)")
        elif isinstance(node, ast.Attribute) and _is_private(node.attr):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                if node.attr not in OWN_PRIVATE_ATTRIBUTES:
                    found.append(f"{where}:{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("getattr", "hasattr", "setattr") and len(node.args) >= 2:
                name = node.args[1]
                if isinstance(name, ast.Constant) and isinstance(name.value, str) and _is_private(name.value):
                    found.append(f"{where}:{node.lineno}: {node.func.id}(..., {name.value!r})")
    return found


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_public_library_names(path: Path) -> None:
    assert violations(path) == []


def test_the_fence_sees_what_it_should(tmp_path: Path) -> None:
    """The checks above can fail: the pre-fence code had all of these."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from strawberry.schema.schema import validate_document\n"
        "from graphql.execution.collect_fields import collect_fields\n"
        "from graphql.type.scalars import serialize_int\n"
        "schema = strawberry_schema._schema\n"
        "name = getattr(context, '_provided_operation_name', None)\n"
    )
    assert len(violations(sample)) == 5
