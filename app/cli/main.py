"""Entry point of the `activities` command: dev, serve, worker, migrate, export-schema."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from app.cli.dev_cmd import tcp_port
from app.cli.output import console
from app.cli.preflight import StartupRefused, check_startup, settings_problem
from app.embedded import EmbeddedStoresMissing
from app.embedded.stores import resolved_stores
from app.logs import configure_logging
from app.settings import Settings, get_settings

logger = logging.getLogger("app.cli")

Handler = Callable[[argparse.Namespace, Settings], int]


def cmd_dev(args: argparse.Namespace, settings: Settings) -> int:
    from app.cli.dev_cmd import local_url, port_in_use
    from app.cli.processes import serve_api, worker_processes
    from app.db.migrate import upgrade

    settings = settings.model_copy(update={"host": args.host or settings.host, "port": args.port or settings.port})
    if port_in_use(settings.host, settings.port):
        console.print(f"[bold red]port {settings.port} on {settings.host} is in use[/bold red] (another dev "
                      "server?): choose another with --port (or ACTIVITIES_PORT)")
        return 1
    console.print("[bold]Custom Activities[/bold] dev server: starting PostgreSQL and Redis...")
    with resolved_stores(settings) as resolved:
        assert resolved.database_url
        upgrade(resolved.database_url, shard_count=resolved.citus_shard_count)
        if args.demo:
            from app.bench.demo import load_demo

            demo = load_demo(resolved)
            if demo.activities:
                console.print(f"  demo data: types {', '.join(demo.types)}, {demo.persons} persons, "
                              f"{demo.activities} activities")
            else:
                console.print("  demo data: not loaded, the database already has activities")
        console.print(f"  postgres {resolved.database_url}\n  redis    {resolved.redis_url}")
        from pydantic import SecretStr

        from app.cli.keys_cmd import ensure_dev_key

        dev_key = ensure_dev_key(resolved)
        resolved = resolved.model_copy(update={"dev_admin_key": SecretStr(dev_key)})
        console.print(f"  admin key {dev_key}\n  (GraphiQL opened from this machine sends it for you; curl: "
                      "-H 'Authorization: Bearer <key>')", soft_wrap=True)
        console.print(f"  starting {resolved.worker_processes} worker process(es) and the API on "
                      f"{resolved.host}:{resolved.port}...")
        url = local_url(resolved.host, resolved.port, "/graphql")

        def announce() -> None:
            console.print(f"[bold]Ready[/bold]: GraphiQL at [link]{url}[/link] (Ctrl-C stops everything)")

        with worker_processes(resolved, resolved.worker_processes):
            serve_api(resolved, on_ready=announce, probe_url=local_url(resolved.host, resolved.port, "/healthz"))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from app.cli.processes import serve_api
    from app.db.migrate import upgrade

    embedded = settings.database_url is None
    with resolved_stores(settings) as resolved:
        assert resolved.database_url
        if args.migrate or (embedded and args.migrate is None):
            upgrade(resolved.database_url, shard_count=resolved.citus_shard_count)
        check_startup(resolved, api=True)
        serve_api(resolved)
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from workers.settings import build_worker

    if args.check:
        from workers.settings import worker_alive

        if settings.redis_url is None:
            logger.error("worker --check needs ACTIVITIES_REDIS_URL (the Redis the worker uses)")
            return 2
        return 0 if worker_alive(settings) else 1
    with resolved_stores(settings) as resolved:
        check_startup(resolved, api=False)
        build_worker(resolved, burst=args.burst).run()
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from app.db.migrate import DistributionError, upgrade

    with resolved_stores(settings) as resolved:
        assert resolved.database_url
        try:
            placed = upgrade(resolved.database_url, args.revision, shard_count=resolved.citus_shard_count)
        except DistributionError as exc:
            console.print(f"[bold red]the Citus cluster is not ready[/bold red]: {exc}", soft_wrap=True)
            return 1
        console.print(f"database migrated to {args.revision}")
        for line in placed:
            console.print(f"  citus: {line}")
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


def installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("custom-activities")
    except PackageNotFoundError:  # run from a source tree without installing
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="activities", description="Custom Activities service.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="embedded stores + migrations + API + worker, in one command")
    dev.add_argument("--demo", action="store_true",
                     help="load demo types, persons and activities if the database has no activities yet")
    dev.add_argument("--host", help="address the API listens on (default: ACTIVITIES_HOST, 127.0.0.1)")
    dev.add_argument("--port", type=tcp_port, help="port the API listens on (default: ACTIVITIES_PORT, 8000)")
    dev.set_defaults(handler=cmd_dev)

    serve = sub.add_parser("serve", help="run the API only")
    serve.add_argument("--migrate", action=argparse.BooleanOptionalAction, default=None,
                       help="migrate before serving (default: only for the embedded database)")
    serve.set_defaults(handler=cmd_serve)

    worker = sub.add_parser("worker", help="run an arq worker only")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.add_argument("--check", action="store_true",
                        help="exit 0 if a worker on this host is alive (recorded its health in the last 6 s), else 1")
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
    """Subcommands contributed by features (import, keys, bench, ...); each adds its parser and handler."""
    from app.cli import bench_cmd, citus_cmd, export_cmd, import_cmd, keys_cmd, webhook_listen_cmd

    return [bench_cmd.register, citus_cmd.register, export_cmd.register, import_cmd.register, keys_cmd.register,
            webhook_listen_cmd.register]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as error:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
        logger.error("configuration refused: %s", settings_problem(error))
        return 2
    configure_logging(settings)
    try:
        handler: Handler = args.handler
        return handler(args, settings)
    except (StartupRefused, EmbeddedStoresMissing) as error:
        logger.error("startup refused: %s", error)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
