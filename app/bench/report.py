"""The result table: each figure beside its baseline, the ratio, the target and whether it is met."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Goal(StrEnum):
    """How a row is judged."""

    RATIO_AT_LEAST = "ratio >="  # value / baseline must be at least `target` (throughput)
    RATIO_AT_MOST = "ratio <="  # value / baseline must be at most `target` (memory growth)
    VALUE_AT_MOST = "value <"  # value must stay under `target` (latency)
    VALUE_AT_LEAST = "value >="  # value must reach `target` (an absolute throughput goal)
    NONE = ""  # informational


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table. `value` None means the path is not available (see `note`)."""

    figure: str
    unit: str
    value: float | None
    baseline: float | None = None
    baseline_label: str = ""
    goal: Goal = Goal.NONE
    target: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        """True/False when the row has a target and a figure; None when there is nothing to judge."""
        if self.target is None or self.value is None:
            return None
        if self.goal is Goal.VALUE_AT_MOST:
            return self.value < self.target
        if self.goal is Goal.VALUE_AT_LEAST:
            return self.value >= self.target
        ratio = self.ratio
        if ratio is None:
            return None
        return ratio >= self.target if self.goal is Goal.RATIO_AT_LEAST else ratio <= self.target


def not_available(figure: str, unit: str, reason: str) -> Row:
    return Row(figure, unit, None, note=f"not available: {reason}")


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Latency:
    """Summary of one load run: completed requests per second and latency percentiles in ms."""

    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    probe_delta: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @classmethod
    def of(cls, latencies_s: Sequence[float], seconds: float, errors: int = 0, probe: float | None = None) -> Latency:
        if not latencies_s:
            return cls(0, errors, seconds, math.nan, math.nan, math.nan, probe)
        ms = [x * 1000 for x in latencies_s]
        return cls(len(ms), errors, seconds, percentile(ms, 50), percentile(ms, 99), statistics.fmean(ms), probe)


def _num(value: float | None, unit: str) -> str:
    if value is None or math.isnan(value):
        return "-"
    if unit == "MiB":
        return f"{value / 2**20:,.0f} MiB"
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}".strip()
    return f"{value:,.1f} {unit}".strip()


def _verdict(row: Row) -> str:
    if row.value is None:
        return "n/a"
    met = row.met
    return "-" if met is None else ("met" if met else "MISSED")


def _target(row: Row) -> str:
    if row.target is None:
        return ""
    if row.goal is Goal.VALUE_AT_MOST:
        return f"< {_num(row.target, row.unit)}"
    if row.goal is Goal.VALUE_AT_LEAST:
        return f">= {_num(row.target, row.unit)}"
    return f"{row.goal.value} {row.target:g}"


@dataclass
class Report:
    """All rows of one run plus the facts needed to reproduce it."""

    rows: list[Row] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)

    def add(self, *rows: Row) -> None:
        self.rows.extend(rows)

    def cells(self) -> list[list[str]]:
        out = []
        for r in self.rows:
            ratio = r.ratio
            baseline = f"{_num(r.baseline, r.unit)} ({r.baseline_label})" if r.baseline is not None else ""
            out.append([
                r.figure,
                _num(r.value, r.unit) if r.value is not None else "not available",
                baseline,
                f"{ratio:.2f}" if ratio is not None else "",
                _target(r),
                _verdict(r),
                r.note,
            ])
        return out

    HEADERS = ("figure", "service", "baseline", "ratio", "target", "verdict", "note")

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.HEADERS) + " |", "|" + "---|" * len(self.HEADERS)]
        lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in self.cells()]
        facts = [f"- {k}: {v}" for k, v in self.facts.items()]
        return "\n".join([*lines, "", *facts]) + "\n"
