"""Ratio, verdict and percentile math of the benchmark table."""

from __future__ import annotations

import math

import pytest

from app.bench.report import Goal, Latency, Report, Row, not_available, percentile


def test_throughput_ratio_is_service_over_baseline() -> None:
    row = Row("import", "rows/s", 30_000, 100_000, "COPY", Goal.RATIO_AT_LEAST, 0.5)
    assert row.ratio == pytest.approx(0.3)
    assert row.met is False
    assert Row("import", "rows/s", 60_000, 100_000, "COPY", Goal.RATIO_AT_LEAST, 0.5).met is True
    assert Row("import", "rows/s", 50_000, 100_000, "COPY", Goal.RATIO_AT_LEAST, 0.5).met is True  # boundary


def test_memory_ratio_must_stay_under_the_ceiling() -> None:
    mib = 2**20
    assert Row("rss", "MiB", 108 * mib, 100 * mib, "small", Goal.RATIO_AT_MOST, 1.10).met is True
    assert Row("rss", "MiB", 111 * mib, 100 * mib, "small", Goal.RATIO_AT_MOST, 1.10).met is False


def test_latency_target_is_absolute_and_strict() -> None:
    assert Row("p99", "ms", 49.9, 10, "base", Goal.VALUE_AT_MOST, 50).met is True
    assert Row("p99", "ms", 50.0, 10, "base", Goal.VALUE_AT_MOST, 50).met is False
    assert Row("p99", "ms", 20, None, goal=Goal.VALUE_AT_MOST, target=500).met is True


def test_throughput_target_is_absolute_and_inclusive() -> None:
    row = Row("inline", "activities/s", 15_000, 60_000, "COPY", Goal.VALUE_AT_LEAST, 15_000)
    assert row.met is True and row.ratio == 0.25  # the ratio is shown; the value alone is judged
    assert Row("inline", "activities/s", 14_999, 10_000, "COPY", Goal.VALUE_AT_LEAST, 15_000).met is False
    assert Report(rows=[row]).cells()[0][4] == ">= 15,000 activities/s"


def test_missing_figure_or_baseline_gives_no_ratio_and_no_verdict() -> None:
    missing = not_available("freshness", "ms", "no recordActivities")
    assert missing.value is None and missing.ratio is None and missing.met is None
    assert Row("x", "rows/s", 10, 0, goal=Goal.RATIO_AT_LEAST, target=0.5).ratio is None
    assert Row("x", "rows/s", 10, None, goal=Goal.RATIO_AT_LEAST, target=0.5).met is None


def test_percentile_is_nearest_rank() -> None:
    samples = list(range(1, 101))
    assert percentile(samples, 50) == 50
    assert percentile(samples, 99) == 99
    assert percentile(samples, 100) == 100
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_latency_summary() -> None:
    lat = Latency.of([0.001] * 98 + [0.010, 0.020], seconds=2.0, errors=1)
    assert lat.requests == 100 and lat.errors == 1
    assert lat.rps == 50
    assert lat.p50_ms == pytest.approx(1.0) and lat.p99_ms == pytest.approx(10.0)
    empty = Latency.of([], seconds=1.0, errors=3)
    assert empty.rps == 0 and math.isnan(empty.p99_ms)


def test_table_cells_and_markdown() -> None:
    report = Report()
    report.add(
        Row("import rows/s", "rows/s", 25_000, 100_000, "COPY", Goal.RATIO_AT_LEAST, 0.5),
        Row("peak RSS API", "MiB", 120 * 2**20, 118 * 2**20, "100k rows", Goal.RATIO_AT_MOST, 1.1),
        not_available("freshness p99 ms", "ms", "no recordActivities"),
    )
    report.facts["cpu"] = "2 cores"
    cells = report.cells()
    assert cells[0][:6] == ["import rows/s", "25,000 rows/s", "100,000 rows/s (COPY)", "0.25", "ratio >= 0.5", "MISSED"]
    assert cells[1][1:6] == ["120 MiB", "118 MiB (100k rows)", "1.02", "ratio <= 1.1", "met"]
    assert cells[2][1] == "not available" and cells[2][5] == "n/a" and "no recordActivities" in cells[2][6]
    markdown = report.markdown()
    assert markdown.splitlines()[0].startswith("| figure | service | baseline | ratio |")
    assert "- cpu: 2 cores" in markdown
