"""Test API keys: inserted straight into api_key (no audit entry), so fixtures leave audit_log empty."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

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
