"""One benchmark run: private stores, data set-up, the real processes, each selected figure, the report."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from app.bench import ingest, postgraphile, queries, reads
from app.bench.datagen import EXAMPLE_TYPES, generate_persons
from app.bench.export import bench_export
from app.bench.figures import bench_freshness, bench_memory
from app.bench.inline import bench_inline
from app.bench.load import client, graphql
from app.bench.machine import machine_facts
from app.bench.queries import FEATURES
from app.bench.report import Goal, Latency, Report, Row
from app.bench.seed import ensure_types, load_persons
from app.bench.smart_lists import bench_smart_lists
from app.bench.stack import Service, Stack, private_stores
from app.bench.state import BASELINE, Options, Run, ensure_data
from app.bench.triggers import bench_triggers
from app.services.runtime import Resources
from app.settings import Settings, to_asyncpg_dsn

logger = logging.getLogger(__name__)

async def discover(stack: Stack) -> set[str]:
    """Which real paths exist now: root fields of Query/Mutation and fields of Person, from introspection."""
    api = stack.services["api"]
    assert api.url
    async with client(api.url, stack.api_key) as http:
        data = await graphql(http, FEATURES)
    names = {f["name"] for f in data["__schema"]["queryType"]["fields"]}
    names |= {f["name"] for f in (data["__schema"]["mutationType"] or {}).get("fields", [])}
    names |= {f"Person.{f['name']}" for f in (data["person"] or {}).get("fields", [])}
    return names


async def prepare(settings: Settings, options: Options, stack: Stack) -> Run:
    assert settings.database_url
    conn = await asyncpg.connect(to_asyncpg_dsn(settings.database_url))
    resources = await Resources.open(settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0}),
                                     connect_queue=False)
    try:
        types = await ensure_types(conn, resources, EXAMPLE_TYPES)
        persons = generate_persons(options.persons, options.seed)
        person_ids = await load_persons(conn, persons)
    finally:
        await conn.close()
        await resources.close()
    features = await discover(stack)
    return Run(options, settings, stack, persons, person_ids, types, features, Report())


async def bench_import(run: Run, tmp: Path) -> None:
    """Figure 1, and the timeline data: COPY baseline, then (if available) the same rows through the upload."""
    o = run.options
    activities = list(run.generator("import").activities(o.rows))
    copy = await ingest.timed_copy(run.dsn, activities, run.person_ids, run.types)
    label = f"import rows/s ({o.rows:,} rows, upload -> SUCCEEDED)"
    if "importActivities" not in run.features or "ingestionJob" not in run.features:
        missing = "not available: no importActivities"
        run.report.add(Row(label, "rows/s", None, copy.rows_per_second, "COPY", note=missing))
        return  # the COPY rows stay as timeline data
    path = tmp / "import.jsonl"
    ingest.write_jsonl(path, activities, run.persons)
    conn = await asyncpg.connect(run.dsn)
    try:
        # Same rows, same empty table (its statistics still describe the COPY'd rows, as in steady state).
        await conn.execute("TRUNCATE activity")
    finally:
        await conn.close()
    api = run.stack.services["api"]
    assert api.url
    cpu = run.stack.worker_cpu_seconds()
    async with client(api.url, run.stack.api_key, timeout=o.job_timeout) as http:  # big uploads take minutes
        result = await ingest.timed_import(http, path, o.rows, o.job_timeout)
    cpu = run.stack.worker_cpu_seconds() - cpu  # per row, it moves far less with the machine's load than rows/s
    worker = result.detail.get("timings", {}).get("durationSeconds")
    note = f"worker phase {o.rows / worker:,.0f} rows/s (job timings)" if worker else ""
    note += f"; worker CPU {cpu / o.rows * 1e6:.1f} us/row ({run.stack.workers} process(es))"
    note += f"; upload {result.detail['uploadSeconds']:.2f} s of {result.seconds:.2f} s"
    run.report.add(
        Row(label, "rows/s", result.rows_per_second, copy.rows_per_second, "COPY", Goal.RATIO_AT_LEAST, 0.5, note)
    )


@dataclass(frozen=True, slots=True)
class Measured:
    """One timeline load run and the server CPU it cost per completed request."""

    latency: Latency
    cpu_ms: float
    stalls: str = ""  # the service's event-loop stalls during the load (the API has a lag probe; the baseline not)


def _latency_rows(name: str, api_m: Measured | None, base_m: Measured, clients: int, reason: str = "") -> list[Row]:
    label = f"{name} req/s ({clients} clients)"
    base = base_m.latency
    if api_m is None:
        return [Row(label, "req/s", None, base.rps, BASELINE, note=f"not available: {reason}")]
    api = api_m.latency
    cpu = f"server CPU/request {api_m.cpu_ms:.1f} ms (baseline {base_m.cpu_ms:.2f} ms)"
    errors = f"{cpu}; {api.errors} failed requests" if api.errors else cpu
    p50 = f"p50 {api.p50_ms:.1f} ms (baseline {base.p50_ms:.1f} ms){api_m.stalls}"
    return [
        Row(label, "req/s", api.rps, base.rps, BASELINE, Goal.RATIO_AT_LEAST, 0.5, errors),
        Row(f"{name} p99 ms ({clients} clients)", "ms", api.p99_ms, base.p99_ms, BASELINE, Goal.VALUE_AT_MOST, 50, p50),
    ]


async def bench_timeline(run: Run) -> None:
    """Figure 2: first and deep pages, GraphQL vs the Starlette+asyncpg baseline, same persons and page size."""
    o = run.options
    await ensure_data(run)
    targets = await reads.pick_persons(run.dsn, o.page_size, o.deep_page)
    api, base = run.stack.services["api"], run.stack.start_baseline()
    assert api.url and base.url

    async def measure(service: Service, grafast: bool = False) -> tuple[Measured, Measured]:
        assert service.url
        key = "" if grafast else run.stack.api_key  # PostGraphile has no keys (it would read a bearer as a JWT)
        query, end_cursor, check = ((postgraphile.QUERY, postgraphile.end_cursor, postgraphile.ok) if grafast
                                    else (queries.TIMELINE, reads.timeline_end_cursor, reads.page_ok))
        async with client(service.url, key) as http:
            deep = await reads.deep_cursors(http, targets.deep, o.page_size, o.deep_page, query, end_cursor)
        first: list[tuple[int, str | None]] = [(p, None) for p in targets.first_page]
        out = []
        for pages in (first, deep):
            async with client(service.url, key) as http:
                stalled, probes = await reads.loop_stalls(http)
                # Server CPU per request is the figure least disturbed by other load on a shared machine.
                lat = await reads.timeline_load(
                    service.url, key, pages, o.page_size, o.clients, o.duration, service.cpu_seconds,
                    query=query, check=check,
                )
                stalled_after, probes_after = await reads.loop_stalls(http)
            stalls = (f"; event loop >10 ms late in {stalled_after - stalled:.0f} of {probes_after - probes:.0f} "
                      "50 ms probes" if probes_after > probes else "")
            out.append(Measured(lat, (lat.probe_delta or 0.0) * 1000 / max(lat.requests, 1), stalls))
        return out[0], out[1]

    base_first, base_deep = await measure(base)
    api_first = api_deep = None
    note = "no Person.timeline"
    if "person" in run.features and "Person.timeline" in run.features:
        api_first, api_deep = await measure(api)
        note = await compare_json(run, targets.first_page[0])
        if note:
            run.report.facts["timeline JSON vs baseline"] = note
    run.report.add(*_latency_rows(f"timeline first page ({o.page_size})", api_first, base_first, o.clients, note))
    run.report.add(
        *_latency_rows(f"timeline deep page (page {o.deep_page + 1})", api_deep, base_deep, o.clients, note)
    )
    if o.postgraphile is not None and api_first is not None and api_deep is not None:
        grafast = postgraphile.start(run.stack, o.postgraphile, run.dsn)
        try:
            pgl_first, pgl_deep = await measure(grafast, grafast=True)
        finally:
            run.stack.services.pop(grafast.name).stop()
        for name, api_m, pgl_m in (("first page", api_first, pgl_first), ("deep page", api_deep, pgl_deep)):
            run.report.add(*_versus_postgraphile(f"timeline {name} vs PostGraphile v5", api_m, pgl_m, o.clients))


def _versus_postgraphile(name: str, api_m: Measured, pgl_m: Measured, clients: int) -> list[Row]:
    """Issue 19's bar: at least 1.3x PostGraphile v5's req/s and a lower p99, same pages, same clients."""
    api, pgl = api_m.latency, pgl_m.latency
    label = "PostGraphile v5"
    cpu = f"server CPU/request {api_m.cpu_ms:.1f} ms (PostGraphile {pgl_m.cpu_ms:.2f} ms, one node process)"
    return [
        Row(f"{name} req/s ({clients} clients)", "req/s", api.rps, pgl.rps, label, Goal.RATIO_AT_LEAST, 1.3, cpu),
        Row(f"{name} p99 ms ({clients} clients)", "ms", api.p99_ms, pgl.p99_ms, label, Goal.RATIO_AT_MOST, 1.0,
            f"p50 {api.p50_ms:.1f} ms (PostGraphile {pgl.p50_ms:.1f} ms)"),
    ]


async def compare_json(run: Run, person: int) -> str:
    from app.bench.queries import TIMELINE

    variables = {"id": str(person), "first": run.options.page_size, "after": None}
    results = []
    for name in ("api", "baseline"):
        url = run.stack.services[name].url
        assert url
        async with client(url, run.stack.api_key) as http:
            results.append(await graphql(http, TIMELINE, variables))
    return reads.same_json(results[0], results[1])


async def execute(settings: Settings, options: Options, stack: Stack, embedded: bool) -> Report:
    run = await prepare(settings, options, stack)
    with tempfile.TemporaryDirectory(prefix="activities-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        steps: dict[str, Callable[[], Awaitable[None]]] = {
            "import": lambda: bench_import(run, tmp),
            "timeline": lambda: bench_timeline(run),
            "freshness": lambda: bench_freshness(run),
            "memory": lambda: bench_memory(run, tmp),
            "export": lambda: bench_export(run, tmp),
            "smartlists": lambda: bench_smart_lists(run),
            "triggers": lambda: bench_triggers(run, tmp),
            "inline": lambda: bench_inline(run),
        }
        for name, step in steps.items():
            if name in options.only:
                logger.info("bench: %s", name)
                try:
                    await step()
                except Exception as exc:  # one broken path must not hide the other figures
                    logger.exception("bench: %s failed", name)
                    run.report.add(Row(name, "", None, note=f"failed: {str(exc)[:200]}"))
    run.report.facts.update(await machine_facts(settings, embedded))
    return run.report


def run_bench(settings: Settings, options: Options) -> Report:
    """Everything, from private stores to the report; processes and the private database are gone on return."""
    import asyncio

    embedded = settings.database_url is None
    # One log directory per run (runs may overlap); kept only when something failed.
    log_dir = Path(tempfile.mkdtemp(prefix="run-", dir=_ensure(settings.data_dir.resolve() / "bench-logs")))
    report: Report | None = None
    with private_stores(settings) as bench_settings:
        stack = Stack(bench_settings, log_dir, workers=options.workers)
        try:
            stack.start_api()
            stack.start_worker()
            report = asyncio.run(execute(bench_settings, options, stack, embedded))
        finally:
            stack.stop()
            if report is not None and not any(r.note.startswith("failed") for r in report.rows):
                shutil.rmtree(log_dir, ignore_errors=True)
            else:
                logger.warning("bench: process logs kept in %s", log_dir)
    assert report is not None
    return report


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
