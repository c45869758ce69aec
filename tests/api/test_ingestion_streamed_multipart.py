"""importActivities streams the multipart file part into chunks as it arrives, through a real uvicorn server: a
throttled client sees its job start (and a worker process rows) before it has sent the last byte, and a client
that disconnects mid-file leaves a job that keeps its committed chunks and ends FAILED, UPLOAD_INTERRUPTED."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from app.api.app import create_app
from app.embedded.lease import free_port
from app.services.ingestion import process
from app.services.runtime import Resources
from tests.access_helpers import ADMIN_KEY_ID, ADMIN_TOKEN, bearer, insert_key
from tests.api.test_ingestion_api import IMPORT
from tests.conftest import eventually
from tests.ingestion_support import approved_type
from tests.upload_readers import deposit_lines, with_chunk_rows

BOUNDARY = "----activities-test-boundary"


def multipart(rows: list[bytes], **input_: Any) -> tuple[bytes, bytes, bytes]:
    """(everything up to the file's content, the content, the closing boundary) of an importActivities request."""
    operations = json.dumps({"query": IMPORT, "variables": {"input": {"file": None, **input_}}})
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n"
            '{"0": ["variables.input.file"]}\r\n'
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"rows.jsonl\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    return head, b"".join(rows), f"\r\n--{BOUNDARY}--\r\n".encode()


@pytest.fixture
async def server(resources: Resources) -> AsyncIterator[tuple[int, Resources]]:
    """The API on a real uvicorn server (this event loop) with chunks of 10 rows; yields (port, its resources)."""
    await insert_key(resources, token=ADMIN_TOKEN, key_id=ADMIN_KEY_ID, name="test admin")
    small = with_chunk_rows(resources, 10)
    port = free_port()
    config = uvicorn.Config(create_app(small.settings, resources=small), host="127.0.0.1", port=port,
                            log_config=None, lifespan="off")
    served = uvicorn.Server(config)
    task = asyncio.create_task(served.serve())
    while not served.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    yield port, small
    served.should_exit = True
    served.force_exit = True  # do not wait for a connection a failed test left open
    await asyncio.wait_for(task, timeout=30)


async def job_state(resources: Resources) -> dict[str, Any] | None:
    async with resources.db.raw() as conn:
        row = await conn.fetchrow("SELECT id, status, receiving, total_rows, processed_rows, error_code, "
                                  "received_through FROM ingestion_job")
    return dict(row) if row else None


async def test_a_throttled_upload_is_processed_before_its_last_byte(
    server: tuple[int, Resources], resources: Resources
) -> None:
    port, small = server
    await approved_type(resources)
    rows = deposit_lines(60)
    head, content, tail = multipart(rows, createMissingPersons=True)
    held = len(b"".join(rows[:30]))
    last_bytes = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:  # a slow client: the rest of the file only once released
        yield head
        yield content[:held]
        await asyncio.wait_for(last_bytes.wait(), timeout=60)
        yield content[held:]
        yield tail

    headers = {**bearer(ADMIN_TOKEN), "apollo-require-preflight": "true",
               "content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    async with httpx.AsyncClient(timeout=120) as http:
        sent = asyncio.create_task(http.post(f"http://127.0.0.1:{port}/graphql", content=body(), headers=headers))
        try:
            response, worker = await _processed_before_the_last_byte(resources, small, sent, last_bytes)
        finally:
            last_bytes.set()
            if not sent.done():
                sent.cancel()
    payload = response.json()["data"]["importActivities"]
    assert payload["errors"] == [] and payload["job"]["counts"]["total"] == 60
    assert await asyncio.wait_for(worker, timeout=60) == "SUCCEEDED"
    done = await job_state(resources)
    assert done is not None and (done["status"], done["processed_rows"]) == ("SUCCEEDED", 60)


async def _processed_before_the_last_byte(
    resources: Resources, small: Resources, sent: asyncio.Task[httpx.Response], last_bytes: asyncio.Event
) -> tuple[httpx.Response, asyncio.Task[str]]:
    """Wait (the client holding its last bytes) until the job is committed and a worker has written rows."""

    async def committed() -> bool:
        state = await job_state(resources)
        return state is not None and state["total_rows"] >= 10

    await eventually(committed, timeout=60)
    state = await job_state(resources)
    assert state is not None and state["receiving"]
    worker = asyncio.create_task(process.run_job(small, state["id"]))

    async def processing() -> bool:
        now = await job_state(resources)
        return now is not None and now["processed_rows"] >= 10

    await eventually(processing, timeout=60)
    assert not sent.done()  # the worker wrote rows while the client still held the end of its file
    last_bytes.set()
    return await sent, worker


async def test_a_client_that_disconnects_mid_file_leaves_an_interrupted_job_with_its_committed_rows(
    server: tuple[int, Resources], resources: Resources
) -> None:
    port, small = server
    await approved_type(resources)
    rows = deposit_lines(60)
    head, content, tail = multipart(rows, createMissingPersons=True)
    sent_part = len(b"".join(rows[:35]))  # 3 chunks of 10 rows complete, 5 rows in the next one
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    length = len(head) + len(content) + len(tail)
    writer.write((f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
                  f"Apollo-Require-Preflight: true\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                  f"Content-Length: {length}\r\n\r\n").encode() + head + content[:sent_part])
    await writer.drain()

    async def three_chunks() -> bool:
        state = await job_state(resources)
        return state is not None and state["total_rows"] == 30

    await eventually(three_chunks, timeout=60)
    writer.close()  # the client goes away with 25 rows unsent
    await writer.wait_closed()

    async def interrupted() -> bool:
        state = await job_state(resources)
        return state is not None and not state["receiving"]

    await eventually(interrupted, timeout=60)
    state = await job_state(resources)
    assert state is not None
    assert (state["error_code"], state["total_rows"], state["received_through"]) == ("UPLOAD_INTERRUPTED", 30, 30)
    assert await process.run_job(small, state["id"]) == "FAILED"
    done = await job_state(resources)
    assert done is not None and done["processed_rows"] == 30
    async with resources.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM activity") == 30
        error = await conn.fetchval("SELECT error FROM ingestion_job")
    assert "resumeFrom: 31" in error and "disconnected" in error
    del reader


def parts(*named: tuple[str, str | None, bytes]) -> bytes:
    """A multipart body of (name, filename or None, content) parts."""
    body = b""
    for name, filename, content in named:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


OPERATIONS = json.dumps({"query": IMPORT, "variables": {"input": {"file": None}}}).encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (parts(("operations", None, OPERATIONS), ("map", None, b'{"0": ["variables.input.file"], "1": []}'),
               ("0", "a.jsonl", b"{}\n"), ("1", "b.jsonl", b"{}\n")), "At most one file per request"),
        (parts(("operations", None, OPERATIONS), ("map", None, b'{"0": ["variables.input.file"]}')),
         "File(s) missing"),
        (parts(("operations", None, OPERATIONS), ("map", None, b'{"0": "variables.input.file"}'),
               ("0", "a.jsonl", b"{}\n")), "`map` must be"),
        (parts(("operations", None, b" " * (1024 * 1024 + 1)), ("map", None, b"{}")), "larger than"),
    ],
)
async def test_multipart_requests_that_cannot_be_streamed_are_refused(
    client: httpx.AsyncClient, body: bytes, message: str
) -> None:
    response = await client.post("/graphql", content=body, headers={
        "apollo-require-preflight": "true", "content-type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert response.status_code == 400 and message in response.text, response.text
