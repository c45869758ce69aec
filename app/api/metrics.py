"""Prometheus metrics (`/metrics`) and the access log: one middleware observes every HTTP request."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from app import tracing
from app.api.loop_lag import LAG_BUCKETS
from app.api.response_status import ResponseStatus
from app.services.runtime import Resources
from app.services.service_stats import read_stats

access_logger = logging.getLogger("app.access")

# Operation names are chosen by callers: only GraphQL names up to 64 characters become labels, and only the first
# MAX_OPERATIONS distinct ones, so a client inventing names cannot grow the series without bound.
OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
MAX_OPERATIONS = 200
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    """The API process's metrics, in a registry of its own (tests build many apps in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("activities_graphql_requests", "GraphQL HTTP requests by operation name and status",
                                ["operation", "status"], registry=r)
        self.latency = Histogram("activities_graphql_request_duration_seconds", "GraphQL HTTP request duration",
                                 ["operation"], buckets=LATENCY_BUCKETS, registry=r)
        self.errors = Counter("activities_graphql_errors", "Errors in GraphQL responses by extensions.code",
                              ["code"], registry=r)
        self.rate_limited = Counter("activities_rate_limited_requests", "Requests refused by the per-key rate limit",
                                    registry=r)
        self.jobs = Gauge("activities_ingestion_jobs", "Ingestion jobs by status", ["status"], registry=r)
        self.rows_per_second = Gauge("activities_ingestion_rows_per_second",
                                     "Rows per second of the running ingestion jobs, summed", registry=r)
        self.queue_depth = Gauge("activities_queue_depth", "Jobs waiting in the worker queue", registry=r)
        self.db_in_use = Gauge("activities_db_connections_in_use", "Database connections checked out", registry=r)
        self.db_capacity = Gauge("activities_db_connections_max", "Database connections the pools may open",
                                 registry=r)
        self.loop_lag = Histogram("activities_event_loop_lag_seconds",
                                  "How late a 50 ms timer fired on the API's event loop (time every request waited)",
                                  buckets=LAG_BUCKETS, registry=r)
        self._operations: set[str] = set()
        # Labelled children by label values: prometheus_client's labels() takes a lock and validates on every
        # call, twice per request; the label sets are bounded (MAX_OPERATIONS, HTTP statuses).
        self._request_counters: dict[tuple[str, int], Any] = {}
        self._latencies: dict[str, Any] = {}

    def operation_label(self, name: object) -> str:
        if not isinstance(name, str) or not name:
            return "anonymous"
        if not OPERATION_NAME.fullmatch(name):
            return "other"
        if name not in self._operations:
            if len(self._operations) >= MAX_OPERATIONS:
                return "other"
            self._operations.add(name)
        return name

    def observe(self, state: dict[str, Any], status: int, seconds: float) -> None:
        operation = self.operation_label(state.get("operation_name"))
        counter = self._request_counters.get((operation, status))
        if counter is None:
            counter = self._request_counters[(operation, status)] = self.requests.labels(operation, str(status))
        counter.inc()
        latency = self._latencies.get(operation)
        if latency is None:
            latency = self._latencies[operation] = self.latency.labels(operation)
        latency.observe(seconds)
        for code in state.get("error_codes", ()):
            self.errors.labels(code).inc()
        if status == 429:
            self.rate_limited.inc()

    async def render(self, resources: Resources) -> bytes:
        """The text exposition, with the store-backed gauges read now."""
        stats = await read_stats(resources)
        for status, count in stats.jobs_by_status.items():
            self.jobs.labels(status).set(count)
        self.rows_per_second.set(stats.running_rows_per_second)
        self.queue_depth.set(stats.queue_depth)
        self.db_in_use.set(stats.connections_in_use)
        self.db_capacity.set(stats.connections_capacity)
        return generate_latest(self.registry)


class ObserveRequests:
    """Counts and times GraphQL requests, and writes one access-log line per HTTP request when enabled."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, access_log: bool) -> None:
        self.app, self.metrics, self.access_log = app, metrics, access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = ResponseStatus(send)
        try:
            await self.app(scope, receive, status)
        finally:
            seconds = time.perf_counter() - started
            state: dict[str, Any] = scope.get("state") or {}
            if scope["path"] == "/graphql" and "principal" in state:  # an authenticated GraphQL request
                self.metrics.observe(state, status.code, seconds)
            elif status.code == 429:
                self.metrics.rate_limited.inc()
            if self.access_log:
                self._log(scope, state, status.code, seconds)

    @staticmethod
    def _log(scope: Scope, state: dict[str, Any], status: int, seconds: float) -> None:
        principal = state.get("principal")
        # Never the query, variables or headers: they may hold personal data or secrets.
        access_logger.info(
            "%s %s %d %.1fms operation=%s key=%s", scope["method"], scope["path"], status, seconds * 1000,
            state.get("operation_name") or "-", getattr(principal, "id", None) or "-",
        )


def _operation_type(context: ExecutionContext) -> str:
    """`query`, `mutation` or `subscription`; `graphql` when the document did not parse or names no operation."""
    try:
        return context.operation_type.value
    except RuntimeError:
        return "graphql"


class RecordOperation(SchemaExtension):
    """Leaves the executed operation's name and its errors' codes on the request for ObserveRequests."""

    def on_operation(self) -> Iterator[None]:
        # The name and type are known only once the document is parsed: the span is renamed after execution.
        with tracing.graphql_span("graphql", None) as span:
            yield
            context = self.execution_context
            errors = context.result.errors if context.result is not None else None
            codes = [str((e.extensions or {}).get("code", "UNCODED")) for e in errors or ()]
            if span is not None:
                tracing.name_operation(span, _operation_type(context), context.operation_name)
                tracing.record_error_codes(span, codes)
        request = getattr(context.context, "request", None)
        state = getattr(request, "state", None)
        if state is None:
            return
        state.operation_name = context.operation_name
        state.error_codes = codes
