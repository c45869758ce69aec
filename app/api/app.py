"""The Starlette application: /graphql (HTTP, WebSocket, GraphiQL), /healthz, /readyz and the Marketo REST facade."""

from __future__ import annotations

import contextlib
import gc
import logging
import uuid
from collections.abc import AsyncIterator

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)

from app import tracing
from app.api import loop_lag
from app.api.auth import Denial, prepare_access
from app.api.execution.compiled.cache import PlanCache
from app.api.exports.download import ExportDownload
from app.api.graphiql import graphiql_assets
from app.api.hardening import security_extensions
from app.api.metrics import ObserveRequests, RecordOperation, ServiceMetrics
from app.api.persisted import PersistedDocumentsMiddleware
from app.api.request_guard import RequestGuard
from app.api.request_tracing import TraceRequests
from app.api.rest.routes import rest_routes
from app.api.schema import build_schema
from app.api.view import GraphQLView
from app.domain.access import Scope as AccessScope
from app.logs import request_id_var
from app.services.health import check_database, check_redis
from app.services.runtime import Resources
from app.settings import Settings

logger = logging.getLogger(__name__)

SUBSCRIPTION_PROTOCOLS = (GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL, GRAPHQL_SSE_PROTOCOL,
                          MULTIPART_SUBSCRIPTION_PROTOCOL)


class RequestIdMiddleware:
    """Give every request an id (or keep the caller's X-Request-Id) for logs and the response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming[:64] if incoming else uuid.uuid4().hex
        token = request_id_var.set(request_id)

        async def send_with_id(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))  # type: ignore[call-overload]
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)  # type: ignore[arg-type]
        finally:
            request_id_var.reset(token)


def freeze_startup_objects() -> None:
    """Move everything alive after start-up (schema, modules, pools) out of the cyclic GC's reach.

    Without it every full collection re-scans those objects: ~60 ms pauses every ~2 s under timeline load, each
    stalling every request in flight (the timeline p99 at 16 clients was 47-55 ms against a p50 of 7 ms)."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings, resources: Resources | None = None) -> Starlette:
    """Build the ASGI app. URLs in `settings` must already point at running servers."""
    state: dict[str, Resources] = {"resources": resources} if resources else {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = resources is None
        state["resources"] = resources or await Resources.open(settings)
        view.resources = state["resources"]
        await prepare_access(settings, state["resources"])
        freeze_startup_objects()
        logger.info("API ready (environment=%s)", settings.environment)
        try:
            async with loop_lag.probing(metrics.loop_lag):
                yield
        finally:
            if owned:
                await state["resources"].close()

    plans = PlanCache(settings.limits) if settings.execution.compiled_plans else None
    extensions = security_extensions(settings) + ([plans.extension()] if plans is not None else [])
    extensions.append(RecordOperation)
    metrics = ServiceMetrics()
    schema = build_schema(extensions=extensions, execution=settings.execution)
    view = GraphQLView(
        schema,
        resources=resources,  # type: ignore[arg-type]  # set in lifespan when not given
        settings=settings,
        plans=plans,
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        multipart_uploads_enabled=True,
        allowed_origins=settings.websocket_origins,
        keep_alive=True,
        keep_alive_interval=15,
        # WebSocket (graphql-transport-ws, and the legacy graphql-ws), and over HTTP: GraphQL over SSE's distinct
        # connections mode (Accept: text/event-stream) and multipart subscriptions (Apollo Client's HTTP transport).
        subscription_protocols=SUBSCRIPTION_PROTOCOLS,
    )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        res = state["resources"]
        checks = {"postgres": await check_database(res), "redis": await check_redis(res)}
        ok = all(checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", **checks}, status_code=200 if ok else 503)

    async def metrics_endpoint(request: Request) -> Response:
        outcome = await view.authenticator.resolve(state["resources"], request, request.headers.get("authorization"))
        if isinstance(outcome, Denial):
            return outcome.response()
        if not outcome.allows(AccessScope.READ):
            return JSONResponse({"errors": [{"message": "The metrics need a key with the read scope.",
                                             "extensions": {"code": "FORBIDDEN"}}]}, status_code=403)
        return Response(await metrics.render(state["resources"]), media_type=CONTENT_TYPE_LATEST)

    middleware = [*([Middleware(TraceRequests)] if tracing.configure(settings, "api") else []),
                  Middleware(RequestIdMiddleware),
                  Middleware(ObserveRequests, metrics=metrics, access_log=settings.access_log_enabled)]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=[
                    "authorization",
                    "content-type",
                    "x-request-id",
                    "apollo-require-preflight",
                    "x-apollo-operation-name",
                ],
            )
        )
    # Inside CORS so its refusals (413, CSRF) still carry CORS headers the browser can read.
    middleware.append(Middleware(RequestGuard, settings=settings))
    middleware.append(Middleware(PersistedDocumentsMiddleware, config=settings.persisted,
                                 resources=lambda: state["resources"], prefix=settings.redis_prefix))
    app = Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            Route("/exports/{id}/file", ExportDownload(view).respond, methods=["GET"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            *([graphiql_assets()] if settings.graphiql_enabled else []),
            *rest_routes(settings, view.authenticator, lambda: state["resources"]),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.plans = plans  # for tests and diagnostics: its counters show whether compiled answers happen
    return app
