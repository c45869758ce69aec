"""Real JavaScript clients (Apollo Client 3.14 with its persisted-queries link, apollo-upload-client 17,
graphql-sse 2.6, the graphql-http 1.23 audit) against a real API process: the protocols as the libraries speak them."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from app.db import person_repo
from app.services.runtime import Resources
from tests.access_helpers import insert_key
from tests.conftest import GraphQL, eventually, until_serving
from tests.stores import PROJECT_ROOT

CLIENTS = PROJECT_ROOT / "tests" / "clients" / "js"


@pytest.fixture(scope="module")
def node_clients() -> Path:
    """tests/clients/js with its locked packages installed (npm ci, once per lock file)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed for the JavaScript client tests")
    lock = CLIENTS / "package-lock.json"
    stamp = CLIENTS / "node_modules" / f".installed-{hashlib.sha256(lock.read_bytes()).hexdigest()[:16]}"
    if not stamp.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=CLIENTS, check=True,
                       timeout=600)
        stamp.touch()
    return CLIENTS


async def run_client(node_clients: Path, url: str, key: str, command: str) -> dict[str, Any]:
    await until_serving(url)
    node = await asyncio.create_subprocess_exec(
        "node", "clients.mjs", command, cwd=node_clients, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={"ACTIVITIES_TEST_URL": url, "ACTIVITIES_TEST_KEY": key},
    )
    stdout, stderr = await asyncio.wait_for(node.communicate(), 120)
    assert node.returncode == 0, stderr.decode()
    result: dict[str, Any] = json.loads(stdout)
    return result


async def test_apollo_persisted_queries_link(node_clients: Path, api_process: str, resources: Resources) -> None:
    key = await insert_key(resources)
    result = await run_client(node_clients, api_process, key, "apq")
    assert result["results"] == [100, 100, 100, 100]
    steps = [(s["method"], s["hasQuery"], s["hasHash"]) for s in result["sent"]]
    assert steps == [
        ("POST", False, True), ("POST", True, True), ("POST", False, True),  # unknown hash, register, hash only
        ("GET", False, True), ("POST", True, True), ("GET", False, True),  # the same with GET for hashed queries
    ]


async def test_apollo_upload_client(node_clients: Path, api_process: str, resources: Resources) -> None:
    key = await insert_key(resources)  # the link sends only Authorization: no preflight header of its own
    result = await run_client(node_clients, api_process, key, "upload")
    assert result["payload"]["errors"] == [] and result["payload"]["job"]["id"]
    assert result["sent"][0]["multipart"] is True


async def test_apollo_refetches_by_global_id_into_the_same_cache_entry(
    node_clients: Path, api_process: str, resources: Resources
) -> None:
    async with resources.db.raw() as conn, conn.transaction():
        await person_repo.create_missing(conn, [(f"js{n}@example.com", None, f"Js{n}", None) for n in range(3)])
    result = await run_client(node_clients, api_process, await insert_key(resources), "refetch")
    listed, refetched = result["listed"], result["refetched"]
    assert len(listed) == 3 and [p["id"] for p in refetched] == [p["id"] for p in listed]
    assert [p["email"] for p in refetched] == [p["email"] for p in listed]
    assert sorted(result["entities"]) == sorted(f"Person:{p['id']}" for p in listed)  # merged, not duplicated
    assert result["merged"] == {"__typename": "Person", "email": listed[0]["email"], "firstName": "Js0",
                                "rowId": refetched[0]["rowId"]}


async def test_graphql_sse_client_in_both_modes(
    node_clients: Path, api_process: str, resources: Resources, gql: GraphQL, run_worker: Callable[[], Awaitable[int]]
) -> None:
    """graphql-sse 2.6's createClient: single connection mode (PUT, GET stream, POST with operationId) and distinct
    connections mode, both subscribed to activityRecorded while another request records an activity."""
    from app.services.ingestion.progress import activity_channel
    from tests.ingestion_support import approved_type, deposit

    await approved_type(resources)
    client = asyncio.create_task(run_client(node_clients, api_process, await insert_key(resources), "sse"))

    async def both_listening() -> bool:
        if client.done():
            return True  # failed early: its result says why
        counts = await resources.queue.pubsub_numsub(activity_channel(resources))
        return bool(counts) and counts[0][1] >= 2

    await eventually(both_listening, timeout=60)
    recorded = await gql("""mutation($input: RecordActivitiesInput!) {
        recordActivities(input: $input) { errors { code } } }""",
                         {"input": {"activities": [deposit(key="sse")], "createMissingPersons": True}})
    assert recorded["data"]["recordActivities"]["errors"] == []
    await run_worker()
    result = await client
    assert result["version"] == {"data": {"version": "0.1.0"}}
    pushed = {"data": {"activityRecorded": {"primaryValue": "Main St branch"}}}
    assert result["viaSingle"] == pushed and result["viaDistinct"] == pushed
    # Reserve (201), stream (200), operations (202); distinct mode's streaming POST (200).
    assert {"PUT 201", "GET 200", "POST 202", "POST 200"} <= set(result["calls"])


async def test_graphql_http_audit(node_clients: Path, api_process: str, resources: Resources) -> None:
    """The GraphQL over HTTP spec as graphql-http's auditServer checks it: every MUST, SHOULD and MAY passes."""
    from app.domain.access import Scope

    key = await insert_key(resources, scopes=[Scope.READ])
    results = (await run_client(node_clients, api_process, key, "audit"))["results"]
    scores = {level: (sum(r["status"] == "ok" for r in results if r["level"] == level),
                      sum(r["level"] == level for r in results)) for level in ("MUST", "SHOULD", "MAY")}
    failing = [(r["name"], r["reason"]) for r in results if r["status"] != "ok"]
    assert scores == {"MUST": (13, 13), "SHOULD": (23, 23), "MAY": (25, 25)}, failing
