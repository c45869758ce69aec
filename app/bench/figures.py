"""Freshness and memory figures: record-to-visible latency, and peak RSS as the imported file grows."""

from __future__ import annotations

import logging
import math
from pathlib import Path

from app.bench import ingest, reads
from app.bench.load import client
from app.bench.report import Goal, Latency, Row, not_available, percentile
from app.bench.state import Run, ensure_data

logger = logging.getLogger(__name__)


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
        async with client(api.url, run.stack.api_key, timeout=o.job_timeout) as http:  # big uploads take minutes
            await ingest.timed_import(http, path, size, o.job_timeout)
        peaks.append((api.stop_sampling(), worker.stop_sampling()))
        path.unlink()
    for j, label in enumerate(labels):
        run.report.add(
            Row(label, "MiB", peaks[1][j], peaks[0][j], f"{sizes[0]:,} rows", Goal.RATIO_AT_MOST, 1.10)
        )
