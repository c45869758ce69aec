"""Export files: JSONL rows equal what the API shows, CSV (TSV, SCV) quoting and columns, gzip, sha256, persons."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson
import pytest

from app.domain.activity_types import FieldDataType as D
from app.services.runtime import Resources
from tests.api.timeline_support import T0, Row, create_person, create_type, insert, minutes
from tests.conftest import GraphQL
from tests.exports.support import EXPORT_PERSONS, download, export

Worker = Callable[[], Awaitable[int]]
SEARCH = """query($filter: ActivitySearch!) { activities(filter: $filter, first: 100) {
  edges { node { id: rowId typeVersion occurredAt ingestedAt primaryValue fields idempotencyKey
                 activityType { apiName } person { id: rowId email externalId } } } } }"""
NOTE = 'comma, "quote", new\nline, tab\t, unicode é✓😀, backslash \\'


async def _seed(resources: Resources) -> tuple[int, int]:
    deposit = await create_type(resources, "depositCheck", fields=[("amount", D.CURRENCY), ("note", D.TEXT),
                                                                   ("count", D.INTEGER), ("on", D.DATE)])
    webinar = await create_type(resources, "attendWebinar", primary=D.INTEGER, fields=[("live", D.BOOLEAN)])
    ann = await create_person(resources, "ann@example.com", "ext-ann")
    bob = await create_person(resources, None, "ext-bob")
    await insert(resources, [
        Row(ann, deposit, T0, "Main St", {"amount": 12.5, "note": NOTE, "count": 9007199254740993, "on": "2026-01-31"},
            key="k1"),
        Row(bob, deposit, T0 + minutes(1.000001), "", {"amount": 0, "note": ""}),
        Row(ann, webinar, T0 + minutes(2), 42, {"live": True}, key="w1"),
    ])
    return deposit, webinar


def _api_shape(node: dict[str, Any]) -> dict[str, Any]:
    person = node["person"]
    return {
        "id": node["id"], "activityType": node["activityType"]["apiName"], "typeVersion": node["typeVersion"],
        "occurredAt": node["occurredAt"], "ingestedAt": node["ingestedAt"], "personId": person["id"],
        "person": {"email": person["email"], "externalId": person["externalId"]},
        "primaryValue": node["primaryValue"], "fields": node["fields"], "idempotencyKey": node["idempotencyKey"],
    }


async def test_jsonl_rows_are_the_activities_as_the_api_shows_them(
    gql: GraphQL, client: httpx.AsyncClient, resources: Resources, run_worker: Worker
) -> None:
    await _seed(resources)
    job = await export(gql, run_worker, {})
    lines = (await download(client, job)).splitlines()
    exported = sorted((orjson.loads(line) for line in lines), key=lambda r: int(r["id"]))
    body = await gql(SEARCH, {"filter": {}})
    shown = sorted((_api_shape(e["node"]) for e in body["data"]["activities"]["edges"]), key=lambda r: int(r["id"]))
    assert exported == shown
    assert job["rows"] == job["totalRows"] == 3 and job["progress"] == 1.0
    assert exported[0]["fields"]["count"] == 9007199254740993  # beyond a double's integers: exact


async def test_gzip_file_size_and_sha256_are_what_is_served(
    gql: GraphQL, client: httpx.AsyncClient, resources: Resources, run_worker: Worker
) -> None:
    await _seed(resources)
    job = await export(gql, run_worker, {"compression": "GZIP"})
    response = await client.get(job["downloadUrl"])
    assert response.headers["content-type"] == "application/gzip"
    assert int(response.headers["content-length"]) == job["bytes"] == len(response.content)
    assert response.headers["etag"] == f'"{job["sha256"]}"' == f'"{hashlib.sha256(response.content).hexdigest()}"'
    assert len(gzip.decompress(response.content).splitlines()) == 3


@pytest.mark.parametrize(("fmt", "delimiter"), [("CSV", ","), ("TSV", "\t"), ("SCV", ";")])
async def test_csv_of_one_type_has_a_column_per_field_quoted_as_rfc_4180(
    gql: GraphQL, client: httpx.AsyncClient, resources: Resources, run_worker: Worker, fmt: str, delimiter: str
) -> None:
    await _seed(resources)
    job = await export(gql, run_worker, {"filter": {"activityTypes": ["depositCheck"]}, "format": fmt,
                                         "compression": "NONE"})
    text = (await download(client, job)).decode()
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    assert records[0] == ["id", "activityType", "typeVersion", "occurredAt", "ingestedAt", "personId", "personEmail",
                          "personExternalId", "primaryValue", "amount", "note", "count", "on", "idempotencyKey"]
    rows = sorted((dict(zip(records[0], r, strict=True)) for r in records[1:]), key=lambda r: int(r["id"]))
    assert rows[0]["note"] == NOTE and rows[0]["amount"] == "12.5" and rows[0]["count"] == "9007199254740993"
    assert rows[0]["on"] == "2026-01-31" and rows[0]["occurredAt"] == "2026-11-02T10:00:00+00:00"
    assert rows[1]["occurredAt"] == "2026-11-02T10:01:00.000060+00:00"
    assert rows[1]["personEmail"] == "" and rows[1]["idempotencyKey"] == "" and rows[1]["note"] == ""
    # An empty string is a quoted empty cell; a missing value (NULL) an empty one.
    assert f'{delimiter}""{delimiter}' in text


async def test_csv_of_several_types_carries_fields_as_json_and_columns_can_be_chosen(
    gql: GraphQL, client: httpx.AsyncClient, resources: Resources, run_worker: Worker
) -> None:
    await _seed(resources)
    job = await export(gql, run_worker, {"format": "CSV", "compression": "NONE",
                                         "columns": ["activityType", "primaryValue", "fields"]})
    records = list(csv.reader(io.StringIO((await download(client, job)).decode(), newline="")))
    assert records[0] == ["activityType", "primaryValue", "fields"]
    webinar = next(r for r in records[1:] if r[0] == "attendWebinar")
    assert webinar[1] == "42" and orjson.loads(webinar[2]) == {"live": True}


async def test_persons_export_all_or_those_with_matching_activities(
    gql: GraphQL, client: httpx.AsyncClient, resources: Resources, run_worker: Worker
) -> None:
    await _seed(resources)
    await create_person(resources, "idle@example.com")
    everyone = await export(gql, run_worker, {"compression": "NONE"}, EXPORT_PERSONS)
    rows = [orjson.loads(line) for line in (await download(client, everyone)).splitlines()]
    assert sorted(r["email"] or "" for r in rows) == ["", "ann@example.com", "idle@example.com"]
    assert set(rows[0]) == {"id", "email", "externalId", "firstName", "lastName", "createdAt", "updatedAt"}
    webinar = await export(gql, run_worker, {"compression": "NONE", "format": "CSV", "columns": ["email"],
                                             "filter": {"activityTypes": ["attendWebinar"]}}, EXPORT_PERSONS)
    assert (await download(client, webinar)).decode().splitlines() == ["email", "ann@example.com"]


async def test_filters_are_the_search_filters(
    gql: GraphQL, client: httpx.AsyncClient, resources: Resources, run_worker: Worker
) -> None:
    await _seed(resources)
    job = await export(gql, run_worker, {"compression": "NONE", "filter": {
        "activityTypes": ["depositCheck"], "personExternalIds": ["ext-ann"],
        "where": [{"field": "amount", "op": "GREATER_THAN", "value": 10}]}})
    rows = [orjson.loads(line) for line in (await download(client, job)).splitlines()]
    assert [r["idempotencyKey"] for r in rows] == ["k1"]
