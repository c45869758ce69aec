"""The malformed-input corpus (tests/corpus/malformed): every file through the real upload path and a worker.

Each file is sent as a GraphQL multipart `importActivities` request to the app, then an arq worker (real Redis
and PostgreSQL) processes its job. manifest.json says, per file, why it is there and what must come out: the
upload's error codes, the job's status and counts (total, accepted, rejected, duplicates) and the code of every
rejected row. Nothing may be lost silently: the counts must add up, and every row not stored has a rejection.
Limits are small (4 rows a chunk, 4,096 bytes a row) so the files stay small and span several chunks.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.api.app import create_app
from app.domain.activity_types import FieldDataType, FieldSpec
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import ADMIN_KEY_ID, ADMIN_TOKEN, bearer, insert_key
from tests.ingestion_support import deposit_definition, put_type
from tests.upload_readers import with_chunk_rows

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "malformed"
MANIFEST: dict[str, dict[str, Any]] = json.loads((CORPUS / "manifest.json").read_text())
IMPORT = """mutation($input: ImportActivitiesInput!) { importActivities(input: $input) {
  job { id } errors { code field } } }"""
JOB = """query($id: ID!) { ingestionJob(id: $id) { status errorCode
  counts { total processed accepted rejected duplicates }
  rejections(first: 100) { edges { node { rowNumber code } } } } }"""
Worker = Callable[[], Awaitable[int]]


def test_the_manifest_covers_every_file() -> None:
    files = {p.name for p in CORPUS.iterdir() if p.name != "manifest.json"}
    assert files == set(MANIFEST) and len(files) >= 40


@pytest.fixture
async def corpus_client(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    """The app with small limits (its own Resources share the test stores), an admin key and the corpus type."""
    small = with_chunk_rows(resources, 4, max_row_bytes=4096)
    await insert_key(resources, token=ADMIN_TOKEN, key_id=ADMIN_KEY_ID, name="corpus")
    async with resources.db.raw() as conn:
        definition = deposit_definition(extra=(FieldSpec("note", "Note", FieldDataType.TEXT),))
        await put_type(conn, replace(definition, api_name="corpusDeposit", name="Corpus deposit",
                                     trigger_name="Corpus deposits", filter_name="Corpus deposited"))
    app = create_app(small.settings, resources=small)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers=bearer(ADMIN_TOKEN)) as client:
        yield client


async def outcome(client: httpx.AsyncClient, run_worker: Worker, name: str, options: dict[str, Any]) -> dict[str, Any]:
    """What came of uploading the file: the upload's errors, then the job as the worker left it."""
    operations = {"query": IMPORT, "variables": {"input": {"file": None, "createMissingPersons": True, **options}}}
    response = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.input.file"]})},
        files={"0": (name, (CORPUS / name).read_bytes(), "application/octet-stream")},
        headers={"apollo-require-preflight": "true"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    result = body["data"]["importActivities"]
    seen: dict[str, Any] = {"uploadErrors": [e["code"] for e in result["errors"]]}
    if result["job"] is None:
        return seen
    await run_worker()
    response = await client.post("/graphql", json={"query": JOB, "variables": {"id": result["job"]["id"]}})
    job = response.json()["data"]["ingestionJob"]
    counts = job["counts"]
    seen.update(status=job["status"], errorCode=job["errorCode"],
                counts=[counts["total"], counts["accepted"], counts["rejected"], counts["duplicates"]],
                rejections={str(e["node"]["rowNumber"]): e["node"]["code"] for e in job["rejections"]["edges"]})
    # Nothing lost silently: every row received was processed and counted once, and each rejection is listed.
    assert counts["processed"] == counts["total"] == counts["accepted"] + counts["rejected"] + counts["duplicates"]
    assert len(seen["rejections"]) == counts["rejected"]
    return seen


@pytest.mark.parametrize("name", sorted(MANIFEST))
async def test_corpus_file(corpus_client: httpx.AsyncClient, run_worker: Worker, name: str) -> None:
    case = MANIFEST[name]
    seen = await outcome(corpus_client, run_worker, name, case.get("input", {}))
    expected = {k: v for k, v in case.items() if k not in ("why", "input")}
    assert seen == expected, f"{name}: {case['why']}"
