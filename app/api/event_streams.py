"""GraphQL over SSE, single connection mode (graphql-sse's PROTOCOL.md) on /graphql: PUT reserves an event stream,
GET opens it, POST runs operations whose results arrive on it, DELETE stops one. (Distinct connections mode, one
stream per request with `Accept: text/event-stream`, is Strawberry's own transport in the view.)

Streams live in the API process that reserved them: behind several API processes, route a token's requests to
one process (affinity on the `x-graphql-event-stream-token` header / `token` parameter), or use distinct mode."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.auth import Denial
from app.api.context import Context
from app.api.loaders import Loaders
from app.domain.access import Principal
from app.domain.access import Scope as AccessScope

logger = logging.getLogger(__name__)

TOKEN_HEADER = "x-graphql-event-stream-token"
TOKEN_PARAM = "token"
RESERVATION_SECONDS = 60.0  # a reservation whose stream is not opened within this is dropped
HEARTBEAT_SECONDS = 15.0
MAX_OPERATION_ID = 128
QUEUED_EVENTS = 1000  # events waiting for a slow reader; operations then wait (backpressure, not memory)


@dataclass
class Reservation:
    token: str
    principal: Principal
    reserved_at: float
    events: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(QUEUED_EVENTS))
    operations: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    streaming: bool = False

    def stop_all(self) -> None:
        for task in self.operations.values():
            task.cancel()
        self.operations.clear()


def _event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _refusal(status: int, code: str, message: str) -> Response:
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    return Response(body, status_code=status, media_type="application/json")


def stream_token(request: Request) -> str | None:
    if (token := request.headers.get(TOKEN_HEADER)) is not None:
        return token
    # Every /graphql request asks: parse the query string only when it can hold the parameter (~30 us saved).
    if TOKEN_PARAM.encode() not in request.scope.get("query_string", b""):
        return None
    return request.query_params.get(TOKEN_PARAM)


class EventStreams:
    """The reservations of this API process and the operations running into them."""

    def __init__(self, view: Any) -> None:
        self.view = view  # app.api.view.GraphQLView: authenticator, schema, resources, settings, process_result
        self.reservations: dict[str, Reservation] = {}

    def wants(self, request: Request) -> bool:
        """Whether a /graphql request belongs to single connection mode rather than to the view."""
        return request.method in ("PUT", "DELETE") or stream_token(request) is not None

    async def handle(self, request: Request) -> Response:
        if request.method == "GET":
            return self._open(request)
        principal = await self._caller(request)
        if isinstance(principal, Response):
            return principal
        if request.method == "PUT":
            return self._reserve(principal)
        reservation = self._owned(request, principal)
        if isinstance(reservation, Response):
            return reservation
        if request.method == "DELETE":
            operation = reservation.operations.pop(request.query_params.get("operationId", ""), None)
            if operation is not None:
                operation.cancel()
            return Response(status_code=200)
        return await self._run(request, reservation)

    async def _caller(self, request: Request) -> Principal | Response:
        view = self.view
        outcome: Principal | Denial = await view.authenticator.resolve(
            view.resources, request, request.headers.get("authorization"))
        if isinstance(outcome, Denial):
            return outcome.response()
        if not outcome.allows(AccessScope.READ):
            return _refusal(403, "FORBIDDEN", "Event streams need a key with the read scope.")
        return outcome

    def _reserve(self, principal: Principal) -> Response:
        self._expire()
        limit = self.view.settings.limits.max_event_streams_per_key
        if sum(r.principal.id == principal.id for r in self.reservations.values()) >= limit:
            return _refusal(429, "QUERY_TOO_COMPLEX",
                            f"This key holds {limit} event streams (maxEventStreamsPerKey); close one first.")
        token = secrets.token_urlsafe(32)
        self.reservations[token] = Reservation(token, principal, time.monotonic())
        return PlainTextResponse(token, status_code=201)

    def _expire(self) -> None:
        deadline = time.monotonic() - RESERVATION_SECONDS
        for token, reservation in list(self.reservations.items()):
            if not reservation.streaming and reservation.reserved_at < deadline:
                reservation.stop_all()
                del self.reservations[token]

    def _owned(self, request: Request, principal: Principal) -> Reservation | Response:
        reservation = self.reservations.get(stream_token(request) or "")
        if reservation is None or reservation.principal.id != principal.id:
            return _refusal(404, "NOT_FOUND", "No event stream with this token (reserve one with PUT first).")
        return reservation

    def _open(self, request: Request) -> Response:
        reservation = self.reservations.get(stream_token(request) or "")
        if reservation is None:
            return _refusal(404, "NOT_FOUND", "No event stream with this token (reserve one with PUT first).")
        if reservation.streaming:
            return _refusal(409, "CONFLICT", "This reservation's stream is already open.")
        if "text/event-stream" not in request.headers.get("accept", ""):
            return _refusal(406, "BAD_REQUEST", "Open the event stream with 'Accept: text/event-stream'.")
        reservation.streaming = True
        headers = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}
        return StreamingResponse(self._events(reservation), media_type="text/event-stream", headers=headers)

    async def _events(self, reservation: Reservation) -> AsyncIterator[bytes]:
        """The stream's lifetime is the reservation's: when the client goes, its operations stop."""
        try:
            yield b": connected\n\n"  # flushes the headers: the client knows the stream is open
            while True:
                # asyncio.timeout, not 3.11's wait_for, which can lose a disconnect's cancel (app/services/wakeups.py)
                try:
                    async with asyncio.timeout(HEARTBEAT_SECONDS):
                        event = await reservation.events.get()
                except TimeoutError:
                    event = b": ping\n\n"
                yield event
        finally:
            reservation.stop_all()
            self.reservations.pop(reservation.token, None)

    async def _run(self, request: Request, reservation: Reservation) -> Response:
        try:
            data = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _refusal(400, "BAD_REQUEST", "The body must be a JSON GraphQL request.")
        if not isinstance(data, dict) or not isinstance(data.get("query"), str):
            return _refusal(400, "BAD_REQUEST", "The body must be a JSON object with a `query` string.")
        extensions = data.get("extensions")
        operation_id = extensions.get("operationId") if isinstance(extensions, dict) else None
        if not isinstance(operation_id, str) or not 0 < len(operation_id) <= MAX_OPERATION_ID:
            return _refusal(400, "BAD_REQUEST", f"`extensions.operationId` must be a string of 1 to "
                            f"{MAX_OPERATION_ID} characters naming the operation on the stream.")
        if operation_id in reservation.operations:
            return _refusal(409, "CONFLICT", "An operation with this operationId is running on the stream.")
        limit = self.view.settings.limits.max_operations_per_event_stream
        if len(reservation.operations) >= limit:
            return _refusal(429, "QUERY_TOO_COMPLEX",
                            f"This stream runs {limit} operations (maxOperationsPerEventStream); stop one first.")
        request.state.event_stream = True  # hardening: a subscription here is carried by the stream
        task = asyncio.create_task(self._execute(request, reservation, operation_id, data))
        reservation.operations[operation_id] = task
        task.add_done_callback(lambda _: _forget(reservation, operation_id, task))
        return Response(status_code=202)

    async def _execute(self, request: Request, reservation: Reservation, operation_id: str, data: dict[str, Any]
                       ) -> None:
        view = self.view
        context = Context(request=request, response=None, resources=view.resources, principal=reservation.principal,
                          loaders=Loaders(view.resources))
        variables = data.get("variables") if isinstance(data.get("variables"), dict) else None
        operation_name = data.get("operationName") if isinstance(data.get("operationName"), str) else None
        results = await view.schema.stream(data["query"], variable_values=variables, context_value=context,
                                           operation_name=operation_name)
        async with contextlib.aclosing(results):
            async for result in results:
                payload = await view.process_result(request, result)
                await reservation.events.put(_event("next", {"id": operation_id, "payload": payload}))
        await reservation.events.put(_event("complete", {"id": operation_id}))


def _forget(reservation: Reservation, operation_id: str, task: asyncio.Task[None]) -> None:
    if reservation.operations.get(operation_id) is task:
        del reservation.operations[operation_id]
    # GraphQL errors travel in `next` payloads; an exception here is the server's own fault.
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.error("event-stream operation failed", exc_info=error)


class GraphQLEndpoint:
    """/graphql: single-connection event-stream requests to EventStreams, everything else to the GraphQL view."""

    def __init__(self, view: ASGIApp, streams: EventStreams) -> None:
        self.view, self.streams = view, streams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive)
            if self.streams.wants(request):
                response = await self.streams.handle(request)
                await response(scope, receive, send)
                return
        await self.view(scope, receive, send)
