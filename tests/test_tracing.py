"""Traces end to end: an API process and a worker process, both with ACTIVITIES_TRACING=otlp, send their spans to a
real OTLP/HTTP receiver; a request's trace continues the caller's traceparent and reaches the job it enqueued."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import insert_key
from tests.conftest import child_env, eventually, serve, serving
from tests.stores import PROJECT_ROOT

pytestmark = pytest.mark.e2e

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, object]


class OtlpReceiver(ThreadingHTTPServer):
    """The collector's side of OTLP/HTTP (protobuf): keeps every span it is sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ExportHandler)
        self.spans: list[ReceivedSpan] = []
        self.paths: set[str] = set()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ExportHandler(BaseHTTPRequestHandler):
    server: OtlpReceiver

    def do_POST(self) -> None:
        request = ExportTraceServiceRequest.FromString(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.paths.add(self.path)
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                self.server.spans.extend(
                    ReceivedSpan(resource["service.name"], s.name, s.kind, s.trace_id.hex(), s.span_id.hex(),
                                 s.parent_span_id.hex(), {a.key: _value(a.value) for a in s.attributes})
                    for s in scope_spans.spans)
        body = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _value(value: object) -> object:
    kind = value.WhichOneof("value")  # type: ignore[attr-defined]
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]  # type: ignore[attr-defined]
    return getattr(value, kind) if kind else None


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    server = OtlpReceiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def traced_api(settings: Settings, receiver: OtlpReceiver) -> Iterator[int]:
    """An API process and a worker process exporting their traces to `receiver`; yields the API's port."""
    env = {"ACTIVITIES_TRACING": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
           "OTEL_BSP_SCHEDULE_DELAY": "100"}
    worker = subprocess.Popen([sys.executable, "-m", "app.cli.main", "worker"], env={**child_env(settings), **env},
                              cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield from serve(settings, **env)
    finally:
        worker.kill()
        worker.wait()


async def test_a_request_and_the_job_it_enqueues_form_one_trace_with_sql_spans(
    resources: Resources, receiver: OtlpReceiver, traced_api: int
) -> None:
    await eventually(lambda: serving(traced_api), timeout=60)
    token = await insert_key(resources)
    mutation = "mutation StartExport { exportPersons(input: {}) { job { id } errors { code } } }"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{traced_api}", timeout=30) as http:
        response = await http.post("/graphql", json={"query": mutation, "operationName": "StartExport"},
                                   headers={"Authorization": f"Bearer {token}",
                                            "traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01"})
    assert response.json()["data"]["exportPersons"]["errors"] == []

    def in_trace(service: str) -> list[ReceivedSpan]:
        return [s for s in list(receiver.spans) if s.service == service and s.trace_id == TRACE_ID]

    async def both_exported() -> bool:
        return (any(s.kind == 2 for s in in_trace("custom-activities-api"))
                and any(s.name == "export job" for s in in_trace("custom-activities-worker")))

    await eventually(both_exported, timeout=30)
    api = in_trace("custom-activities-api")
    (request,) = [s for s in api if s.kind == 2]  # SERVER
    assert (request.name, request.parent_id) == ("POST /graphql", CALLER_SPAN)
    assert request.attributes["http.response.status_code"] == 200
    assert request.attributes["graphql.operation.name"] == "StartExport"
    (operation,) = [s for s in api if s.name == "mutation StartExport"]
    assert operation.parent_id == request.span_id
    assert operation.attributes["graphql.operation.type"] == "mutation"
    api_ids = {s.span_id for s in api}
    assert any(s.kind == 3 and s.parent_id in api_ids for s in api), "no SQL (CLIENT) span under the request"

    worker_spans = in_trace("custom-activities-worker")
    (job,) = [s for s in worker_spans if s.name == "export job"]
    assert job.kind == 5 and job.parent_id in api_ids  # CONSUMER, a child of a span of the enqueuing request
    assert any(s.kind == 3 and s.parent_id == job.span_id for s in worker_spans), "no SQL span under the job"
    assert receiver.paths == {"/v1/traces"}
