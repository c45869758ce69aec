"""The GraphQL HTTP/WebSocket view: orjson, typed context, GraphQL-over-HTTP media types, GraphiQL."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse

from app.api.context import Context
from app.api.graphiql import render_graphiql
from app.api.loaders import Loaders
from app.domain.access import Principal
from app.services.runtime import Resources

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


class GraphQLView(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context and response encoding."""

    def __init__(self, schema: Any, resources: Resources, **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        self.resources = resources

    async def resolve_principal(self, request: Request | WebSocket) -> Principal | None:
        """Overridden by the access-control layer; local development defaults to the local admin."""
        return Principal.local_admin()

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        return Context(
            request=request,
            response=response,
            resources=self.resources,
            principal=await self.resolve_principal(request),
            loaders=Loaders(self.resources),
        )

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        accept = request.headers.get("accept", "")
        # GraphQL over HTTP: clients that ask for the new media type get its status-code semantics.
        sub_response.wants_graphql_response = GRAPHQL_RESPONSE_JSON in accept  # type: ignore[attr-defined]
        return sub_response

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if getattr(sub_response, "wants_graphql_response", False):
            response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
            if _is_request_error(response_data) and not sub_response.status_code:
                response.status_code = 400
        return response

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(render_graphiql(self.graphql_ide_html))


def _is_request_error(response_data: object) -> bool:
    """Parse or validation failure: no data and no error tied to a field path (GraphQL over HTTP, 6.4.2)."""
    if not isinstance(response_data, dict) or response_data.get("data") is not None:
        return False
    errors = response_data.get("errors") or []
    return bool(errors) and all(not e.get("path") for e in errors)
