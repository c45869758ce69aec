"""GET /exports/{id}/file: the same API key, ETag, Range resume, and the refusals (401/403/404/409/410/416)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from app.domain.access import Scope
from app.services.exports.jobs import remove_expired
from app.services.runtime import Resources
from tests.access_helpers import bearer, insert_key
from tests.api.timeline_support import T0, Row, create_person, create_type, insert, minutes
from tests.conftest import GraphQL
from tests.exports.support import EXPORT_JOB, export, start

Worker = Callable[[], Awaitable[int]]


async def _file(gql: GraphQL, resources: Resources, run_worker: Worker, rows: int = 200) -> dict[str, object]:
    type_id = await create_type(resources, "depositCheck")
    person = await create_person(resources, "ann@example.com")
    await insert(resources, [Row(person, type_id, T0 + minutes(i), f"branch {i}") for i in range(rows)])
    return await export(gql, run_worker, {"compression": "NONE"})


async def test_range_requests_resume_a_broken_download(
    gql: GraphQL, client: httpx.AsyncClient, resources: Resources, run_worker: Worker
) -> None:
    job = await _file(gql, resources, run_worker)
    url = str(job["downloadUrl"])
    whole = (await client.get(url)).content
    etag = f'"{job["sha256"]}"'
    first = await client.get(url, headers={"range": "bytes=0-99"})
    rest = await client.get(url, headers={"range": "bytes=100-", "if-range": etag})
    assert first.status_code == rest.status_code == 206
    assert first.headers["content-range"] == f"bytes 0-99/{len(whole)}" and first.headers["content-length"] == "100"
    assert first.content + rest.content == whole
    tail = await client.get(url, headers={"range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == whole[-10:]
    stale = await client.get(url, headers={"range": "bytes=100-", "if-range": '"another"'})
    assert stale.status_code == 200 and stale.content == whole
    past = await client.get(url, headers={"range": f"bytes={len(whole)}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(whole)}"
    several = await client.get(url, headers={"range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and several.content == whole


async def test_the_same_key_rules_as_graphql(
    gql: GraphQL, client: httpx.AsyncClient, resources: Resources, run_worker: Worker
) -> None:
    job = await _file(gql, resources, run_worker, rows=3)
    url = str(job["downloadUrl"])
    assert (await client.get(url, headers={"authorization": "Bearer nope"})).status_code == 401
    writer = await insert_key(resources, {Scope.ACTIVITIES_WRITE}, name="writer")
    assert (await client.get(url, headers=bearer(writer))).status_code == 403
    reader = await insert_key(resources, {Scope.READ}, name="reader")
    refused = await client.get(url, headers=bearer(reader))
    assert refused.status_code == 403 and refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await client.get("/exports/not-a-uuid/file")).status_code == 404
    assert (await client.get("/exports/00000000-0000-4000-8000-000000000009/file")).status_code == 404


async def test_no_file_before_success_and_410_once_expired(
    gql: GraphQL, client: httpx.AsyncClient, resources: Resources, run_worker: Worker
) -> None:
    queued = await start(gql, {})
    response = await client.get(f"/exports/{queued['id']}/file")
    assert response.status_code == 409 and response.json()["errors"][0]["extensions"]["code"] == "INVALID_STATE"
    job = await _file(gql, resources, run_worker, rows=3)
    async with resources.db.raw() as conn:
        await conn.execute("UPDATE export_job SET expires_at = now() - interval '1 second' WHERE id = $1::text::uuid",
                           job["id"])
    assert await remove_expired(resources) == 1
    assert (await client.get(str(job["downloadUrl"]))).status_code == 410
    assert not (Path(str(resources.settings.export_dir)) / f"export-{job['id']}").exists()
    after = (await gql(EXPORT_JOB, {"id": job["id"]}))["data"]["exportJob"]
    assert after["fileGone"] == "EXPIRED" and after["downloadUrl"] is None


async def test_a_file_changed_or_lost_on_disk_is_never_served_as_complete(
    gql: GraphQL, client: httpx.AsyncClient, resources: Resources, run_worker: Worker
) -> None:
    job = await _file(gql, resources, run_worker, rows=3)
    path = Path(str(resources.settings.export_dir)) / f"export-{job['id']}"
    path.write_bytes(path.read_bytes()[:-5])  # truncated behind the service's back
    assert (await client.get(str(job["downloadUrl"]))).status_code == 410
