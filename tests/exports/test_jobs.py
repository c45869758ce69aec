"""Export jobs through GraphQL: typed refusals, quotas, a key's own exports, cancel, delete, erasure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from app.domain.access import Scope
from app.domain.activity_types import FieldDataType as D
from app.services.runtime import Resources
from tests.access_helpers import bearer, insert_key
from tests.api.timeline_support import T0, Row, create_person, create_type, insert
from tests.conftest import GraphQL
from tests.exports.support import EXPORT_ACTIVITIES, EXPORT_JOB, JOB_FIELDS, export, finished, start

Worker = Callable[[], Awaitable[int]]
JOBS = "query($first: Int) { exportJobs(first: $first) { edges { node { id: rowId status } } } }"
CANCEL = f"mutation($id: ID!) {{ cancelExportJob(id: $id) {{ job {{ {JOB_FIELDS} }} errors {{ code field }} }} }}"
DELETE = "mutation($id: ID!) { deleteExportJob(id: $id) { deletedJobId errors { code field } } }"
ERASE = "mutation($id: ID!) { deletePerson(id: $id) { errors { code } } }"


async def _errors(gql: GraphQL, input: dict[str, Any], **headers: str) -> list[dict[str, Any]]:
    body = await gql(EXPORT_ACTIVITIES, {"input": input}, **headers)
    payload = body["data"]["exportActivities"]
    assert payload["job"] is None
    errors: list[dict[str, Any]] = payload["errors"]
    return errors


async def test_bad_requests_are_typed_errors_with_every_issue(gql: GraphQL, resources: Resources) -> None:
    await create_type(resources, "depositCheck", fields=[("amount", D.CURRENCY)])
    await create_type(resources, "attendWebinar")
    errors = await _errors(gql, {
        "filter": {"activityTypes": ["depositCheck", "nope"], "occurredAfter": "2026-02-01T00:00:00Z",
                   "occurredBefore": "2026-01-01T00:00:00Z"},
        "columns": ["id", "bogus", "id"]})
    assert {(e["code"], e["field"]) for e in errors} == {
        ("OUT_OF_RANGE", "input.filter.occurredBefore"), ("UNKNOWN_ACTIVITY_TYPE", "input.filter.activityTypes.1"),
        ("UNKNOWN_FIELD", "input.columns.1"), ("DUPLICATE", "input.columns.2")}
    wrong_op = await _errors(gql, {"filter": {"activityTypes": ["depositCheck"],
                                              "where": [{"field": "amount", "op": "CONTAINS", "value": "1"}]}})
    assert [(e["code"], e["field"]) for e in wrong_op] == [("INVALID_OPERATOR", "input.filter.where.0.op")]
    several = await _errors(gql, {"format": "CSV", "columns": ["id", "fields.amount"],
                                  "filter": {"activityTypes": ["depositCheck", "attendWebinar"]}})
    assert [(e["code"], e["field"]) for e in several] == [("INVALID", "input.columns.1")]
    unknown_field = await _errors(gql, {"format": "CSV", "columns": ["fields.nope"],
                                        "filter": {"activityTypes": ["depositCheck"]}})
    assert [(e["code"], e["field"]) for e in unknown_field] == [("UNKNOWN_FIELD", "input.columns.0")]
    jsonl_field = await _errors(gql, {"columns": ["fields.amount"], "filter": {"activityTypes": ["depositCheck"]}})
    assert [e["code"] for e in jsonl_field] == ["INVALID"]
    async with resources.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM export_job") == 0


async def test_quota_of_unfinished_exports_per_key(gql: GraphQL, resources: Resources) -> None:
    cap = resources.settings.limits.max_running_exports_per_key
    for _ in range(cap):
        await start(gql, {})
    errors = await _errors(gql, {})
    assert [e["code"] for e in errors] == ["LIMIT_EXCEEDED"]


async def test_a_key_sees_and_changes_only_its_own_exports_unless_admin(
    gql: GraphQL, resources: Resources, run_worker: Worker
) -> None:
    reader = bearer(await insert_key(resources, {Scope.READ}, name="reader"))
    other = bearer(await insert_key(resources, {Scope.READ}, name="other"))
    body = await gql(EXPORT_ACTIVITIES, {"input": {}}, **reader)
    job_id = body["data"]["exportActivities"]["job"]["id"]
    assert (await gql(EXPORT_JOB, {"id": job_id}, **other))["data"]["exportJob"] is None
    assert (await gql(JOBS, {}, **other))["data"]["exportJobs"]["edges"] == []
    assert (await gql(CANCEL, {"id": job_id}, **other))["data"]["cancelExportJob"]["errors"][0]["code"] == "FORBIDDEN"
    assert (await gql(EXPORT_JOB, {"id": job_id}, **reader))["data"]["exportJob"]["status"] == "QUEUED"
    admin_view = await gql(JOBS, {})  # the fixtures' key is an admin
    assert [e["node"]["id"] for e in admin_view["data"]["exportJobs"]["edges"]] == [job_id]


async def test_cancel_a_queued_export_then_delete_it(gql: GraphQL, resources: Resources, run_worker: Worker) -> None:
    job = await start(gql, {})
    still_running = await gql(DELETE, {"id": job["id"]})
    assert still_running["data"]["deleteExportJob"]["errors"][0]["code"] == "INVALID_STATE"
    cancelled = (await gql(CANCEL, {"id": job["id"]}))["data"]["cancelExportJob"]["job"]
    assert cancelled["status"] == "CANCELLED"
    await run_worker()  # the queued arq job finds nothing to do
    assert (await finished(gql, run_worker, job["id"]))["status"] == "CANCELLED"
    deleted = await gql(DELETE, {"id": job["id"]})
    assert deleted["data"]["deleteExportJob"] == {"deletedJobId": job["globalId"], "errors": []}
    assert (await gql(EXPORT_JOB, {"id": job["id"]}))["data"]["exportJob"] is None
    async with resources.db.raw() as conn:
        assert await conn.fetchval("SELECT action FROM audit_log ORDER BY id DESC LIMIT 1") == "exportJob.delete"


async def test_deleting_a_finished_export_removes_its_file(
    gql: GraphQL, client: httpx.AsyncClient, resources: Resources, run_worker: Worker
) -> None:
    job = await export(gql, run_worker, {})
    path = Path(str(resources.settings.export_dir)) / f"export-{job['id']}"
    assert path.exists()
    await gql(DELETE, {"id": job["id"]})
    assert not path.exists()
    assert (await client.get(job["downloadUrl"])).status_code == 404


async def test_erasing_a_person_removes_export_files_that_may_hold_them(
    gql: GraphQL, client: httpx.AsyncClient, resources: Resources, run_worker: Worker
) -> None:
    type_id = await create_type(resources, "depositCheck")
    ann = await create_person(resources, "ann@example.com")
    bob = await create_person(resources, "bob@example.com")
    await insert(resources, [Row(ann, type_id, T0, "a"), Row(bob, type_id, T0, "b")])
    everyone = await export(gql, run_worker, {})
    only_bob = await export(gql, run_worker, {"filter": {"personEmails": ["BOB@example.com"]}})
    assert (await gql(ERASE, {"id": str(ann)}))["data"]["deletePerson"]["errors"] == []
    gone = (await gql(EXPORT_JOB, {"id": everyone["id"]}))["data"]["exportJob"]
    assert gone["fileGone"] == "ERASED" and gone["downloadUrl"] is None
    assert (await client.get(everyone["downloadUrl"])).status_code == 410
    assert not (Path(str(resources.settings.export_dir)) / f"export-{everyone['id']}").exists()
    assert (await client.get(only_bob["downloadUrl"])).status_code == 200


async def test_an_erasure_flags_running_exports_to_start_over(
    gql: GraphQL, resources: Resources, run_worker: Worker
) -> None:
    job = await start(gql, {})
    async with resources.db.raw() as conn:  # as if a worker were exporting when the erasure committed
        await conn.execute("UPDATE export_job SET status = 'RUNNING' WHERE id = $1::text::uuid", job["id"])
    ann = await create_person(resources, "ann@example.com")
    await gql(ERASE, {"id": str(ann)})
    async with resources.db.raw() as conn:
        assert await conn.fetchval("SELECT restart_requested FROM export_job WHERE id = $1::text::uuid", job["id"])
    done = await finished(gql, run_worker, job["id"])
    assert done["status"] == "SUCCEEDED" and done["fileGone"] is None
