"""Job idempotency keys through GraphQL: scoped per API key, a different request under a used key is CONFLICT."""

from __future__ import annotations

import gzip

import httpx

from app.domain.access import Scope
from app.services.runtime import Resources
from tests.access_helpers import bearer, insert_key
from tests.api.test_ingestion_api import RECORD, upload
from tests.conftest import GraphQL
from tests.ingestion_support import approved_type, deposit

WRITER = (Scope.READ, Scope.ACTIVITIES_WRITE)


async def record(gql: GraphQL, token: str | None = None, **input_: object) -> dict[str, object]:
    headers = bearer(token) if token else {}
    body = await gql(RECORD, {"input": input_}, **headers)
    payload: dict[str, object] = body["data"]["recordActivities"]
    return payload


async def jobs_with_key(resources: Resources, key: str) -> int:
    async with resources.db.raw() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM ingestion_job WHERE idempotency_key = $1", key))


async def test_dry_run_job_is_not_returned_for_a_real_submit_with_other_activities(
    gql: GraphQL, resources: Resources
) -> None:
    await approved_type(resources)
    dry = await record(gql, activities=[deposit(key="a")], idempotencyKey="batch-1", dryRun=True)
    job_id = dry["job"]["rowId"]  # type: ignore[index]
    real = await record(gql, activities=[deposit(key="b")], idempotencyKey="batch-1", dryRun=False)
    assert real["job"] is None
    (error,) = real["errors"]  # type: ignore[misc]
    assert error["code"] == "CONFLICT" and error["field"] == "input.idempotencyKey"
    assert job_id in error["message"] and "dryRun" in error["message"] and "payload" in error["message"]
    assert await jobs_with_key(resources, "batch-1") == 1


async def test_each_option_and_the_payload_are_part_of_the_request(gql: GraphQL, resources: Resources) -> None:
    await approved_type(resources)
    first = await record(gql, activities=[deposit(key="a")], idempotencyKey="batch-2")
    job_id = first["job"]["id"]  # type: ignore[index]
    again = await record(gql, activities=[deposit(key="a")], idempotencyKey="batch-2")
    assert again["errors"] == [] and again["job"]["id"] == job_id  # type: ignore[index]
    other_payload = await record(gql, activities=[deposit(key="a", amount=7)], idempotencyKey="batch-2")
    assert [e["code"] for e in other_payload["errors"]] == ["CONFLICT"]  # type: ignore[attr-defined]
    assert "differs in payload)" in other_payload["errors"][0]["message"]  # type: ignore[index]
    other_option = await record(gql, activities=[deposit(key="a")], idempotencyKey="batch-2",
                                createMissingPersons=True)
    assert "differs in createMissingPersons)" in other_option["errors"][0]["message"]  # type: ignore[index]


async def test_another_api_key_reusing_the_key_gets_its_own_job(gql: GraphQL, resources: Resources) -> None:
    await approved_type(resources)
    mine = await record(gql, activities=[deposit()], idempotencyKey="shared")
    token = await insert_key(resources, WRITER, name="other writer")
    theirs = await record(gql, token, activities=[deposit(key="zz")], idempotencyKey="shared", dryRun=True)
    assert theirs["errors"] == [] and theirs["job"]["id"] != mine["job"]["id"]  # type: ignore[index]
    assert theirs["job"]["dryRun"] is True  # type: ignore[index]
    again = await record(gql, token, activities=[deposit(key="zz")], idempotencyKey="shared", dryRun=True)
    assert again["job"]["id"] == theirs["job"]["id"]  # type: ignore[index]
    assert await jobs_with_key(resources, "shared") == 2


async def test_upload_reuse_compares_the_file_bytes(client: httpx.AsyncClient, resources: Resources) -> None:
    await approved_type(resources)
    lines = b'{"activityType": "depositCheck", "person": {"email": "a@example.com"}}\n'
    content = gzip.compress(lines * 3)
    first = (await upload(client, "a.jsonl.gz", content, idempotencyKey="file-1"))["data"]["importActivities"]
    assert first["errors"] == []
    same = (await upload(client, "a.jsonl.gz", content, idempotencyKey="file-1"))["data"]["importActivities"]
    assert same["errors"] == [] and same["job"]["id"] == first["job"]["id"]
    other = (await upload(client, "a.jsonl.gz", gzip.compress(lines * 4), idempotencyKey="file-1"))
    errors = other["data"]["importActivities"]["errors"]
    assert [e["code"] for e in errors] == ["CONFLICT"] and first["job"]["rowId"] in errors[0]["message"]
    as_csv = (await upload(client, "a.csv", b"personEmail\na@example.com\n", idempotencyKey="file-1"))
    assert "format" in as_csv["data"]["importActivities"]["errors"][0]["message"]
    assert await jobs_with_key(resources, "file-1") == 1
