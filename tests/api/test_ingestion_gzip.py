"""Gzip uploads end where the stream says: a truncated stream fails the upload with TRUNCATED_FILE (keeping and
saying what was committed), and concatenated gzip members are all read."""

from __future__ import annotations

import gzip
from collections.abc import Awaitable, Callable

import pytest

from app.services.runtime import Resources
from tests.api.test_ingestion_api import JOB
from tests.api.test_ingestion_upload_limits import import_with_limits, nothing_kept
from tests.conftest import GraphQL
from tests.ingestion_support import approved_type
from tests.upload_readers import deposit_lines

Worker = Callable[[], Awaitable[int]]


async def test_a_truncated_gzip_fails_the_upload_and_keeps_only_whole_committed_chunks(
    resources: Resources, gql: GraphQL, run_worker: Worker
) -> None:
    # gql's client fixture stores the admin key import_with_limits sends.
    await approved_type(resources)
    packed = gzip.compress(b"".join(deposit_lines(3000)), compresslevel=1)
    cut = packed[: len(packed) * 2 // 3]  # the first two thirds, as a broken download leaves it
    payload = await import_with_limits(resources, "rows.jsonl.gz", cut, {"createMissingPersons": True},
                                       chunk_rows=500)
    [error] = payload["errors"]
    assert (error["code"], error["field"]) == ("TRUNCATED_FILE", "file")
    job = payload["job"]
    committed = job["counts"]["total"]
    assert committed > 0 and committed % 500 == 0 and f"{committed:,} rows" in error["message"]
    assert job["errorCode"] == "UPLOAD_INTERRUPTED" and "gzip stream ends early" in job["error"]
    await run_worker()
    final = (await gql(JOB, {"id": job["id"]}))["data"]["ingestionJob"]
    assert final["status"] == "FAILED" and final["errorCode"] == "UPLOAD_INTERRUPTED"
    assert final["counts"] == {"total": committed, "processed": committed, "accepted": committed, "rejected": 0,
                               "duplicates": 0}


@pytest.mark.usefixtures("client")  # it stores the admin key import_with_limits sends
async def test_a_truncated_gzip_within_the_first_chunk_keeps_nothing(resources: Resources) -> None:
    await approved_type(resources)
    packed = gzip.compress(b"".join(deposit_lines(300)))
    payload = await import_with_limits(resources, "rows.jsonl.gz", packed[:-9], {"createMissingPersons": True})
    assert payload["job"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("TRUNCATED_FILE", "file")]
    assert await nothing_kept(resources)


@pytest.mark.usefixtures("client")
async def test_concatenated_gzip_members_are_all_read(resources: Resources) -> None:
    await approved_type(resources)
    lines = deposit_lines(900)
    packed = b"".join(gzip.compress(b"".join(lines[i:i + 300])) for i in range(0, 900, 300))  # `cat a.gz b.gz c.gz`
    payload = await import_with_limits(resources, "rows.jsonl.gz", packed, {"createMissingPersons": True},
                                       chunk_rows=200)
    assert payload["errors"] == [] and payload["job"]["counts"]["total"] == 900
