"""`activities citus up|down|status|url`: a local Citus cluster (coordinator + 2 workers) for development and tests."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.output import console
from app.embedded.citus import CitusUnavailable, LocalCitus, ensure_installed
from app.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    citus = sub.add_parser("citus", help="a local Citus cluster: coordinator + 2 workers under the data directory")
    actions = citus.add_subparsers(dest="citus_command", required=True)
    up = actions.add_parser("up", help="build Citus if needed, start the three nodes and join them")
    up.add_argument("--quiet", "-q", action="store_true", help="print only the coordinator's URL")
    up.set_defaults(handler=cmd_up)
    actions.add_parser("down", help="stop the nodes").set_defaults(handler=cmd_down)
    actions.add_parser("status", help="which nodes run, on which ports").set_defaults(handler=cmd_status)
    url = actions.add_parser("url", help="print the coordinator's URL (for ACTIVITIES_DATABASE_URL)")
    url.add_argument("--database", default="activities", help="database name (default: activities)")
    url.set_defaults(handler=cmd_url)


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    try:
        how = ensure_installed(PROJECT_ROOT, settings.citus_source)
    except CitusUnavailable as exc:
        sys.stderr.write(f"no local Citus: {exc}\n")
        return 2
    url = LocalCitus(settings.data_dir).up()
    if args.quiet:
        sys.stdout.write(url + "\n")
    else:
        console.print(f"{how}; cluster up (coordinator + 2 workers)\n  ACTIVITIES_DATABASE_URL={url}", soft_wrap=True)
    return 0


def cmd_down(args: argparse.Namespace, settings: Settings) -> int:
    stopped = LocalCitus(settings.data_dir).down()
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "no node was running")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    nodes = LocalCitus(settings.data_dir).status()
    for node in nodes:
        console.print(f"{node.name:12} " + (f"running on port {node.port}" if node.port else "stopped"))
    return 0 if all(n.port for n in nodes) else 1


def cmd_url(args: argparse.Namespace, settings: Settings) -> int:
    try:
        sys.stdout.write(LocalCitus(settings.data_dir).url(args.database) + "\n")
    except RuntimeError as exc:
        console.print(f"[bold red]{exc}[/bold red]")
        return 1
    return 0
