"""`activities serve`'s HTTP protocol closes a connection whose request headers trickle in past the deadline,
and leaves a request whose headers arrived in time alone, however slow its body."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.api.header_timeout import with_header_timeout
from app.embedded.lease import free_port


async def echo(request: Request) -> Response:
    return Response(str(len(await request.body())))


@pytest.fixture
async def port() -> AsyncIterator[int]:
    """A real uvicorn server with the protocol `activities serve` uses, and a 1 s header deadline."""
    port = free_port()
    config = uvicorn.Config(Starlette(routes=[Route("/", echo, methods=["POST"])]), host="127.0.0.1", port=port,
                            log_config=None, lifespan="off", http=with_header_timeout(1.0))
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    yield port
    server.should_exit = server.force_exit = True
    await asyncio.wait_for(task, timeout=30)


async def test_a_client_trickling_headers_is_disconnected(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\n")

    async def trickle() -> None:  # one header byte every 0.2 s, never finishing (a slowloris client)
        while True:
            writer.write(b"X")
            await writer.drain()
            await asyncio.sleep(0.2)

    sending = asyncio.create_task(trickle())
    try:
        # uvicorn alone would wait for the headers forever: the read would never end (this wait_for would fail).
        assert await asyncio.wait_for(reader.read(), timeout=30) == b""
    finally:
        sending.cancel()
        writer.close()


async def test_a_slow_body_after_timely_headers_is_served(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc")
    await writer.drain()
    await asyncio.sleep(1.5)  # past the header deadline: the body may take as long as it needs
    writer.write(b"def")
    await writer.drain()
    response = await asyncio.wait_for(reader.read(4096), timeout=30)
    writer.close()
    assert response.startswith(b"HTTP/1.1 200") and response.endswith(b"6")
