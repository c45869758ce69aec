"""`activities webhook-listen`: a local receiver that checks Standard Webhooks signatures and prints deliveries."""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import orjson

from app.cli.dev_cmd import tcp_port
from app.cli.output import console
from app.domain.webhook_signing import SignatureError, verify
from app.settings import Settings

SECRET_ENV = "WEBHOOK_SECRET"


def build_app(secret: str | None, status: int, show_json: bool) -> Any:
    """A Starlette app answering POSTs on any path: 401 for a bad signature, else `status`."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def receive(request: Request) -> PlainTextResponse:
        body = await request.body()
        headers = dict(request.headers)
        msg_id = headers.get("webhook-id", "?")
        if secret is not None:
            try:
                verify(secret, headers, body, now=int(time.time()))
            except SignatureError as error:
                console.print(f"[bold red]refused[/bold red] {msg_id}: {error}")
                return PlainTextResponse("bad signature", 401)
        try:
            message = orjson.loads(body)
            activities = message.get("activities", [])
            trigger = message.get("trigger", {}).get("name", "?")
        except (orjson.JSONDecodeError, AttributeError):
            console.print(f"[bold red]not JSON[/bold red] {msg_id}")
            return PlainTextResponse("not JSON", 400)
        checked = "signature ok" if secret is not None else "signature not checked"
        console.print(f"{msg_id} trigger={trigger!r} activities={len(activities)} ({checked}) -> {status}")
        for activity in activities:
            if show_json:
                console.print_json(orjson.dumps(activity).decode())
            else:
                console.print(f"  {activity.get('id')} {activity.get('activityType', {}).get('apiName')} "
                              f"person={activity.get('person', {}).get('id')} at {activity.get('occurredAt')}")
        return PlainTextResponse("ok" if status < 300 else "failing on purpose", status)

    return Starlette(routes=[Route("/{path:path}", receive, methods=["POST"])])


def cmd_webhook_listen(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    secret = args.secret or os.environ.get(SECRET_ENV)
    if secret is not None and not secret.startswith("whsec_"):
        console.print("[bold red]--secret must be the whsec_... secret createTrigger returned[/bold red]")
        return 2
    console.print(f"listening on http://{args.host}:{args.port}/ "
                  f"({'checking signatures' if secret else 'NOT checking signatures: pass --secret'})")
    uvicorn.run(build_app(secret, args.status, args.json), host=args.host, port=args.port, log_level="warning",
                lifespan="off")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listen = sub.add_parser("webhook-listen", help="a local receiver for triggers: checks signatures, prints "
                            "deliveries")
    listen.add_argument("--port", type=tcp_port, default=9000, help="port to listen on (default 9000)")
    listen.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    listen.add_argument("--secret", help=f"the trigger's whsec_... secret (or ${SECRET_ENV})")
    listen.add_argument("--status", type=int, default=200, help="answer every valid request with this status "
                        "(e.g. 503 to watch retries)")
    listen.add_argument("--json", action="store_true", help="print each activity as JSON")
    listen.set_defaults(handler=cmd_webhook_listen)
