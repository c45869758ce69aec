"""The SERVER span of each HTTP request when tracing is on (installed outermost, so it covers every other layer)."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import tracing


class TraceRequests:
    """Continues the caller's `traceparent`; the span carries the status and the GraphQL operation name."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # if the app raises before responding, the server answers 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with tracing.request_span(scope["method"], scope["path"], scope.get("headers") or ()) as span:
            try:
                await self.app(scope, receive, send_status)
            finally:
                state: dict[str, Any] = scope.get("state") or {}
                tracing.end_request(span, status, state.get("operation_name"))
