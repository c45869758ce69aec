"""The SERVER span of each HTTP request when tracing is on (installed outermost, so it covers every other layer)."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from app import tracing
from app.api.response_status import ResponseStatus


class TraceRequests:
    """Continues the caller's `traceparent`; the span carries the status and the GraphQL operation name."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = ResponseStatus(send)
        with tracing.request_span(scope["method"], scope["path"], scope.get("headers") or ()) as span:
            try:
                await self.app(scope, receive, status)
            finally:
                state: dict[str, Any] = scope.get("state") or {}
                tracing.end_request(span, status.code, state.get("operation_name"))
