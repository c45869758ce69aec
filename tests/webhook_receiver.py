"""A real HTTP receiver on 127.0.0.1 for trigger tests (Starlette on uvicorn): scripted answers, recorded requests."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.domain.webhook_signing import SignatureError, verify


@dataclass(frozen=True)
class Answer:
    """What the receiver does with one request: a status (and headers), after `delay` seconds."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang: bool = False  # the delay outlasts the sender's timeout: the sender never sees this answer


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float
    answer: Answer

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def activity_ids(self) -> list[int]:
        return [int(a["id"]) for a in self.json["activities"]]


class Receiver:
    """`async with Receiver() as r:` serves http://127.0.0.1:<port>/hook until the block ends."""

    def __init__(self, script: Iterable[Answer] = ()) -> None:
        self.script: deque[Answer] = deque(script)
        self.received: list[Received] = []
        self.arrived = asyncio.Event()
        self.server: uvicorn.Server | None = None
        self.task: asyncio.Task[None] | None = None
        self.port = 0
        self.in_flight = 0
        self.max_in_flight = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        answer = self.script.popleft() if self.script else Answer()
        self.received.append(Received(dict(request.headers), body, time.monotonic(), answer))
        self.arrived.set()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if answer.delay:
                await asyncio.sleep(answer.delay)
        finally:
            self.in_flight -= 1
        return Response(b"ok" if answer.status < 300 else b"nope", answer.status, answer.headers)

    async def __aenter__(self) -> Receiver:
        app = Starlette(routes=[Route("/hook", self.handle, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off",
                                timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:  # uvicorn offers no event for "listening"  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None and self.task is not None
        self.server.should_exit = True
        await asyncio.wait_for(self.task, 10)

    def delivered(self) -> list[Received]:
        """Requests answered with 2xx."""
        return [r for r in self.received if 200 <= r.answer.status < 300 and not r.answer.hang]

    async def wait_for(self, predicate: Any, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"receiver: condition not met in {timeout} s; got {len(self.received)} requests")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), min(remaining, 0.5))
            except TimeoutError:
                pass

    def check_signatures(self, secret: str) -> None:
        """Every request verifies with `secret` (raises SignatureError otherwise)."""
        for r in self.received:
            verify(secret, r.headers, r.body, now=int(time.time()))


__all__ = ["Answer", "Receiver", "SignatureError"]
