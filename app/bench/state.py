"""What one benchmark run shares: its options, the started stack, the loaded data and the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from app.bench import ingest
from app.bench.datagen import ActivityGenerator, PersonSeed
from app.bench.report import Report
from app.bench.seed import TypeRef, activity_count
from app.bench.stack import Stack
from app.settings import Settings, to_asyncpg_dsn

FIGURES = ("import", "timeline", "freshness", "memory", "export", "smartlists", "triggers", "inline")
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
    repeats: int = 7  # timed runs of each smart-list figure (median reported), after one warm-up
    seed: int = 1
    only: frozenset[str] = field(default_factory=lambda: frozenset(FIGURES))
    job_timeout: float = 1800.0
    postgraphile: Path | None = None  # a folder with `npm install node@22 postgraphile@5`: timeline beside it too
    workers: int = 1  # worker processes


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
