"""API keys: the `ak_<prefix>_<secret>` format, SHA-256 hashing, constant-time checks and scope parsing."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.domain.access import Principal, Scope
from app.domain.errors import DomainError, ErrorCode, Issue

KEY_PREFIX = "ak"
PREFIX_LENGTH = 12
MIN_TOKEN_LENGTH = 24
MAX_TOKEN_LENGTH = 256
MAX_NAME_LENGTH = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as admins see it; the secret itself is never stored, only its SHA-256."""

    id: uuid.UUID
    name: str
    prefix: str
    scopes: frozenset[Scope]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def principal(self) -> Principal:
        return Principal(id=str(self.id), name=self.name, scopes=self.scopes)


@dataclass(frozen=True, slots=True)
class NewSecret:
    """A freshly generated key: shown to its owner once, then only the hash remains."""

    key_id: uuid.UUID
    token: str
    prefix: str
    secret_hash: bytes


def generate() -> NewSecret:
    """A new key `ak_<12 hex of the id>_<43 url-safe chars>` (256 bits of randomness)."""
    key_id = uuid.uuid4()
    prefix = key_id.hex[:PREFIX_LENGTH]
    token = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewSecret(key_id=key_id, token=token, prefix=prefix, secret_hash=hash_token(token))


def hash_token(token: str) -> bytes:
    """SHA-256 of the whole token: keys are long random strings, so a slow KDF would add nothing."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def matches(stored_hash: bytes, token: str) -> bool:
    """Constant-time comparison, so response timing says nothing about how much of a key was right."""
    return hmac.compare_digest(stored_hash, hash_token(token))


def plausible_token(token: str) -> bool:
    """Cheap shape check before any lookup: printable ASCII of a sane length."""
    return MIN_TOKEN_LENGTH <= len(token) <= MAX_TOKEN_LENGTH and token.isascii() and token.isprintable()


def display_prefix(token: str) -> str:
    """What admins see of a key: `ak_<prefix>` for our keys, a few characters of an operator-chosen one."""
    parts = token.split("_", 2)
    if len(parts) == 3 and parts[0] == KEY_PREFIX and len(parts[1]) == PREFIX_LENGTH:
        return parts[1]
    return token[:4] + "…"


def parse_scopes(values: Iterable[str], field: str = "scopes") -> frozenset[Scope]:
    """Scopes from their names ("read", "activities:write", ...); unknown or missing ones are typed errors."""
    known = {s.value: s for s in Scope}
    issues: list[Issue] = []
    scopes: set[Scope] = set()
    for i, value in enumerate(values):
        scope = known.get(value.strip().lower())
        if scope is None:
            allowed = ", ".join(sorted(known))
            issues.append(Issue(ErrorCode.INVALID, f"{field}.{i}", f"Unknown scope {value!r}; use one of {allowed}."))
        else:
            scopes.add(scope)
    if not scopes and not issues:
        issues.append(Issue(ErrorCode.REQUIRED, field, "A key needs at least one scope."))
    if issues:
        raise DomainError(issues)
    return frozenset(scopes)


def validate_name(name: str, field: str = "name") -> str:
    """A key's label: 1..100 characters after trimming."""
    cleaned = name.strip()
    if not cleaned:
        raise DomainError.of(ErrorCode.REQUIRED, "A key needs a name.", field)
    if len(cleaned) > MAX_NAME_LENGTH:
        raise DomainError.of(ErrorCode.TOO_LONG, f"Names are at most {MAX_NAME_LENGTH} characters.", field)
    return cleaned


def encode_cursor(created_at: datetime, key_id: uuid.UUID) -> str:
    """Opaque keyset cursor for the key list (newest first on created_at, then id)."""
    micros = (created_at - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"k1:{micros}:{key_id.hex}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str, field: str = "after") -> tuple[datetime, uuid.UUID]:
    try:
        text = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii")).decode("ascii")
        kind, micros, hex_id = text.split(":")
        if kind != "k1":
            raise ValueError(kind)
        return _EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(hex=hex_id)
    except (ValueError, OverflowError, UnicodeError, binascii.Error) as exc:
        raise DomainError.of(
            ErrorCode.INVALID_CURSOR, "Malformed cursor: pass a cursor this API returned.", field
        ) from exc
