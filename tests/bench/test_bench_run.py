"""`activities bench` end to end at toy sizes: real API, worker and baseline processes; every row gets a figure."""

from __future__ import annotations

import pytest

from app.bench.runner import run_bench
from app.bench.state import Options
from app.settings import Settings


@pytest.mark.e2e
@pytest.mark.timeout(480)  # nine figures, each with fresh processes, on a shared 2-core machine
def test_every_figure_is_measured_against_its_baseline(settings: Settings) -> None:
    options = Options(rows=300, persons=30, clients=2, duration=0.3, trials=2, page_size=10, deep_page=1,
                      memory_factor=2, repeats=1)
    report = run_bench(settings, options)
    figures = {r.figure: r for r in report.rows}
    assert len(report.rows) == 18, [r.figure for r in report.rows]
    missing = {name: r.note for name, r in figures.items() if r.value is None}
    assert not missing
    imported = next(r for r in report.rows if r.figure.startswith("import"))
    assert imported.baseline and imported.baseline_label == "COPY" and imported.ratio is not None
    timeline = [r for r in report.rows if r.figure.startswith("timeline") and "req/s" in r.figure]
    assert len(timeline) == 2 and all(r.baseline and r.baseline_label == "Starlette+asyncpg" for r in timeline)
    assert "timeline JSON vs baseline" not in report.facts  # the API and the baseline returned the same nodes
    memory = [r for r in report.rows if r.figure.startswith("peak RSS")]
    assert len(memory) == 3 and all(r.value and r.baseline and r.value > 10 * 2**20 for r in memory)
    exported = next(r for r in report.rows if r.figure.startswith("export"))
    assert exported.baseline_label == "COPY to file" and exported.ratio is not None and "rows" in exported.note
    lists = [r for r in report.rows if r.figure.startswith("smart list")]
    assert len(lists) == 2 and all(r.baseline_label == "hand SQL" for r in lists)
    assert "same answer as the hand SQL: yes" in lists[0].note
    triggers = [r for r in report.rows if r.figure.startswith("trigger")]
    assert [r.unit for r in triggers] == ["rows/s", "ms", "activities/s"]
    assert triggers[0].baseline_label == "no trigger" and triggers[0].ratio is not None
    inline = [r for r in report.rows if r.figure.startswith(("Marketo REST", "GraphQL recordActivities"))]
    assert [r.unit for r in inline] == ["activities/s", "activities/s"]
    assert all(r.baseline_label == "COPY" and r.ratio is not None and r.target == 15_000 for r in inline)
    assert {"postgres", "cpu", "memory", "commit"} <= set(report.facts)
