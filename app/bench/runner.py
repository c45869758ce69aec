"""One benchmark run: private stores, data set-up, the real processes, each selected figure, the report."""

from __future__ import annotations

import logging
import math
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from app.bench import ingest, reads
from app.bench.datagen import EXAMPLE_TYPES, ActivityGenerator, PersonSeed, generate_persons
from app.bench.load import client, graphql
from app.bench.machine import machine_facts
from app.bench.queries import FEATURES
from app.bench.report import Goal, Latency, Report, Row, not_available, percentile
from app.bench.seed import TypeRef, activity_count, ensure_types, load_persons
from app.bench.stack import Service, Stack, private_stores
from app.db.engine import Database
from app.settings import Settings, to_asyncpg_dsn

logger = logging.getLogger(__name__)

FIGURES = ("import", "timeline", "freshness", "memory")
BASELINE = "Starlette+asyncpg"


@dataclass
class Options:
    """Sizes and knobs of one run; the defaults finish in a few minutes on 2 cores."""

    rows: int = 100_000
    persons: int = 2_000
    clients: int = 16
    duration: float = 10.0
    trials: int = 50
    page_size: int = 50
    deep_page: int = 10
    memory_factor: int = 4
    seed: int = 1
    only: frozenset[str] = field(default_factory=lambda: frozenset(FIGURES))
    job_timeout: float = 1800.0


@dataclass
class Run:
    """State shared by the figures of one run."""

    options: Options
    settings: Settings
    stack: Stack
    persons: list[PersonSeed]
    person_ids: list[int]
    types: dict[str, TypeRef]
    features: set[str]
    report: Report

    @property
    def dsn(self) -> str:
        assert self.settings.database_url
        return to_asyncpg_dsn(self.settings.database_url)

    def generator(self, key_prefix: str) -> ActivityGenerator:
        return ActivityGenerator(
            self.persons, [t.definition for t in self.types.values()], seed=self.options.seed, key_prefix=key_prefix
        )


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
    db = Database(settings.database_url, pool_size=1, max_overflow=0)
    try:
        types = await ensure_types(conn, db, settings.limits, EXAMPLE_TYPES)
        persons = generate_persons(options.persons, options.seed)
        person_ids = await load_persons(conn, persons)
    finally:
        await conn.close()
        await db.dispose()
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
        await conn.execute("TRUNCATE activity")
        await conn.execute("VACUUM ANALYZE activity")
    finally:
        await conn.close()
    api = run.stack.services["api"]
    assert api.url
    async with client(api.url, run.stack.api_key) as http:
        result = await ingest.timed_import(http, path, o.rows, o.job_timeout)
    worker = result.detail.get("timings", {}).get("durationSeconds")
    note = f"worker phase {o.rows / worker:,.0f} rows/s (job timings)" if worker else ""
    run.report.add(
        Row(label, "rows/s", result.rows_per_second, copy.rows_per_second, "COPY", Goal.RATIO_AT_LEAST, 0.5, note)
    )


async def ensure_data(run: Run) -> None:
    """Timeline and freshness need activities; COPY them if the import figure did not run."""
    conn = await asyncpg.connect(run.dsn)
    try:
        has = await activity_count(conn)
    finally:
        await conn.close()
    if not has:
        activities = list(run.generator("import").activities(run.options.rows))
        await ingest.timed_copy(run.dsn, activities, run.person_ids, run.types)


@dataclass(frozen=True, slots=True)
class Measured:
    """One timeline load run and the server CPU it cost per completed request."""

    latency: Latency
    cpu_ms: float


def _latency_rows(name: str, api_m: Measured | None, base_m: Measured, clients: int, reason: str = "") -> list[Row]:
    label = f"{name} req/s ({clients} clients)"
    base = base_m.latency
    if api_m is None:
        return [Row(label, "req/s", None, base.rps, BASELINE, note=f"not available: {reason}")]
    api = api_m.latency
    cpu = f"server CPU/request {api_m.cpu_ms:.1f} ms (baseline {base_m.cpu_ms:.2f} ms)"
    errors = f"{cpu}; {api.errors} failed requests" if api.errors else cpu
    p50 = f"p50 {api.p50_ms:.1f} ms (baseline {base.p50_ms:.1f} ms)"
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

    async def measure(service: Service) -> tuple[Measured, Measured]:
        assert service.url
        async with client(service.url, run.stack.api_key) as http:
            deep = await reads.deep_cursors(http, targets.deep, o.page_size, o.deep_page)
        first: list[tuple[int, str | None]] = [(p, None) for p in targets.first_page]
        out = []
        for pages in (first, deep):
            # Server CPU per request is the figure least disturbed by other load on a shared machine.
            lat = await reads.timeline_load(
                service.url, run.stack.api_key, pages, o.page_size, o.clients, o.duration, service.cpu_seconds
            )
            out.append(Measured(lat, (lat.probe_delta or 0.0) * 1000 / max(lat.requests, 1)))
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


async def bench_freshness(run: Run) -> None:
    o = run.options
    label = f"freshness p99 ms ({o.trials} trials)"
    if "recordActivities" not in run.features or "Person.timeline" not in run.features:
        run.report.add(not_available(label, "ms", "no recordActivities or Person.timeline"))
        return
    await ensure_data(run)
    api = run.stack.services["api"]
    assert api.url
    activities = list(run.generator("fresh").activities(o.trials))
    async with client(api.url, run.stack.api_key) as http:
        # One untimed trial first: a fresh worker's first job pays its one-off start-up (types, validators).
        await reads.freshness(http, list(run.generator("fresh-warmup").activities(1)), run.persons, run.person_ids)
        samples, phases = await reads.freshness(http, activities, run.persons, run.person_ids)
    slowest = max(range(len(samples)), key=samples.__getitem__)
    logger.info("freshness: slowest trial #%d took %.0f ms", slowest, samples[slowest] * 1000)
    lat = Latency.of(samples, 1.0)
    waits = [w * 1000 for w, _ in phases if not math.isnan(w)]
    runs = [r * 1000 for _, r in phases if not math.isnan(r)]
    note = f"p50 {lat.p50_ms:.0f} ms"
    if waits:
        note += f"; job queued p50 {percentile(waits, 50):.0f} ms"
    if runs:
        note += f", running p50 {percentile(runs, 50):.0f} ms"
    run.report.add(Row(label, "ms", lat.p99_ms, goal=Goal.VALUE_AT_MOST, target=500, note=note))


async def bench_memory(run: Run, tmp: Path) -> None:
    """Figure 4: fresh API and worker processes per size, peak RSS (children included) during the import."""
    o = run.options
    sizes = (o.rows, o.rows * o.memory_factor)
    labels = [f"peak RSS {name} ({sizes[0]:,} vs {sizes[1]:,} rows)" for name in ("API", "worker")]
    if "importActivities" not in run.features:
        run.report.add(*(not_available(label, "MiB", "no importActivities") for label in labels))
        return
    peaks: list[tuple[int, int]] = []
    for i, size in enumerate(sizes):
        path = tmp / f"memory-{i}.jsonl"
        ingest.write_jsonl(path, run.generator(f"memory{i}").activities(size), run.persons)
        run.stack.restart_api_and_worker()
        api, worker = run.stack.services["api"], run.stack.services["worker"]
        assert api.url
        api.start_sampling()
        worker.start_sampling()
        async with client(api.url, run.stack.api_key) as http:
            await ingest.timed_import(http, path, size, o.job_timeout)
        peaks.append((api.stop_sampling(), worker.stop_sampling()))
        path.unlink()
    for j, label in enumerate(labels):
        run.report.add(
            Row(label, "MiB", peaks[1][j], peaks[0][j], f"{sizes[0]:,} rows", Goal.RATIO_AT_MOST, 1.10)
        )


async def execute(settings: Settings, options: Options, stack: Stack, embedded: bool) -> Report:
    run = await prepare(settings, options, stack)
    with tempfile.TemporaryDirectory(prefix="activities-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        steps: dict[str, Callable[[], Awaitable[None]]] = {
            "import": lambda: bench_import(run, tmp),
            "timeline": lambda: bench_timeline(run),
            "freshness": lambda: bench_freshness(run),
            "memory": lambda: bench_memory(run, tmp),
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
    log_dir = settings.data_dir.resolve() / "bench-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with private_stores(settings) as bench_settings:
        stack = Stack(bench_settings, log_dir)
        try:
            stack.start_api()
            stack.start_worker()
            return asyncio.run(execute(bench_settings, options, stack, embedded))
        finally:
            stack.stop()
