"""The CLI as data teams and operators meet it: version, printed documents, one-line refusals, JSON key lists."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import graphql

from app.cli.import_cmd import rejections_query
from app.services.runtime import Resources
from app.settings import Settings
from tests.conftest import child_env
from tests.stores import PROJECT_ROOT


def activities(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli.main", *args], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_version_is_the_installed_distribution() -> None:
    done = activities("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"activities {version('custom-activities')}"


def test_printed_rejections_query_is_valid_against_the_schema() -> None:
    schema = graphql.build_schema((PROJECT_ROOT / "schema.graphql").read_text())
    document = graphql.parse(rejections_query("42"))
    assert graphql.validate(schema, document) == []


def test_import_to_a_closed_port_is_one_line_and_an_exit_code(tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"personId": "1", "activityType": "x"}\n')
    done = activities("import", str(rows), "--url", f"http://127.0.0.1:{closed_port()}/graphql")
    assert done.returncode == 4
    assert "Traceback" not in done.stdout + done.stderr
    assert "cannot reach" in done.stdout and len(done.stdout.strip().splitlines()) == 1


def test_settings_refusal_is_one_line_naming_the_variable(settings: Settings) -> None:
    env = child_env(settings) | {"ACTIVITIES_DB_POOL_SIZE": "many"}
    done = activities("serve", "--no-migrate", env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "ACTIVITIES_DB_POOL_SIZE" in lines[0], done.stderr


def test_empty_bootstrap_key_means_unset() -> None:
    assert Settings(bootstrap_admin_key="", _env_file=None).bootstrap_admin_key is None  # type: ignore[call-arg]


def test_unreachable_database_refuses_start_in_one_line(settings: Settings) -> None:
    env = child_env(settings) | {"ACTIVITIES_DATABASE_URL": f"postgresql://x@127.0.0.1:{closed_port()}/x"}
    for command in (("serve", "--no-migrate"), ("worker",)):
        done = activities(*command, env=env)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert "startup refused: cannot reach PostgreSQL at ACTIVITIES_DATABASE_URL" in done.stderr


async def test_production_without_any_key_refuses_start(settings: Settings, resources: Resources) -> None:
    env = child_env(settings) | {"ACTIVITIES_ENVIRONMENT": "prod", "ACTIVITIES_LOG_FORMAT": "text"}
    done = activities("serve", "--no-migrate", env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    refusals = [line for line in done.stderr.splitlines() if "startup refused" in line]
    assert len(refusals) == 1 and "without any active API key" in refusals[0]


async def test_production_without_secret_keys_refuses_start(settings: Settings, resources: Resources) -> None:
    env = child_env(settings) | {"ACTIVITIES_ENVIRONMENT": "prod", "ACTIVITIES_LOG_FORMAT": "text"}
    done = activities("worker", env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    refusals = [line for line in done.stderr.splitlines() if "startup refused" in line]
    assert len(refusals) == 1 and "ACTIVITIES_SECRET_KEYS is required in prod" in refusals[0]


async def test_keys_list_json_gives_ids_revoke_accepts(settings: Settings, resources: Resources) -> None:
    env = child_env(settings)
    created = activities("keys", "create", "--name", "loader", "--scope", "read", "-q", env=env)
    assert created.returncode == 0, created.stderr
    listed = activities("keys", "list", "--json", env=env)
    keys = json.loads(listed.stdout)
    assert [(k["name"], k["scopes"], k["revokedAt"]) for k in keys] == [("loader", ["read"], None)]
    assert created.stdout.strip() not in listed.stdout
    narrow = activities("keys", "list", env=env | {"COLUMNS": "60"})
    assert keys[0]["id"] in narrow.stdout  # whole on a narrow terminal, so it can be copied
    assert activities("keys", "revoke", keys[0]["id"], env=env).returncode == 0
    again = json.loads(activities("keys", "list", "--json", env=env).stdout)
    assert again[0]["revokedAt"] is not None
