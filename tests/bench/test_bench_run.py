"""`activities bench` end to end at toy sizes: real API, worker and baseline processes; every row gets a figure."""

from __future__ import annotations

import pytest

from app.bench.runner import run_bench
from app.bench.state import Options
from app.settings import Settings


@pytest.mark.e2e
def test_every_figure_is_measured_against_its_baseline(settings: Settings) -> None:
    options = Options(rows=300, persons=30, clients=2, duration=0.3, trials=2, page_size=10, deep_page=1,
                      memory_factor=2, repeats=1)
    report = run_bench(settings, options)
    figures = {r.figure: r for r in report.rows}
    assert len(report.rows) == 11, [r.figure for r in report.rows]
    missing = {name: r.note for name, r in figures.items() if r.value is None}
    assert not missing
    imported = next(r for r in report.rows if r.figure.startswith("import"))
    assert imported.baseline and imported.baseline_label == "COPY" and imported.ratio is not None
    timeline = [r for r in report.rows if r.figure.startswith("timeline") and "req/s" in r.figure]
    assert len(timeline) == 2 and all(r.baseline and r.baseline_label == "Starlette+asyncpg" for r in timeline)
    assert "timeline JSON vs baseline" not in report.facts  # the API and the baseline returned the same nodes
    memory = [r for r in report.rows if r.figure.startswith("peak RSS")]
    assert len(memory) == 2 and all(r.value and r.baseline and r.value > 10 * 2**20 for r in memory)
    lists = [r for r in report.rows if r.figure.startswith("smart list")]
    assert len(lists) == 2 and all(r.baseline_label == "hand SQL" for r in lists)
    assert "same answer as the hand SQL: yes" in lists[0].note
    assert {"postgres", "cpu", "memory", "commit"} <= set(report.facts)
