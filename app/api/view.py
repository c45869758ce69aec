"""The GraphQL HTTP/WebSocket view: orjson, typed context, GraphQL-over-HTTP media types, GraphiQL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry import UNSET
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from app.api.auth import Authenticator, Denial, connection_param, is_loopback
from app.api.context import Context
from app.api.execution.compiled.cache import PlanCache
from app.api.execution.compiled.http import GRAPHQL_RESPONSE_JSON, answer
from app.api.execution.internals import (
    ASGIWebSocketAdapter,
    UnsetType,
    WebSocketDisconnected,
    replace_placeholders_with_files,
    starlette_request,
    stream_transport_requested,
    strip_suggestions,
)
from app.api.graphiql import render_graphiql
from app.api.hardening import BAD_REQUEST
from app.api.loaders import Loaders
from app.api.multipart_stream import MultipartBody, MultipartError, files_map
from app.api.persisted import load_allow_list
from app.api.ws_handlers import RateLimitedLegacyWSHandler, RateLimitedTransportWSHandler
from app.domain.errors import DomainError
from app.services.runtime import Resources
from app.settings import Settings


class TextWebSocketAdapter(ASGIWebSocketAdapter):
    """graphql-ws clients (browsers) expect text frames; Strawberry sends bytes when encode_json returns bytes."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class GraphQLView(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context, authentication, rate limits and response encoding."""

    graphql_transport_ws_handler_class = RateLimitedTransportWSHandler
    graphql_ws_handler_class = RateLimitedLegacyWSHandler
    websocket_adapter_class = TextWebSocketAdapter

    def __init__(
        self, schema: Any, resources: Resources, settings: Settings, plans: PlanCache | None = None, **kwargs: Any
    ) -> None:
        super().__init__(schema, **kwargs)
        self.resources = resources
        self.settings = settings
        self.authenticator = Authenticator(settings)
        self.plans = plans
        """Compiled read queries (app/api/execution/compiled); None when switched off."""
        persisted = settings.persisted
        self.trusted: set[str] | None = None
        """Hashes of the only documents subscriptions may run (trusted_only), or None."""
        if persisted.trusted_only:
            self.trusted = set(load_allow_list(persisted.documents_file)) if persisted.documents_file else set()

    async def run(  # type: ignore[override]  # one body for both overloads
        self, request: Request | WebSocket, context: Context | UnsetType = UNSET, root_value: None = UNSET
    ) -> Response | WebSocket:
        """Authenticate (and rate-limit) every HTTP GraphQL request before Strawberry parses it."""
        if isinstance(request, Request) and not self.should_render_graphql_ide(self.request_adapter_class(request)):
            outcome = await self.authenticator.resolve(self.resources, request, request.headers.get("authorization"))
            if isinstance(outcome, Denial):
                return outcome.response()
            request.state.principal = outcome
            if self.plans is not None and context is UNSET and root_value is UNSET and self._may_compile(request):
                compiled = await answer(self.plans, request, self.resources, outcome, self._streams(request))
                if compiled is not None:
                    return compiled
        return await super().run(request, context, root_value)  # type: ignore[arg-type]

    def _may_compile(self, request: Request) -> bool:
        return request.method == "POST" or (request.method == "GET" and self.allow_queries_via_get)

    def _streams(self, request: Request) -> bool:
        """Whether Strawberry would answer over a streaming transport (multipart or SSE), chosen by Accept."""
        return stream_transport_requested(self, request.headers)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """graphql-transport-ws: authenticate from `connection_init` {"Authorization": "Bearer ..."}.

        Non-browser clients may instead send the header on the handshake; the payload wins when both exist.
        """
        request = context.request
        authorization = connection_param(context.connection_params, "authorization")
        if authorization is None:
            authorization = request.headers.get("authorization")
        outcome = await self.authenticator.resolve(self.resources, request, authorization)
        if isinstance(outcome, Denial):
            raise ConnectionRejectionError({"message": outcome.message, "code": outcome.code.value})
        context.principal = outcome
        return cast(UnsetType, UNSET)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        # HTTP: set by `run`; WebSocket: None until `connection_init` is accepted.
        principal = getattr(request.state, "principal", None) if isinstance(request, Request) else None
        return Context(
            request=request,
            response=response,
            resources=self.resources,
            principal=principal,
            loaders=Loaders(self.resources),
        )

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        accept = request.headers.get("accept", "")
        # GraphQL over HTTP: clients that ask for the new media type get its status-code semantics.
        sub_response.wants_graphql_response = GRAPHQL_RESPONSE_JSON in accept  # type: ignore[attr-defined]
        return sub_response

    async def parse_multipart(self, request: Any) -> dict[str, str]:
        """GraphQL multipart requests, streamed (app/api/multipart_stream.py): `operations` and `map` are read
        here; the file arrives while the operation runs, instead of being spooled whole before it starts."""
        try:
            body = MultipartBody(starlette_request(request))
            await body.read_fields()
            operations = self.parse_json(body.fields.get("operations", b"{}"))
            mapping = files_map(self.parse_json(body.fields.get("map", b"{}")))
        except MultipartError as exc:
            raise HTTPException(400, str(exc)) from exc
        except ConnectionResetError as exc:  # the client went away before its file started: nothing was kept
            raise HTTPException(400, str(exc)) from exc
        except DomainError as exc:  # over the body limit already
            raise HTTPException(413, exc.issues[0].message) from exc
        files = {body.file_name: body.file} if body.file is not None and body.file_name is not None else {}
        try:
            parsed: dict[str, str] = replace_placeholders_with_files(operations, mapping, files)
        except (KeyError, IndexError, TypeError) as exc:
            raise HTTPException(400, "File(s) missing in form data") from exc
        return parsed

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def parse_json(self, data: str | bytes) -> Any:
        parsed = super().parse_json(data)
        # Strawberry calls .get() on the result: a bare number or string in the body would be a 500.
        if not isinstance(parsed, (dict, list)):
            raise HTTPException(400, "The request body must be a JSON object.")
        for request in parsed if isinstance(parsed, list) else (parsed,):
            _check_request_shape(request)
        return parsed

    def decode_json(self, data: str | bytes) -> object:
        # orjson raises JSONDecodeError (a 400) for invalid UTF-8 too; json.loads raises UnicodeDecodeError (a 500).
        return orjson.loads(data)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        processed = await super().process_result(request, result)
        if not self.settings.field_suggestions:
            # "Did you mean 'apiKeys'?" would let callers map the schema field by field.
            for error in processed.get("errors") or []:
                error["message"] = strip_suggestions(str(error["message"]))  # type: ignore[index]
        return processed

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        wants_graphql_response = getattr(sub_response, "wants_graphql_response", False)
        request_error = _is_request_error(response_data)
        if wants_graphql_response and request_error and isinstance(response_data, dict):
            # GraphQL over HTTP 6.4.2: a request error (nothing executed) has no `data` entry, not even null.
            response_data = cast(GraphQLHTTPResponse, {k: v for k, v in response_data.items() if k != "data"})
        response = super().create_response(response_data, sub_response)
        if wants_graphql_response:
            response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
        # A subscription over a plain request is a client error whatever the media type: it must change transport.
        if (_wrong_transport(response_data) or (wants_graphql_response and request_error)) \
                and not sub_response.status_code:
            response.status_code = 400
        return response

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        headers: dict[str, str] = {}
        key = self.settings.dev_admin_key
        # Only a developer's own browser on this machine gets the dev key pre-filled; never outside dev.
        if key and self.settings.environment == "dev" and is_loopback(request.client.host if request.client else None):
            headers["Authorization"] = f"Bearer {key.get_secret_value()}"
        html = render_graphiql(self.graphql_ide_html, headers)
        if headers:  # subscriptions authenticate in connection_init, so the WebSocket needs the header too
            ws_params = "subscriptionUrl,\n        wsConnectionParams: defaultHeaders,\n"
            html = html.replace("subscriptionUrl,\n", ws_params, 1)
        return HTMLResponse(html)


def _check_request_shape(request: object) -> None:
    """GraphQL over HTTP: operationName a string, variables and extensions objects (or absent/null); anything else
    is a 400 here, not a 200 carrying a Python error ("unhashable type: 'dict'") from deeper down."""
    if not isinstance(request, dict):
        raise HTTPException(400, "Each request must be a JSON object.")
    expected = {"operationName": str, "variables": dict, "extensions": dict, "query": str}
    for key, kind in expected.items():
        value = request.get(key)
        if value is not None and not isinstance(value, kind):
            raise HTTPException(400, f"`{key}` must be {'a string' if kind is str else 'an object'} or null.")


def _wrong_transport(response_data: object) -> bool:
    """The request asked for an operation its transport cannot carry (a subscription without a streaming Accept)."""
    if not isinstance(response_data, dict) or response_data.get("data") is not None:
        return False
    errors = response_data.get("errors") or []
    return bool(errors) and all((e.get("extensions") or {}).get("code") == BAD_REQUEST for e in errors)


def _is_request_error(response_data: object) -> bool:
    """Parse or validation failure: no data and no error tied to a field path (GraphQL over HTTP, 6.4.2)."""
    if not isinstance(response_data, dict) or response_data.get("data") is not None:
        return False
    errors = response_data.get("errors") or []
    return bool(errors) and all(not e.get("path") for e in errors)
