"""`activities keys create|list|revoke`: manage API keys directly in the database (for operators)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from rich.table import Column, Table

from app.cli.output import console
from app.domain.access import ALL_SCOPES, Principal, Scope
from app.domain.api_keys import ApiKey, generate
from app.domain.errors import DomainError
from app.embedded.stores import resolved_stores
from app.services import api_keys
from app.services.runtime import Resources
from app.settings import Settings

T = TypeVar("T")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = sub.add_parser("keys", help="create, list and revoke API keys")
    actions = keys.add_subparsers(dest="keys_command", required=True)

    create = actions.add_parser("create", help="create a key and print its secret (shown once)")
    create.add_argument("--name", required=True, help="label, e.g. who or what uses the key")
    create.add_argument(
        "--scope",
        dest="scopes",
        action="append",
        required=True,
        choices=[s.value for s in Scope],
        help="repeat for several scopes",
    )
    create.add_argument("--quiet", "-q", action="store_true", help="print only the secret (for scripts)")
    create.add_argument("--marketo", action="store_true",
                        help="also print the key as the Client ID / Client Secret pair Marketo clients ask for")
    create.set_defaults(handler=cmd_create)

    listing = actions.add_parser("list", help="list keys, newest first")
    listing.add_argument("--active", action="store_true", help="hide revoked keys")
    listing.add_argument("--json", action="store_true", help="one JSON array on stdout (for scripts)")
    listing.set_defaults(handler=cmd_list)

    revoke = actions.add_parser("revoke", help="revoke a key (API processes stop accepting it within 5 s)")
    revoke.add_argument("id", type=uuid.UUID, help="the key id (from `keys list`)")
    revoke.set_defaults(handler=cmd_revoke)


def operator() -> Principal:
    """Audit entries from the CLI name the OS user who ran it."""
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = "unknown"
    return Principal(id="cli", name=f"cli:{user}", scopes=ALL_SCOPES)


def _run(settings: Settings, work: Callable[[Resources], Awaitable[T]]) -> T:
    with resolved_stores(settings) as resolved:
        return asyncio.run(_with_resources(resolved, work))


async def _with_resources(settings: Settings, work: Callable[[Resources], Awaitable[T]]) -> T:
    resources = await Resources.open(settings, connect_queue=False)  # keys never enqueue: Redis may be down
    try:
        return await work(resources)
    finally:
        await resources.close()


def cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    try:
        key, secret = _run(settings, lambda r: api_keys.create_key(r, operator(), args.name, args.scopes))
    except DomainError as error:
        console.print(f"[red]{error}[/red]")
        return 2
    if args.quiet:
        console.print(secret, soft_wrap=True)
        return 0
    console.print(f"created key [bold]{key.name}[/bold] ({key.id}) with scopes {', '.join(sorted(args.scopes))}")
    console.print("secret (shown only now; send it as 'Authorization: Bearer <secret>'):")
    console.print(secret, soft_wrap=True)
    if args.marketo:
        console.print("for Marketo clients (base URL = this service; see docs/marketo-rest.md):")
        console.print(f"Client ID:     {key.id}", soft_wrap=True)
        console.print(f"Client Secret: {secret}", soft_wrap=True)
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    async def everything(resources: Resources) -> list[ApiKey]:
        found: list[ApiKey] = []
        after = None
        while page := await api_keys.list_keys(resources, 500, after, include_revoked=not args.active):
            found += page
            after = (page[-1].created_at, page[-1].id)
        return found

    keys = _run(settings, everything)
    if args.json:
        sys.stdout.write(json.dumps([key_json(key) for key in keys], indent=2) + "\n")
        return 0
    table = Table("name", "prefix", "scopes", "created", "last used", "revoked")
    # Ids are what `keys revoke` takes: never wrapped or cut, whatever the terminal width.
    table.columns.insert(0, Column("id", no_wrap=True, min_width=36))
    for key in keys:
        table.add_row(
            str(key.id),
            key.name,
            key.prefix,
            " ".join(sorted(s.value for s in key.scopes)),
            f"{key.created_at:%Y-%m-%d %H:%M}",
            f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "-",
            f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "-",
        )
    console.print(table)
    return 0


def key_json(key: ApiKey) -> dict[str, object]:
    """A key as `keys list --json` prints it; never the secret (only its hash is stored)."""
    return {
        "id": str(key.id),
        "name": key.name,
        "prefix": key.prefix,
        "scopes": sorted(s.value for s in key.scopes),
        "createdAt": key.created_at.isoformat(),
        "lastUsedAt": key.last_used_at.isoformat() if key.last_used_at else None,
        "revokedAt": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def cmd_revoke(args: argparse.Namespace, settings: Settings) -> int:
    try:
        key = _run(settings, lambda r: api_keys.revoke_key(r, operator(), args.id))
    except DomainError as error:
        console.print(f"[red]{error}[/red]")
        return 2
    console.print(f"revoked {key.name} ({key.id}) at {key.revoked_at:%Y-%m-%d %H:%M:%S %Z}")
    return 0


DEV_KEY_FILE = "dev-admin-key"


def ensure_dev_key(settings: Settings) -> str:
    """`activities dev`: the local admin key, kept in the data dir (mode 0600) so it survives restarts.

    A missing, unreadable or revoked key is replaced by a new one.
    """
    path = settings.data_dir / DEV_KEY_FILE
    saved = path.read_text().strip() if path.is_file() else ""

    async def work(resources: Resources) -> str:
        if saved and await api_keys.authenticate(resources, saved) is not None:
            return saved
        token = generate().token
        await api_keys.ensure_key(resources, token, "local dev admin", ALL_SCOPES)
        return token

    token = asyncio.run(_with_resources(settings, work))
    if token != saved:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(token + "\n")
    return token
