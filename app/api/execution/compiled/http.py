"""The compiled path's HTTP side: read a single GraphQL request, answer it from a plan as Strawberry would."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from app import tracing
from app.api.context import Context
from app.api.execution.compiled.cache import PlanCache
from app.api.execution.internals import parse_content_type
from app.api.loaders import Loaders
from app.domain.access import Principal
from app.domain.text import unstorable_path
from app.services.runtime import Resources

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
logger = logging.getLogger(__name__)


def _request_data(request: Request, body: bytes | None) -> dict[str, Any] | None:
    """The request's {query, variables, operationName, extensions} when Strawberry would read it the same way."""
    if body is not None:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
    else:
        data = dict(request.query_params)
        for name in ("variables", "extensions"):
            text = data.get(name)
            if text:
                try:
                    data[name] = orjson.loads(text)
                except orjson.JSONDecodeError:
                    return None
    if type(data) is not dict:
        return None
    if not isinstance(data.get("query"), str) or not isinstance(data.get("operationName"), str | None):
        return None
    if not isinstance(data.get("variables"), dict | None) or not isinstance(data.get("extensions"), dict | None):
        return None
    return data


def _is_json(content_type: str) -> bool:
    if content_type == "application/json":
        return True
    mime_type, _ = parse_content_type(content_type)
    return "application/json" in mime_type  # Strawberry's own test


async def answer(
    plans: PlanCache, request: Request, resources: Resources, principal: Principal | None, streams: bool
) -> Response | None:
    """The response for a request a plan answers exactly, or None for the normal path (nothing sent yet).

    `streams`: the Accept header asks for a streaming transport (Strawberry's multipart/SSE); those stay normal.
    """
    if streams:
        return None
    method = request.method
    if method == "POST":
        if not _is_json(request.headers.get("content-type", "")):
            return None
        data = _request_data(request, await request.body())
    elif method == "GET":
        data = _request_data(request, None)
    else:
        return None
    if data is None:
        return None
    plan = plans.get(data["query"], data.get("operationName"))
    if plan is None:
        return None
    variables = data.get("variables") or {}
    if unstorable_path(variables) is not None:  # the normal path refuses it with INVALID_VALUE (text_guard)
        return None
    # Depth, alias, token and fragment-expansion limits depend only on the document, which passed them when it was
    # planned; the cost limit also reads the variables.
    if not plan.within_cost(variables, plans.limits):
        plans.fell_back += 1
        return None
    try:
        context = Context(request=request, response=None, resources=resources, principal=principal,
                          loaders=Loaders(resources))  # as the view's get_context builds it
        with tracing.graphql_span("query", plan.operation_name):
            result = await plan.execute(variables, context)
    except Exception as error:  # FALLBACK, or any error: the normal path reruns the read and reports it exactly
        plans.fell_back += 1
        logger.debug("compiled plan handed a request to the normal path: %r", error)
        error.__traceback__ = error.__context__ = None  # FALLBACK is shared: keep no request frames alive
        return None
    plans.answered += 1
    request.state.operation_name = plan.operation_name  # for the metrics and the access log
    response = Response(orjson.dumps({"data": result}), media_type="application/json")
    if GRAPHQL_RESPONSE_JSON in request.headers.get("accept", ""):
        response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
    return response
