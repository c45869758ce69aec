"""Ingestion through GraphQL over HTTP: inline batches, multipart imports, rejections, cancel, replay."""

from __future__ import annotations

import gzip
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from app.services.runtime import Resources
from tests.conftest import GraphQL
from tests.ingestion_support import approved_type, deposit, deposit_definition, put_type

Worker = Callable[[], Awaitable[int]]

JOB_FIELDS = """id rowId status source format dryRun replayOf progress receiving errorCode error resumeFrom
  counts { total processed accepted rejected duplicates }
  timings { createdAt startedAt finishedAt durationSeconds }
  rejections(first: 50) { totalCount edges { node { rowNumber code field message record issues { code field } } } }"""
RECORD = f"""mutation($input: RecordActivitiesInput!) {{
  recordActivities(input: $input) {{ job {{ {JOB_FIELDS} }} errors {{ code field message }} }} }}"""
IMPORT = f"""mutation($input: ImportActivitiesInput!) {{
  importActivities(input: $input) {{ job {{ {JOB_FIELDS} }} errors {{ code field message }} }} }}"""
JOB = f"query($id: ID!) {{ ingestionJob(id: $id) {{ {JOB_FIELDS} }} }}"


async def upload(client: httpx.AsyncClient, name: str, content: bytes, **input_: Any) -> dict[str, Any]:
    operations = {"query": IMPORT, "variables": {"input": {"file": None, **input_}}}
    response = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.input.file"]})},
        files={"0": (name, content, "application/octet-stream")},
        headers={"apollo-require-preflight": "true"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def job_after_worker(gql: GraphQL, run_worker: Worker, job_id: str) -> dict[str, Any]:
    await run_worker()
    body = await gql(JOB, {"id": job_id})
    job: dict[str, Any] = body["data"]["ingestionJob"]
    return job


async def test_record_activities_then_read_job_and_rejections(
    gql: GraphQL, resources: Resources, run_worker: Worker
) -> None:
    await approved_type(resources)
    activities = [deposit(key="a"), deposit(key="b", amount="lots"), deposit(key="a")]
    body = await gql(RECORD, {"input": {"activities": activities, "createMissingPersons": True}})
    payload = body["data"]["recordActivities"]
    assert payload["errors"] == [] and payload["job"]["status"] == "QUEUED"
    job = await job_after_worker(gql, run_worker, payload["job"]["id"])
    assert job["status"] == "COMPLETED_WITH_ERRORS"
    assert job["counts"] == {"total": 3, "processed": 3, "accepted": 1, "rejected": 1, "duplicates": 1}
    assert job["progress"] == 1
    (edge,) = job["rejections"]["edges"]
    assert edge["node"]["rowNumber"] == 2 and edge["node"]["field"] == "fields.amount"
    assert edge["node"]["code"] in ("INVALID_CURRENCY", "INVALID_NUMBER", "WRONG_TYPE")
    assert json.loads(edge["node"]["record"])["idempotencyKey"] == "b"


async def test_record_activities_over_the_cap_is_a_typed_error(gql: GraphQL, resources: Resources) -> None:
    cap = resources.settings.limits.max_inline_activities
    body = await gql(RECORD, {"input": {"activities": [deposit(key=None)] * (cap + 1)}})
    assert body["data"]["recordActivities"]["job"] is None
    assert body["data"]["recordActivities"]["errors"][0]["code"] == "LIMIT_EXCEEDED"


async def test_same_job_idempotency_key_returns_the_existing_job(gql: GraphQL, resources: Resources) -> None:
    await approved_type(resources)
    variables = {"input": {"activities": [deposit()], "idempotencyKey": "batch-7"}}
    first = (await gql(RECORD, variables))["data"]["recordActivities"]["job"]["id"]
    second = (await gql(RECORD, variables))["data"]["recordActivities"]["job"]["id"]
    assert first == second


async def test_import_gzip_csv_with_type_for_the_whole_file(
    client: httpx.AsyncClient, gql: GraphQL, resources: Resources, run_worker: Worker
) -> None:
    await approved_type(resources)
    csv_text = (
        "personEmail,occurredAt,primaryValue,idempotencyKey,amount,currency\n"
        "ann@example.com,2026-11-02T10:00:00Z,Main St,k1,120.5,USD\n"
        "bob@example.com,2026-11-02T11:00:00Z,\"Elm, St\",k2,99,EUR\n"
        "bad row with,too,few\n"
    )
    body = await upload(client, "deposits.csv.gz", gzip.compress(csv_text.encode()),
                        activityType="depositCheck", createMissingPersons=True)
    payload = body["data"]["importActivities"]
    assert payload["errors"] == [] and payload["job"]["format"] == "CSV"
    job = await job_after_worker(gql, run_worker, payload["job"]["id"])
    assert job["counts"] == {"total": 3, "processed": 3, "accepted": 2, "rejected": 1, "duplicates": 0}
    assert job["rejections"]["edges"][0]["node"]["code"] == "WRONG_COLUMN_COUNT"
    assert job["rejections"]["edges"][0]["node"]["rowNumber"] == 4


async def test_import_without_a_known_format_is_a_typed_error(client: httpx.AsyncClient, resources: Resources) -> None:
    body = await upload(client, "data.bin", b"{}\n")
    assert body["data"]["importActivities"]["errors"][0]["code"] == "REQUIRED"


async def test_dry_run_writes_nothing(gql: GraphQL, resources: Resources, run_worker: Worker) -> None:
    await approved_type(resources)
    body = await gql(RECORD, {"input": {"activities": [deposit(), deposit(key="x", amount=None)], "dryRun": True,
                                        "createMissingPersons": True}})
    job = await job_after_worker(gql, run_worker, body["data"]["recordActivities"]["job"]["id"])
    assert job["dryRun"] is True and job["counts"]["accepted"] == 1 and job["counts"]["rejected"] == 1
    async with resources.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM activity") == 0
        assert await conn.fetchval("SELECT count(*) FROM person") == 0


async def test_replay_after_the_type_is_fixed(gql: GraphQL, resources: Resources, run_worker: Worker) -> None:
    await approved_type(resources, deposit_definition(amount_max=100))
    body = await gql(RECORD, {"input": {"activities": [deposit(key="s", amount=50), deposit(key="b", amount=500)],
                                        "createMissingPersons": True}})
    job = await job_after_worker(gql, run_worker, body["data"]["recordActivities"]["job"]["id"])
    assert job["counts"]["rejected"] == 1
    assert job["rejections"]["edges"][0]["node"]["code"] == "OUT_OF_RANGE"
    async with resources.db.raw() as conn:
        await put_type(conn, deposit_definition(amount_max=1000))
    replay = await gql("mutation($id: ID!) { replayRejections(jobId: $id) { job { id replayOf } errors { code } } }",
                       {"id": job["id"]})
    new = replay["data"]["replayRejections"]["job"]
    assert new["replayOf"] == job["id"]
    replayed = await job_after_worker(gql, run_worker, new["id"])
    assert replayed["status"] == "SUCCEEDED" and replayed["counts"]["accepted"] == 1
    again = await gql("mutation($id: ID!) { replayRejections(jobId: $id) { job { id } errors { code } } }",
                      {"id": job["id"]})
    assert again["data"]["replayRejections"]["errors"][0]["code"] == "INVALID_STATE"
    async with resources.db.raw() as conn:
        assert await conn.fetchval("SELECT type_version FROM activity WHERE idempotency_key = 'b'") == 2


async def test_cancel_a_queued_job(gql: GraphQL, resources: Resources, run_worker: Worker) -> None:
    await approved_type(resources)
    body = await gql(RECORD, {"input": {"activities": [deposit()], "createMissingPersons": True}})
    job_id = body["data"]["recordActivities"]["job"]["id"]
    cancel = await gql("mutation($id: ID!) { cancelIngestionJob(id: $id) { job { status } errors { code } } }",
                       {"id": job_id})
    assert cancel["data"]["cancelIngestionJob"]["job"]["status"] == "CANCELLED"
    job = await job_after_worker(gql, run_worker, job_id)
    assert job["status"] == "CANCELLED" and job["counts"]["processed"] == 0
    again = await gql("mutation($id: ID!) { cancelIngestionJob(id: $id) { job { status } errors { code } } }",
                      {"id": job_id})
    assert again["data"]["cancelIngestionJob"]["errors"][0]["code"] == "INVALID_STATE"


async def test_ingestion_jobs_pages_newest_first(gql: GraphQL, resources: Resources) -> None:
    await approved_type(resources)
    for i in range(3):
        await gql(RECORD, {"input": {"activities": [deposit(key=f"k{i}")], "idempotencyKey": f"j{i}"}})
    query = "query($after: String) { ingestionJobs(first: 2, after: $after) { edges { cursor node { idempotencyKey } } pageInfo { hasNextPage endCursor } } }"  # noqa: E501
    page = (await gql(query))["data"]["ingestionJobs"]
    assert [e["node"]["idempotencyKey"] for e in page["edges"]] == ["j2", "j1"] and page["pageInfo"]["hasNextPage"]
    rest = (await gql(query, {"after": page["pageInfo"]["endCursor"]}))["data"]["ingestionJobs"]
    assert [e["node"]["idempotencyKey"] for e in rest["edges"]] == ["j0"] and not rest["pageInfo"]["hasNextPage"]


async def test_per_key_concurrency_limit(gql: GraphQL, resources: Resources) -> None:
    await approved_type(resources)
    limit = resources.settings.ingestion_concurrency_per_key
    for i in range(limit):
        body = await gql(RECORD, {"input": {"activities": [deposit(key=f"k{i}")], "idempotencyKey": f"c{i}"}})
        assert body["data"]["recordActivities"]["errors"] == []
    refused = await gql(RECORD, {"input": {"activities": [deposit()]}})
    assert refused["data"]["recordActivities"]["errors"][0]["code"] == "LIMIT_EXCEEDED"
    again = await gql(RECORD, {"input": {"activities": [deposit(key="k0")], "idempotencyKey": "c0"}})
    assert again["data"]["recordActivities"]["errors"] == []  # the same job, returned again
