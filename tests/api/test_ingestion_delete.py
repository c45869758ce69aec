"""deleteIngestionJob through GraphQL: ended jobs only, creator or admin, cascades to rejections, audited."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from app.api.global_ids import to_global_id
from app.domain.access import Scope
from app.services.runtime import Resources
from tests.access_helpers import bearer, insert_key
from tests.api.test_ingestion_api import JOB, RECORD
from tests.conftest import GraphQL
from tests.ingestion_support import approved_type, deposit

Worker = Callable[[], Awaitable[int]]
DELETE = "mutation($id: ID!) { deleteIngestionJob(id: $id) { deletedJobId errors { code field message } } }"
WRITER = (Scope.READ, Scope.ACTIVITIES_WRITE)


def global_id(job_id: str) -> str:
    return to_global_id("IngestionJob", job_id)


async def submit(gql: GraphQL, token: str | None = None, **input_: Any) -> str:
    headers = bearer(token) if token else {}
    body = await gql(RECORD, {"input": {"activities": [deposit(key="ok"), deposit(key="bad", amount="x")],
                                        "createMissingPersons": True, **input_}}, **headers)
    job_id: str = body["data"]["recordActivities"]["job"]["rowId"]  # raw: the tests read its rows by it
    return job_id


async def delete(gql: GraphQL, job_id: str, token: str | None = None) -> dict[str, Any]:
    body = await gql(DELETE, {"id": job_id}, **(bearer(token) if token else {}))
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["deleteIngestionJob"]
    return payload


async def count(resources: Resources, sql: str, *args: Any) -> int:
    async with resources.db.raw() as conn:
        return int(await conn.fetchval(sql, *args))


async def test_creator_deletes_an_ended_job_with_its_rejections_and_it_is_audited(
    gql: GraphQL, resources: Resources, run_worker: Worker
) -> None:
    await approved_type(resources)
    token = await insert_key(resources, WRITER, name="writer")
    job_id = await submit(gql, token, idempotencyKey="nightly")
    await run_worker()
    assert await count(resources, "SELECT count(*) FROM ingestion_rejection WHERE job_id = $1::uuid", job_id) == 1
    assert await delete(gql, job_id, token) == {"deletedJobId": global_id(job_id), "errors": []}
    assert (await gql(JOB, {"id": job_id}))["data"]["ingestionJob"] is None
    assert await count(resources, "SELECT count(*) FROM ingestion_rejection") == 0
    assert await count(resources, "SELECT count(*) FROM ingestion_chunk") == 0
    assert await count(resources, "SELECT count(*) FROM activity") == 1  # what the job wrote stays
    async with resources.db.raw() as conn:
        entry = await conn.fetchrow("SELECT actor, target, details FROM audit_log WHERE action = 'ingestionJob.delete'")
    assert entry is not None and entry["target"] == f"ingestionJob:{job_id}" and "writer" in entry["actor"]
    details = entry["details"] if isinstance(entry["details"], dict) else json.loads(entry["details"])
    without_ids = re.sub(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", "", json.dumps(details))  # hex may spell "bad"
    assert details["rejectedRows"] == 1 and details["totalRows"] == 2 and "bad" not in without_ids
    assert await submit(gql, token, idempotencyKey="nightly") != job_id  # the key is free again


async def test_queued_job_is_refused_until_cancelled(gql: GraphQL, resources: Resources) -> None:
    await approved_type(resources)
    job_id = await submit(gql)
    refused = await delete(gql, job_id)
    assert refused["deletedJobId"] is None
    assert [e["code"] for e in refused["errors"]] == ["INVALID_STATE"] and "cancel" in refused["errors"][0]["message"]
    cancel = "mutation($id: ID!) { cancelIngestionJob(id: $id) { job { status } errors { code } } }"
    assert (await gql(cancel, {"id": job_id}))["data"]["cancelIngestionJob"]["job"]["status"] == "CANCELLED"
    assert (await delete(gql, job_id))["deletedJobId"] == global_id(job_id)
    assert await count(resources, "SELECT count(*) FROM ingestion_job") == 0


async def test_only_the_creator_or_an_admin_may_delete(gql: GraphQL, resources: Resources, run_worker: Worker) -> None:
    await approved_type(resources)
    owner = await insert_key(resources, WRITER, name="owner")
    stranger = await insert_key(resources, WRITER, name="stranger")
    job_id = await submit(gql, owner)
    await run_worker()
    forbidden = await delete(gql, job_id, stranger)
    assert forbidden["deletedJobId"] is None and [e["code"] for e in forbidden["errors"]] == ["FORBIDDEN"]
    assert await count(resources, "SELECT count(*) FROM ingestion_job") == 1
    types_admin = await insert_key(resources, (Scope.ACTIVITIES_WRITE, Scope.TYPES_ADMIN), name="types admin")
    assert (await delete(gql, job_id, types_admin))["deletedJobId"] == global_id(job_id)


async def test_unknown_or_malformed_id_is_not_found(gql: GraphQL, resources: Resources) -> None:
    for job_id in ("00000000-0000-4000-8000-000000000009", "nope"):
        missing = await delete(gql, job_id)
        assert [e["code"] for e in missing["errors"]] == ["NOT_FOUND"]
