"""OpenTelemetry traces, off unless asked: spans for HTTP requests, GraphQL operations, SQL and worker jobs, one trace
from the API request to the worker job it enqueued (W3C `traceparent` carried in the job's arguments)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, StatusCode

from app import __version__
from app.settings import Settings

TRACER_NAME = "custom_activities"
PROPAGATED_HEADERS = (b"traceparent", b"tracestate", b"baggage")

_enabled = False
"""Per process: tracing is a process-wide choice (one tracer provider, one SQL instrumentation), set once at start."""


class TracingUnavailable(RuntimeError):
    """ACTIVITIES_TRACING asks for traces but the `otel` extra is not installed."""


def configure(settings: Settings, service: str) -> bool:
    """Install the SDK tracer provider (OTLP over HTTP, batched) and the asyncpg instrumentation, once per process,
    when `ACTIVITIES_TRACING=otlp`. The exporter, sampler and resource follow the standard `OTEL_*` variables
    (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_SAMPLER, OTEL_SERVICE_NAME, ...). Returns whether tracing is on."""
    global _enabled
    if settings.tracing == "off" or _enabled:
        return _enabled
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as missing:
        raise TracingUnavailable(
            "ACTIVITIES_TRACING=otlp needs the OpenTelemetry SDK: pip install 'custom-activities[otel]'"
        ) from missing
    # OTEL_SERVICE_NAME, when set, wins over this default (the SDK's resource detection).
    resource = Resource.create({"service.name": f"custom-activities-{service}", "service.version": __version__})
    provider = TracerProvider(resource=resource)  # flushed at interpreter exit (shutdown_on_exit)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    # Wraps asyncpg's Connection and PreparedStatement calls: covers the SQLAlchemy sessions and the raw pool alike.
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    _enabled = True
    return True


def _tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME, __version__)


def carrier() -> dict[str, str] | None:
    """The current trace context to hand to a job, or None when tracing is off (job arguments stay as they were)."""
    if not _enabled:
        return None
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers or None


@contextlib.contextmanager
def request_span(method: str, path: str, headers: Iterable[tuple[bytes, bytes]]) -> Iterator[Span]:
    """A SERVER span for one HTTP request, continuing the caller's trace when it sent `traceparent`."""
    incoming = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers if k in PROPAGATED_HEADERS}
    attributes = {"http.request.method": method, "url.path": path}
    with _tracer().start_as_current_span(f"{method} {path}", context=propagate.extract(incoming),
                                         kind=SpanKind.SERVER, attributes=attributes) as span:
        yield span


def end_request(span: Span, status: int, operation_name: object) -> None:
    span.set_attribute("http.response.status_code", status)
    if isinstance(operation_name, str) and operation_name:
        span.set_attribute("graphql.operation.name", operation_name[:64])
    if status >= 500:
        span.set_status(StatusCode.ERROR)


@contextlib.contextmanager
def graphql_span(operation_type: str, operation_name: str | None) -> Iterator[Span | None]:
    """A span for executing one GraphQL operation (both the compiled and the normal path call this)."""
    if not _enabled:
        yield None
        return
    with _tracer().start_as_current_span("graphql", kind=SpanKind.INTERNAL) as span:
        name_operation(span, operation_type, operation_name)
        yield span


def name_operation(span: Span, operation_type: str, operation_name: str | None) -> None:
    """Semantic conventions: `{type} {name}`, or the type alone for an anonymous operation."""
    name = operation_name[:64] if operation_name else None
    span.update_name(f"{operation_type} {name}" if name else operation_type)
    span.set_attribute("graphql.operation.type", operation_type)
    if name:
        span.set_attribute("graphql.operation.name", name)


def record_error_codes(span: Span | None, codes: list[str]) -> None:
    if span is not None and codes:
        span.set_attribute("graphql.error.codes", sorted(set(codes)))
        span.set_status(StatusCode.ERROR)


@contextlib.contextmanager
def job_span(what: str, job_id: str, trace_carrier: Mapping[str, Any] | None) -> Iterator[None]:
    """A CONSUMER span for one worker job, a child of the request that enqueued it when it carried a trace."""
    if not _enabled:
        yield
        return
    parent = propagate.extract({str(k): str(v) for k, v in (trace_carrier or {}).items()})
    with _tracer().start_as_current_span(f"{what} job", context=parent, kind=SpanKind.CONSUMER,
                                         attributes={"messaging.system": "arq", "activities.job.id": job_id}):
        yield
