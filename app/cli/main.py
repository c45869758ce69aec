"""Entry point of the `activities` command: dev, serve, worker, migrate, export-schema."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from app.cli import dev_cmd
from app.cli.output import console
from app.embedded.stores import resolved_stores
from app.logs import configure_logging
from app.settings import Settings, get_settings

logger = logging.getLogger("app.cli")

Handler = Callable[[argparse.Namespace, Settings], int]


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from app.cli.processes import serve_api
    from app.db.migrate import upgrade

    embedded = settings.database_url is None
    with resolved_stores(settings) as resolved:
        assert resolved.database_url
        if args.migrate or (embedded and args.migrate is None):
            upgrade(resolved.database_url)
        serve_api(resolved)
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from workers.settings import build_worker

    with resolved_stores(settings) as resolved:
        build_worker(resolved, burst=args.burst).run()
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from app.db.migrate import upgrade

    with resolved_stores(settings) as resolved:
        assert resolved.database_url
        upgrade(resolved.database_url, args.revision)
        console.print(f"database migrated to {args.revision}")
    return 0


def cmd_export_schema(args: argparse.Namespace, settings: Settings) -> int:
    from app.api.schema import schema_sdl

    sdl = schema_sdl()
    if args.output == "-":
        sys.stdout.write(sdl)
    else:
        Path(args.output).write_text(sdl)
        console.print(f"wrote {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="activities", description="Custom Activities service.")
    sub = parser.add_subparsers(dest="command", required=True)

    dev_cmd.register(sub)

    serve = sub.add_parser("serve", help="run the API only")
    serve.add_argument("--migrate", action=argparse.BooleanOptionalAction, default=None,
                       help="migrate before serving (default: only for the embedded database)")
    serve.set_defaults(handler=cmd_serve)

    worker = sub.add_parser("worker", help="run an arq worker only")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.set_defaults(handler=cmd_worker)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.set_defaults(handler=cmd_migrate)

    export = sub.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", "-o", default="schema.graphql", help="file to write, or - for stdout")
    export.set_defaults(handler=cmd_export_schema)

    for register in extra_commands():
        register(sub)
    return parser


def extra_commands() -> list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]]:
    """Subcommands contributed by features (import, keys, bench); each adds its parser and handler."""
    from app.cli import bench_cmd, import_cmd, keys_cmd

    return [bench_cmd.register, import_cmd.register, keys_cmd.register]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    configure_logging(settings)
    try:
        handler: Handler = args.handler
        return handler(args, settings)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
