"""`activities keys create|list|revoke` against the test database, checked through the HTTP API."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from app.services import api_keys
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import bearer
from tests.conftest import child_env
from tests.stores import PROJECT_ROOT


def activities(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli.main", "keys", *args],
        env=child_env(settings) | {"COLUMNS": "200"},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_keys_cli_lifecycle(settings: Settings, resources: Resources, client: httpx.AsyncClient) -> None:
    created = activities(
        settings, "create", "--name", "nightly etl", "--scope", "read", "--scope", "activities:write", "-q"
    )
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("ak_")

    viewer = await client.post("/graphql", json={"query": "{ viewer { id name scopes } }"}, headers=bearer(secret))
    me = viewer.json()["data"]["viewer"]
    assert (me["name"], me["scopes"]) == ("nightly etl", ["READ", "ACTIVITIES_WRITE"])

    listed = activities(settings, "list")
    assert listed.returncode == 0 and me["id"] in listed.stdout and secret not in listed.stdout

    revoked = activities(settings, "revoke", me["id"])
    assert revoked.returncode == 0, revoked.stderr
    api_keys.CACHE.clear()  # this test process cached the key; other processes drop it within CACHE_SECONDS
    after = await client.post("/graphql", json={"query": "{ viewer { id } }"}, headers=bearer(secret))
    assert after.status_code == 401

    log = await client.post("/graphql", json={"query": "{ auditLog { edges { node { actor action target } } } }"})
    entries = [e["node"] for e in log.json()["data"]["auditLog"]["edges"]]
    assert [(e["action"], e["target"]) for e in entries] == [("apiKey.revoke", me["id"]), ("apiKey.create", me["id"])]
    assert all(e["actor"].startswith("cli:") for e in entries)


def test_keys_cli_needs_no_redis(settings: Settings, resources: Resources) -> None:
    """Keys live in PostgreSQL only: the command opens Resources without connecting the queue."""
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})  # nothing listens on port 1
    created = activities(down, "create", "--name", "while redis is down", "--scope", "read", "-q")
    assert created.returncode == 0, created.stderr
    listed = activities(down, "list")
    assert listed.returncode == 0 and "while redis is down" in listed.stdout


def test_keys_cli_refuses_unknown_scopes_and_ids(settings: Settings) -> None:
    bad_scope = activities(settings, "create", "--name", "x", "--scope", "root")
    assert bad_scope.returncode == 2 and "invalid choice" in bad_scope.stderr
    missing = activities(settings, "revoke", "00000000-0000-4000-8000-000000000099")
    assert missing.returncode == 2 and "No API key" in missing.stdout


def test_dev_key_is_created_once_kept_private_and_replaced_when_revoked(settings: Settings, tmp_path: Path) -> None:
    from app.cli.keys_cmd import DEV_KEY_FILE, ensure_dev_key
    from app.services.runtime import Resources

    local = settings.model_copy(update={"data_dir": tmp_path})
    token = ensure_dev_key(local)
    assert token.startswith("ak_")
    assert (tmp_path / DEV_KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert ensure_dev_key(local) == token

    async def revoke() -> None:
        resources = await Resources.open(settings)
        try:
            principal = await api_keys.authenticate(resources, token)
            assert principal is not None and principal.name == "local dev admin"
            await api_keys.revoke_key(resources, principal, uuid.UUID(principal.id))
        finally:
            await resources.close()

    asyncio.run(revoke())
    replacement = ensure_dev_key(local)
    assert replacement != token
    assert (tmp_path / DEV_KEY_FILE).read_text().strip() == replacement
