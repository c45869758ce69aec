"""Upload caps through GraphQL with tiny limits: maxUploadRows and the decompressed maxUploadBytes (gzip bomb)."""

from __future__ import annotations

import gzip
from typing import Any

import httpx
import pytest

from app.api.app import create_app
from app.services.runtime import Resources
from tests.access_helpers import ADMIN_KEY_ID, ADMIN_TOKEN, bearer, insert_key
from tests.api.test_ingestion_api import upload

LINE = b'{"activityType": "depositCheck", "person": {"email": "a@example.com"}, "occurredAt": "2026-11-02T10:00:00Z"}\n'


@pytest.fixture(autouse=True)
async def admin(resources: Resources) -> None:
    await insert_key(resources, token=ADMIN_TOKEN, key_id=ADMIN_KEY_ID, name="test admin")


async def import_with_limits(resources: Resources, name: str, content: bytes, input_: dict[str, Any] | None = None,
                             **limits: Any) -> dict[str, Any]:
    """Import through an app whose settings (and the Resources the services read them from) have `limits`."""
    settings = resources.settings.model_copy(
        update={"limits": resources.settings.limits.model_copy(update=limits)})
    small = Resources(settings=settings, db=resources.db, queue=resources.queue)
    transport = httpx.ASGITransport(app=create_app(settings, resources=small))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers=bearer(ADMIN_TOKEN)) as http:
        payload: dict[str, Any] = (await upload(http, name, content, **(input_ or {})))["data"]["importActivities"]
    return payload


async def nothing_kept(resources: Resources) -> bool:
    async with resources.db.raw() as conn:
        jobs = await conn.fetchval("SELECT count(*) FROM ingestion_job")
        chunks = await conn.fetchval("SELECT count(*) FROM ingestion_chunk")
    return bool(jobs == 0 and chunks == 0)


async def test_more_rows_than_max_upload_rows_is_refused_and_no_job_is_kept(resources: Resources) -> None:
    # Within the first chunk nothing was committed yet: all or nothing. (Past it, the committed chunks are
    # kept: tests/api/test_ingestion_streamed_upload.py.)
    payload = await import_with_limits(resources, "rows.jsonl", LINE * 5, max_upload_rows=4, chunk_rows=5)
    assert payload["job"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("PAYLOAD_TOO_LARGE", "file")]
    assert "maxUploadRows" in payload["errors"][0]["message"]
    assert await nothing_kept(resources)
    at_cap = await import_with_limits(resources, "rows.jsonl", LINE * 4, max_upload_rows=4, chunk_rows=2)
    assert at_cap["errors"] == [] and at_cap["job"]["counts"]["total"] == 4


async def test_gzip_that_inflates_past_max_upload_bytes_is_refused_and_no_job_is_kept(resources: Resources) -> None:
    bomb = gzip.compress(LINE * 20_000)  # ~2.2 MB of rows in a few KB: passes the HTTP size check
    limit = 100_000
    assert len(bomb) < limit < len(LINE) * 20_000
    payload = await import_with_limits(resources, "bomb.jsonl.gz", bomb, max_upload_bytes=limit)
    assert payload["job"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("PAYLOAD_TOO_LARGE", "file")]
    assert "maxUploadBytes" in payload["errors"][0]["message"]
    assert await nothing_kept(resources)
    fits = await import_with_limits(resources, "ok.jsonl.gz", gzip.compress(LINE * 100), max_upload_bytes=limit)
    assert fits["errors"] == [] and fits["job"]["counts"]["total"] == 100
