"""Short-lived bearer tokens exchanged for an API key (the Marketo-style OAuth client-credentials grant), in Redis."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum

import orjson

from app.domain.access import Principal, Scope
from app.services import api_keys
from app.services.runtime import Resources

TOKEN_PREFIX = "mt"


class TokenState(StrEnum):
    """Why a token does or does not name a caller (Marketo tells invalid from expired: 601 vs 602)."""

    VALID = "valid"
    INVALID = "invalid"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int
    principal: Principal


def _redis_key(resources: Resources, token: str) -> str:
    # Only a hash is stored: a Redis dump does not hand out live tokens.
    return f"{resources.settings.redis_prefix}:marketo:token:{hashlib.sha256(token.encode()).hexdigest()}"


async def issue(resources: Resources, client_id: str, client_secret: str) -> IssuedToken | None:
    """A new token for the key whose id is `client_id` and whose secret is `client_secret`; None if they do not match
    an active key."""
    principal = await api_keys.authenticate(resources, client_secret)
    if principal is None or principal.id != client_id.strip().lower():
        return None
    ttl = resources.settings.marketo.token_seconds
    # The expiry is part of the token so that a token Redis has dropped can be told expired (602) from forged (601).
    token = f"{TOKEN_PREFIX}_{int(time.time()) + ttl}_{secrets.token_urlsafe(24)}"
    value = orjson.dumps({"id": principal.id, "name": principal.name, "scopes": sorted(principal.scopes)})
    await resources.queue.set(_redis_key(resources, token), value, ex=ttl)
    return IssuedToken(token, ttl, principal)


def _claimed_expiry(token: str) -> int | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1].isdigit() or len(parts[1]) > 12:
        return None
    return int(parts[1])


async def resolve(resources: Resources, token: str) -> tuple[TokenState, Principal | None]:
    """The caller a token stands for; a revoked key's tokens stop working at once."""
    expiry = _claimed_expiry(token)
    if expiry is None or len(token) > 200:
        return TokenState.INVALID, None
    raw = await resources.queue.get(_redis_key(resources, token))
    if raw is None:
        return (TokenState.EXPIRED if expiry <= time.time() else TokenState.INVALID), None
    data = orjson.loads(raw)
    key = await api_keys.get_key(resources, uuid.UUID(data["id"]))
    if key is None or not key.active:
        return TokenState.REVOKED, None
    known = {s.value: s for s in Scope}
    scopes = frozenset(known[s] for s in data["scopes"] if s in known)
    return TokenState.VALID, Principal(id=data["id"], name=data["name"], scopes=scopes)


def remaining_seconds(token: str) -> int:
    expiry = _claimed_expiry(token)
    return max(0, expiry - int(time.time())) if expiry is not None else 0
