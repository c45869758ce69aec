"""WebSocket protocol handlers: every operation a socket starts passes the same admission as an HTTP request
(trusted documents, the key's rate limit), over graphql-transport-ws and the legacy graphql-ws alike."""

from __future__ import annotations

from typing import Any, cast

from graphql import GraphQLError

from app.api.context import Context
from app.api.execution.internals import (
    LegacyStartMessage,
    LegacyWSHandler,
    SubscribeMessage,
    TransportWSHandler,
    strip_suggestions,
)
from app.api.persisted import sha256_hex
from app.domain.access import Principal
from app.domain.errors import ErrorCode


async def refusal(view: object, principal: Principal | None, query: str) -> dict[str, Any] | None:
    """Why the operation `query` may not start on this socket (a GraphQL error), or None: the HTTP rules."""
    trusted = getattr(view, "trusted", None)
    if trusted is not None and sha256_hex(query) not in trusted:  # the HTTP middleware's rule
        return {"message": "This server only runs trusted documents.",
                "extensions": {"code": "PERSISTED_DOCUMENT_REQUIRED"}}
    authenticator = getattr(view, "authenticator", None)  # the view is app.api.view.GraphQLView (which imports us)
    if authenticator is None or principal is None or principal.id == Principal.local_admin().id:
        return None
    decision = await authenticator.limiter(getattr(view, "resources", None)).hit(principal.id)
    if decision.allowed:
        return None
    return {"message": f"Rate limit exceeded; retry in {decision.retry_after_seconds} s.",
            "extensions": {"code": "RATE_LIMITED", "retryAfter": decision.retry_after_seconds}}


def without_suggestions(view: object, message: Any) -> Any:
    """Errors sent over the socket lose their "Did you mean ...?" suggestions outside dev, as over HTTP."""
    settings = getattr(view, "settings", None)
    if settings is None or settings.field_suggestions or not isinstance(message, dict):
        return message
    payload = message.get("payload")
    errors: Any
    if message.get("type") == "error":  # graphql-transport-ws: a list of errors; legacy graphql-ws: one error
        errors = payload if isinstance(payload, list) else [payload]
    else:
        errors = payload.get("errors") if isinstance(payload, dict) else None
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            error["message"] = strip_suggestions(error["message"])
    return message


class RateLimitedTransportWSHandler(TransportWSHandler[Context, None]):
    """graphql-transport-ws where every `subscribe` message also spends one token of the key's rate limit."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if not _well_formed(message):
            # Strawberry uses these unchecked; a TypeError would drop the socket with 1011 (fuzz-found).
            await self.handle_invalid_message("Invalid subscribe message")
            return
        error = await refusal(self.view, self.context.principal, message["payload"]["query"])
        if error is not None:
            await self.send_message(cast(Any, {"id": message["id"], "type": "error", "payload": [error]}))
            return
        await super().handle_subscribe(message)

    async def send_message(self, message: Any) -> None:
        await super().send_message(without_suggestions(self.view, message))

    def keeps_socket_open(self, error: GraphQLError) -> bool:
        """Strawberry closes the socket (4400) on any parse error; the token limit stops the parser with one, so a
        refusal tagged QUERY_TOO_COMPLEX (ErrorCodes) is answered as an `error` message instead, as over HTTP,
        and the connection keeps serving. Genuine syntax errors still close it."""
        return (error.extensions or {}).get("code") == ErrorCode.QUERY_TOO_COMPLEX.value


class RateLimitedLegacyWSHandler(LegacyWSHandler[Context, None]):
    """The legacy graphql-ws protocol (subscriptions-transport-ws) with the same admission per `start` message:
    without it, that protocol would run any document past trusted-only mode and the rate limit."""

    async def handle_start(self, message: LegacyStartMessage) -> None:
        if not _well_formed(message):
            await self.send_message(cast(Any, {"type": "error", "id": _id_of(message),
                                               "payload": {"message": "Invalid start message"}}))
            return
        if self.connection_acknowledged:  # before that, Strawberry closes the socket (4401) itself
            error = await refusal(self.view, self.context.principal, message["payload"]["query"])
            if error is not None:
                await self.send_message(cast(Any, {"type": "error", "id": message["id"], "payload": error}))
                return
        await super().handle_start(message)

    async def send_message(self, message: Any) -> None:
        await super().send_message(without_suggestions(self.view, message))


def _id_of(message: object) -> str | None:
    identifier = message.get("id") if isinstance(message, dict) else None
    return identifier if isinstance(identifier, str) else None


def _well_formed(message: object) -> bool:
    """id a string; payload {query: string, variables?, operationName?, extensions?} (both protocols)."""
    if not isinstance(message, dict) or not isinstance(message.get("id"), str):
        return False
    payload = message.get("payload")
    return (
        isinstance(payload, dict)
        and isinstance(payload.get("query"), str)
        and isinstance(payload.get("variables"), (dict, type(None)))
        and isinstance(payload.get("operationName"), (str, type(None)))
        and isinstance(payload.get("extensions"), (dict, type(None)))
    )
