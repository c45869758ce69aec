"""importActivities past its first chunk: a limit hit midway returns the job with the error, keeps the rows of
the committed chunks, and the job ends FAILED with UPLOAD_INTERRUPTED."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from app.services.runtime import Resources
from tests.api.test_ingestion_api import JOB
from tests.api.test_ingestion_upload_limits import import_with_limits
from tests.conftest import GraphQL
from tests.ingestion_support import approved_type
from tests.upload_readers import deposit_lines

Worker = Callable[[], Awaitable[int]]
FIELDS = "{ id status receiving errorCode error counts { total processed accepted } }"


async def test_row_limit_hit_after_the_first_chunks_keeps_them(
    resources: Resources, gql: GraphQL, run_worker: Worker
) -> None:
    # gql's client fixture stores the admin key import_with_limits sends.
    await approved_type(resources)
    content = b"".join(deposit_lines(5))
    payload = await import_with_limits(resources, "rows.jsonl", content, {"createMissingPersons": True},
                                       max_upload_rows=4, chunk_rows=2)
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("PAYLOAD_TOO_LARGE", "file")]
    job = payload["job"]
    assert job is not None and job["receiving"] is False and job["counts"]["total"] == 4
    await run_worker()
    done = (await gql(f"query($id: ID!) {{ ingestionJob(id: $id) {FIELDS} }}", {"id": job["id"]}))
    final = done["data"]["ingestionJob"]
    assert final["status"] == "FAILED" and final["errorCode"] == "UPLOAD_INTERRUPTED"
    assert final["counts"] == {"total": 4, "processed": 4, "accepted": 4}
    assert "after 4 rows" in final["error"] and "maxUploadRows" in final["error"]


async def test_a_finished_upload_is_not_receiving(resources: Resources, gql: GraphQL, run_worker: Worker) -> None:
    await approved_type(resources)
    payload = await import_with_limits(resources, "rows.jsonl", b"".join(deposit_lines(7)),
                                       {"createMissingPersons": True}, chunk_rows=2)
    assert payload["errors"] == [] and payload["job"]["counts"]["total"] == 7
    await run_worker()
    job = (await gql(JOB, {"id": payload["job"]["id"]}))["data"]["ingestionJob"]
    assert job["status"] == "SUCCEEDED" and job["counts"]["accepted"] == 7


async def test_resume_from_imports_the_rest_of_an_interrupted_upload_once(
    resources: Resources, gql: GraphQL, run_worker: Worker
) -> None:
    from tests.services.test_ingestion_resume import activities, keyless_lines

    await approved_type(resources)
    content = b"".join(keyless_lines(6))  # no idempotency keys: a row sent twice would be stored twice
    first = await import_with_limits(resources, "rows.jsonl", content, {"createMissingPersons": True},
                                     max_upload_rows=4, chunk_rows=2)
    assert [e["code"] for e in first["errors"]] == ["PAYLOAD_TOO_LARGE"]
    assert first["job"]["resumeFrom"] == 5 and "resumeFrom: 5" in first["errors"][0]["message"]
    rest = await import_with_limits(resources, "rows.jsonl", content, {"createMissingPersons": True,
                                                                       "resumeFrom": 5},
                                    max_upload_rows=4, chunk_rows=2)
    assert rest["errors"] == [] and rest["job"]["counts"]["total"] == 2 and rest["job"]["resumeFrom"] is None
    await run_worker()
    failed = (await gql(JOB, {"id": first["job"]["id"]}))["data"]["ingestionJob"]
    assert (failed["status"], failed["resumeFrom"], failed["counts"]["accepted"]) == ("FAILED", 5, 4)
    assert await activities(resources) == 6
