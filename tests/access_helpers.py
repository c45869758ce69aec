"""Test API keys: inserted straight into api_key (no audit entry), so fixtures leave audit_log empty."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from app.db.tables import ApiKeyRow
from app.domain import api_keys
from app.domain.access import ALL_SCOPES, Scope
from app.services.runtime import Resources

ADMIN_KEY_ID = uuid.UUID("00000000-0000-4000-8000-00000000ad01")
ADMIN_TOKEN = "ak_testadmin0000_" + "A" * 43
"""The key the `client`/`gql` fixtures send; a fixed id keeps cached principals valid across truncations."""


async def insert_key(
    resources: Resources,
    scopes: Iterable[Scope] = ALL_SCOPES,
    token: str | None = None,
    key_id: uuid.UUID | None = None,
    name: str = "test key",
) -> str:
    """Store a key with `scopes` and return its bearer token."""
    if token is None:
        secret = api_keys.generate()
        token, key_id = secret.token, secret.key_id
    row = ApiKeyRow(
        id=key_id or uuid.uuid4(),
        name=name,
        prefix=api_keys.display_prefix(token),
        secret_hash=api_keys.hash_token(token),
        scopes=sorted(s.value for s in scopes),
    )
    async with resources.db.session() as session, session.begin():
        session.add(row)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@contextlib.asynccontextmanager
async def ws_connect(
    app: Any, payload: dict[str, Any] | None, client: tuple[str, int] = ("127.0.0.1", 50000)
) -> AsyncIterator[AsyncWebSocketSession]:
    """A graphql-transport-ws connection with `payload` sent as `connection_init` (None: send nothing)."""
    transport = ASGIWebSocketTransport(app=app, client=client)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
        aconnect_ws("/graphql", http, subprotocols=["graphql-transport-ws"]) as ws,
    ):
        if payload is not None:
            await ws.send_json({"type": "connection_init", "payload": payload})
        yield ws


async def ws_rejection(ws: AsyncWebSocketSession) -> int | None:
    """The close code if the server closes instead of acknowledging; None if it acknowledged."""
    try:
        message = await ws.receive_json(timeout=10)
    except WebSocketDisconnect as closed:
        return int(closed.code)
    assert message["type"] == "connection_ack", message
    return None


async def ws_execute(ws: AsyncWebSocketSession, query: str, op_id: str = "1") -> dict[str, Any]:
    """Run one operation over an acknowledged connection; returns the first `next` payload or the error list."""
    await ws.send_json({"type": "subscribe", "id": op_id, "payload": {"query": query}})
    message = await ws.receive_json(timeout=10)
    if message["type"] == "error":
        return {"errors": message["payload"]}
    assert message["type"] == "next", message
    payload: dict[str, Any] = message["payload"]
    done = await ws.receive_json(timeout=10)  # queries and mutations end with `complete`
    assert done == {"id": op_id, "type": "complete"}, done
    return payload
