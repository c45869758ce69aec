"""The raw keep-alive load generator against a real uvicorn server (counts and framing, never timings)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from app.bench.load import run_load
from app.bench.rawhttp import Connection, encode_post
from app.embedded.lease import free_port


async def echo(request: Request) -> Response:
    body = await request.body()
    if body == b"stream":
        async def parts() -> AsyncIterator[bytes]:
            for part in (b"chunk-1 ", b"chunk-2"):
                yield part

        return StreamingResponse(parts())
    status = 200 if request.headers.get("authorization") == "Bearer k" else 401
    return Response(b"ok:" + body, status_code=status)


@pytest.fixture
async def server_url() -> AsyncIterator[str]:
    port = free_port()
    app = Starlette(routes=[Route("/graphql", echo, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_connection_frames_sized_and_chunked_responses(server_url: str) -> None:
    conn = await Connection.open(server_url)
    try:
        status, body = await conn.request(encode_post(server_url, "/graphql", b"hello", {"Authorization": "Bearer k"}))
        assert (status, body) == (200, b"ok:hello")
        status, body = await conn.request(encode_post(server_url, "/graphql", b"stream", {}))
        assert (status, body) == (200, b"chunk-1 chunk-2")
        status, _ = await conn.request(encode_post(server_url, "/graphql", b"again", {}))  # same connection
        assert status == 401
    finally:
        await conn.close()


async def test_run_load_counts_successes_and_failures(server_url: str) -> None:
    good = await run_load(server_url, "k", [b"a", b"b"], clients=3, duration=0.3, warmup=0.05,
                          check=lambda content: content.startswith(b"ok:"))
    assert good.requests > 0 and good.errors == 0
    assert good.p50_ms <= good.p99_ms
    assert good.probe_delta is None
    reads = iter(range(100))
    probed = await run_load(server_url, "k", [b"a"], clients=1, duration=0.2, warmup=0.05,
                            probe=lambda: float(next(reads)))
    assert probed.probe_delta == 1.0  # read once when the window opens and once when it closes
    refused = await run_load(server_url, "wrong", [b"a"], clients=2, duration=0.2, warmup=0.0)
    assert refused.requests == 0 and refused.errors > 0
    rejected = await run_load(server_url, "k", [b"a"], clients=2, duration=0.2, warmup=0.0, check=lambda _: False)
    assert rejected.requests == 0 and rejected.errors > 0
