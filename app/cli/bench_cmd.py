"""`activities bench`: measure import, timeline reads, freshness and memory against baselines in one run."""

from __future__ import annotations

import argparse
import logging
import signal
from pathlib import Path

from rich.table import Table

from app.cli.output import console
from app.settings import Settings


def _figures(value: str) -> frozenset[str]:
    from app.bench.state import FIGURES

    chosen = frozenset(v.strip() for v in value.split(",") if v.strip())
    unknown = chosen - set(FIGURES)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(FIGURES)}")
    return chosen


def _postgraphile(value: str) -> Path:
    from app.bench.postgraphile import executable

    folder = Path(value).resolve()
    try:
        executable(folder)  # refused now, not after minutes of data set-up
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return folder


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from app.bench.runner import run_bench
    from app.bench.state import FIGURES, Options

    options = Options(
        rows=args.rows,
        persons=args.persons,
        clients=args.clients,
        duration=args.duration,
        trials=args.trials,
        seed=args.seed,
        only=args.only or frozenset(FIGURES),
        postgraphile=args.postgraphile,
        workers=args.workers,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    # SIGTERM unwinds like Ctrl-C, so the processes we started stop and the private database is dropped.
    signal.signal(signal.SIGTERM, _interrupt)
    report = run_bench(settings, options)
    table = Table(title="Custom Activities benchmark")
    for header in report.HEADERS:
        table.add_column(header)
    for cells in report.cells():
        table.add_row(*cells)
    console.print(table, width=max(console.width, 180))
    for key, value in report.facts.items():
        console.print(f"  {key}: {value}")
    if args.markdown:
        Path(args.markdown).write_text(report.markdown())
        console.print(f"wrote {args.markdown}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser("bench", help="benchmark import, timeline, freshness, memory and export against baselines")
    bench.add_argument("--rows", type=int, default=100_000, help="rows per import (memory also imports 4x this)")
    bench.add_argument("--persons", type=int, default=2_000, help="persons in the generated data")
    bench.add_argument("--clients", type=int, default=16, help="concurrent timeline clients")
    bench.add_argument("--duration", type=float, default=10.0, help="seconds of load per timeline or inline run")
    bench.add_argument("--trials", type=int, default=50, help="freshness trials")
    bench.add_argument("--seed", type=int, default=1, help="data generator seed")
    bench.add_argument("--workers", type=int, default=1, help="worker processes (a large import may use several)")
    bench.add_argument("--only", type=_figures, default=None,
                       help="comma list of: import,timeline,freshness,memory,export,smartlists,triggers,inline")
    bench.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown to FILE")
    bench.add_argument("--postgraphile", metavar="DIR", type=_postgraphile,
                       help="also load PostGraphile v5 (DIR: where `npm install node@22 postgraphile@5` ran)")
    bench.set_defaults(handler=cmd_bench)
