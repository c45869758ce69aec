"""Round trip: an exported JSONL file imported with importActivities gives identical timelines."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson

from app.domain.activity_types import ActivityTypeDefinition, FieldSpec
from app.domain.activity_types import FieldDataType as D
from app.services.runtime import Resources
from tests.conftest import GraphQL
from tests.exports.support import download, export
from tests.ingestion_support import approved_type

Worker = Callable[[], Awaitable[int]]
IMPORT = """mutation($input: ImportActivitiesInput!) {
  importActivities(input: $input) { job { id } errors { code field message } } }"""
JOB = """query($id: ID!) { ingestionJob(id: $id) { status counts { accepted rejected }
  rejections(first: 5) { edges { node { code field message } } } } }"""
TIMELINES = """query { persons(first: 10) { edges { node { email externalId
  timeline(first: 20) { edges { node { activityType { apiName } typeVersion occurredAt primaryValue fields
                                        idempotencyKey } } } } } } }"""
EVERY_TYPE = ActivityTypeDefinition(
    api_name="everything", name="Everything", trigger_name="Does everything", filter_name="Did everything",
    primary_field=FieldSpec("title", "Title", D.STRING, required=True),
    fields=tuple(FieldSpec(t.value.lower(), t.value.title(), t) for t in D),
)
VALUES: list[dict[str, Any]] = [
    {"string": "Zürich ✓ 😀 \"q\" \\ tab\t", "text": "line 1\nline 2, \"quoted\"\r\n", "boolean": True,
     "integer": 9007199254740993, "float": 0.1, "currency": 1234.56, "date": "2024-02-29",
     "datetime": "2024-02-29T23:59:59.123456+00:00", "email": "emile.o+tag@example.com", "phone": "+1 555 0100",
     "link": "https://example.com/a?b=c&d=é"},
    {"boolean": False, "integer": -9223372036854775808, "float": -1.5e-7, "currency": 0},
    {},
]


async def _import(client: httpx.AsyncClient, gql: GraphQL, run_worker: Worker, data: bytes) -> dict[str, Any]:
    operations = {"query": IMPORT, "variables": {"input": {"file": None, "format": "JSONL",
                                                            "createMissingPersons": True}}}
    response = await client.post(
        "/graphql", data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.input.file"]})},
        files={"0": ("in.jsonl", data, "application/octet-stream")}, headers={"apollo-require-preflight": "true"})
    payload = response.json()["data"]["importActivities"]
    assert payload["errors"] == [], payload
    await run_worker()
    job: dict[str, Any] = (await gql(JOB, {"id": payload["job"]["id"]}))["data"]["ingestionJob"]
    return job


async def _timelines(gql: GraphQL) -> list[Any]:
    body = await gql(TIMELINES)
    assert "errors" not in body, body
    nodes = [e["node"] for e in body["data"]["persons"]["edges"]]
    return sorted((n for n in nodes), key=lambda n: (n["email"] or "", n["externalId"] or ""))


async def test_exported_jsonl_imports_into_a_fresh_database_as_identical_timelines(
    gql: GraphQL, client: httpx.AsyncClient, resources: Resources, run_worker: Worker
) -> None:
    await approved_type(resources, EVERY_TYPE)
    source = b"".join(orjson.dumps({
        "activityType": "everything", "occurredAt": f"2026-0{1 + i % 3}-0{1 + i}T10:00:0{i}.00{i}Z",
        "person": [{"email": "ann@example.com"}, {"externalId": "crm-ünïcode-1"},
                   {"email": "bob@example.com", "externalId": "crm-2"}][i % 3],
        "primaryValue": f"title {i} ✓", "fields": values,
        **({"idempotencyKey": f"key-{i}-é"} if i != 1 else {}),
    }) + b"\n" for i, values in enumerate(VALUES * 2))
    first = await _import(client, gql, run_worker, source)
    assert first["counts"] == {"accepted": 6, "rejected": 0}, first["rejections"]
    before = await _timelines(gql)
    job = await export(gql, run_worker, {"compression": "GZIP"})
    exported = await download(client, job)

    async with resources.db.raw() as conn:  # a fresh database: the type stays, everything recorded goes
        await conn.execute("TRUNCATE activity, person, person_email, person_external_id, ingestion_job CASCADE")
    again = await _import(client, gql, run_worker, exported)
    assert again["counts"] == {"accepted": 6, "rejected": 0}, again["rejections"]
    assert await _timelines(gql) == before
    duplicate = await _import(client, gql, run_worker, exported)  # idempotency keys came along
    assert duplicate["counts"]["accepted"] == 1  # only the row exported without a key is new again
