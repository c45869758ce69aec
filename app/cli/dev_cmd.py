"""`activities dev`: embedded stores, migrations, demo data, API and worker; the URL once the API answers."""

from __future__ import annotations

import argparse
import errno
import socket

from app.cli.output import console
from app.settings import Settings

WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def local_url(host: str, port: int, path: str = "") -> str:
    """The URL to open on this machine for a server bound to host:port (wildcards become loopback)."""
    host = WILDCARD_HOSTS.get(host, host)
    return f"http://[{host}]:{port}{path}" if ":" in host else f"http://{host}:{port}{path}"


def port_in_use(host: str, port: int) -> bool:
    """True when host:port cannot be bound because something listens there (checked before starting anything)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror:
        return False  # uvicorn reports a bad host itself
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no conflict
        try:
            sock.bind(address)
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


def _port(value: str) -> int:
    port = int(value) if value.isdigit() else -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError("must be a TCP port, 1-65535")
    return port


def cmd_dev(args: argparse.Namespace, settings: Settings) -> int:
    from app.cli.processes import serve_api, worker_process
    from app.db.migrate import upgrade
    from app.embedded.stores import resolved_stores

    settings = settings.model_copy(update={"host": args.host or settings.host, "port": args.port or settings.port})
    if port_in_use(settings.host, settings.port):
        console.print(f"[bold red]port {settings.port} on {settings.host} is in use[/bold red] (another dev "
                      "server?): choose another with --port (or ACTIVITIES_PORT)")
        return 1
    console.print("[bold]Custom Activities[/bold] dev server: starting PostgreSQL and Redis...")
    with resolved_stores(settings) as resolved:
        assert resolved.database_url
        console.print(f"  postgres {resolved.database_url}\n  redis    {resolved.redis_url}")
        upgrade(resolved.database_url)
        if args.demo:
            from app.bench.demo import load_demo

            demo = load_demo(resolved)
            if demo.activities:
                console.print(f"  demo data: types {', '.join(demo.types)}, {demo.persons} persons, "
                              f"{demo.activities} activities")
            else:
                console.print("  demo data: not loaded, the database already has activities")
        from pydantic import SecretStr

        from app.cli.keys_cmd import ensure_dev_key

        dev_key = ensure_dev_key(resolved)
        resolved = resolved.model_copy(update={"dev_admin_key": SecretStr(dev_key)})
        console.print(f"  admin key {dev_key}\n  (GraphiQL opened from this machine sends it for you; curl: "
                      "-H 'Authorization: Bearer <key>')", soft_wrap=True)
        console.print(f"  starting the worker and the API on {resolved.host}:{resolved.port}...")
        url = local_url(resolved.host, resolved.port, "/graphql")

        def announce() -> None:
            console.print(f"[bold]Ready[/bold]: GraphiQL at [link]{url}[/link] (Ctrl-C stops everything)")

        with worker_process(resolved):
            serve_api(resolved, on_ready=announce, probe_url=local_url(resolved.host, resolved.port, "/healthz"))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dev = sub.add_parser("dev", help="embedded stores + migrations + API + worker, in one command")
    dev.add_argument("--demo", action="store_true",
                     help="load demo types, persons and activities if the database has no activities yet")
    dev.add_argument("--host", help="address the API listens on (default: ACTIVITIES_HOST, 127.0.0.1)")
    dev.add_argument("--port", type=_port, help="port the API listens on (default: ACTIVITIES_PORT, 8000)")
    dev.set_defaults(handler=cmd_dev)
