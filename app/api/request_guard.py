"""ASGI guard in front of /graphql: body size limits (before parsing) and CSRF protection for non-JSON posts."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.auth import Denial
from app.domain.errors import ErrorCode
from app.settings import Settings

MULTIPART_OVERHEAD = 1024 * 1024
"""Room for the `operations`/`map` parts and boundaries around an upload of max_upload_bytes."""

# Browsers send these content types cross-site without a CORS preflight; GraphQL multipart uploads use one.
SIMPLE_CONTENT_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded", "text/plain")
# A request carrying any of these was preflighted by a browser (none is CORS-safelisted), so it cannot be a forged
# cross-site form post. `authorization` is what stock upload clients (apollo-upload-client, gql) send; keys are
# only ever sent in it (never cookies), so a forged post has no credentials of its own.
PREFLIGHT_HEADERS = ("authorization", "apollo-require-preflight", "x-apollo-operation-name",
                     "graphql-require-preflight")

CSRF = Denial(
    ErrorCode.FORBIDDEN,
    "This request could be a cross-site request forgery: multipart and form posts must carry an Authorization "
    "header or a non-empty 'Apollo-Require-Preflight' (or 'X-Apollo-Operation-Name') header.",
    400,
)


class BodyTooLarge(Exception):
    """Raised from `receive` once a body passes its limit."""


class RequestGuard:
    """Refuse oversized bodies from Content-Length (or while streaming) and simple cross-site posts."""

    def __init__(self, app: ASGIApp, settings: Settings, path: str = "/graphql") -> None:
        self.app = app
        self.settings = settings
        self.path = path

    def limit(self, content_type: str) -> int:
        limits = self.settings.limits
        if content_type.startswith("multipart/"):
            return limits.max_upload_bytes + MULTIPART_OVERHEAD
        return limits.max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type in SIMPLE_CONTENT_TYPES and not any(headers.get(h) for h in PREFLIGHT_HEADERS):
            await CSRF.response()(scope, receive, send)
            return
        limit = self.limit(content_type)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self.too_large(limit)(scope, receive, send)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self.too_large(limit)(scope, receive, send)

    def too_large(self, limit: int) -> ASGIApp:
        denial = Denial(
            ErrorCode.PAYLOAD_TOO_LARGE, f"Request body is larger than the {limit}-byte limit for its kind.", 413
        )
        return denial.response()
