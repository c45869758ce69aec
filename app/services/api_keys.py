"""API key lifecycle (create, list, revoke) and request authentication behind a short in-process cache."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from sqlalchemy import func, or_, tuple_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.tables import ApiKeyRow
from app.domain import api_keys as keys
from app.domain.access import Principal, Scope
from app.domain.api_keys import ApiKey
from app.domain.errors import DomainError, ErrorCode
from app.services import audit
from app.services.runtime import Resources

logger = logging.getLogger(__name__)

CACHE_SECONDS = 5.0
"""How long a process trusts an authentication result. Revocation through this process (GraphQL) clears the
cache at once; a revocation made elsewhere (CLI, another API replica) takes effect within this many seconds."""

REFRESH_AHEAD_SECONDS = 1.0
"""An entry this close to its expiry is looked up again in the background while requests keep using it, so a busy
key's requests never all wait for the lookup at the moment its entry expires."""

CACHE_MAX_ENTRIES = 10_000
LAST_USED_RESOLUTION_SECONDS = 60


class PrincipalCache:
    """token hash -> (principal or None, expiry). Negative results are cached too, so garbage keys cost no query."""

    def __init__(self, ttl: float = CACHE_SECONDS, max_entries: int = CACHE_MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[bytes, tuple[Principal | None, float]] = {}
        self._loading: dict[bytes, asyncio.Future[Principal | None]] = {}

    def get(self, token_hash: bytes) -> tuple[bool, Principal | None]:
        entry = self._entries.get(token_hash)
        if entry is None or entry[1] < time.monotonic():
            return False, None
        return True, entry[0]

    def due(self, token_hash: bytes) -> bool:
        """A live entry close enough to its expiry to be refreshed now (and no refresh already under way)."""
        entry = self._entries.get(token_hash)
        return (entry is not None and entry[1] - time.monotonic() < min(REFRESH_AHEAD_SECONDS, self.ttl / 2)
                and token_hash not in self._loading)

    def refresh(self, token_hash: bytes, load: Callable[[], Awaitable[Principal | None]]) -> None:
        """Look the entry up again in the background; requests keep the current answer until it lands."""
        self._lookup(token_hash, load).add_done_callback(lambda done: self._refreshed(token_hash, done))

    def _refreshed(self, token_hash: bytes, task: asyncio.Future[Principal | None]) -> None:
        if task.cancelled():
            return
        if (error := task.exception()) is not None:  # the entry expires as usual; the next miss looks up again
            logger.warning("background refresh of an API key's cache entry failed", exc_info=error)
        else:
            self.put(token_hash, task.result())

    def put(self, token_hash: bytes, principal: Principal | None) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # crude but bounded; a refill costs one indexed query per key
        self._entries[token_hash] = (principal, time.monotonic() + self.ttl)

    def clear(self) -> None:
        self._entries.clear()
        self._loading.clear()

    async def load_once(
        self, token_hash: bytes, load: Callable[[], Awaitable[Principal | None]]
    ) -> Principal | None:
        """Concurrent misses of one token share one lookup: when an entry expires under load, every request in
        flight misses at once, and one query each (plus a last_used_at row lock each) stalled them all for
        tens of milliseconds every CACHE_SECONDS."""
        principal = await asyncio.shield(self._lookup(token_hash, load))
        self.put(token_hash, principal)
        return principal

    def _lookup(
        self, token_hash: bytes, load: Callable[[], Awaitable[Principal | None]]
    ) -> asyncio.Future[Principal | None]:
        task = self._loading.get(token_hash)
        if task is None or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.ensure_future(load())
            self._loading[token_hash] = task
            task.add_done_callback(lambda done: self._forget(token_hash, done))
        return task

    def _forget(self, token_hash: bytes, done: asyncio.Future[Principal | None]) -> None:
        if self._loading.get(token_hash) is done:
            del self._loading[token_hash]


CACHE = PrincipalCache()


def _to_domain(row: ApiKeyRow) -> ApiKey:
    known = {s.value: s for s in Scope}
    assert row.created_at is not None
    return ApiKey(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=frozenset(known[s] for s in row.scopes if s in known),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


async def create_key(
    resources: Resources, actor: Principal, name: str, scope_names: Iterable[str]
) -> tuple[ApiKey, str]:
    """Create a key; returns it and its secret token, which is never retrievable again."""
    clean_name = keys.validate_name(name)
    scopes = keys.parse_scopes(scope_names)
    secret = keys.generate()
    row = ApiKeyRow(
        id=secret.key_id,
        name=clean_name,
        prefix=secret.prefix,
        secret_hash=secret.secret_hash,
        scopes=sorted(s.value for s in scopes),
    )
    async with resources.db.session() as session, session.begin():
        session.add(row)
        await audit.record(session, actor, "apiKey.create", str(row.id), {"name": clean_name, "scopes": row.scopes})
        await session.flush()
        await session.refresh(row)
    return _to_domain(row), secret.token


async def ensure_key(resources: Resources, token: str, name: str, scopes: Iterable[Scope]) -> bool:
    """Register an operator-chosen token (bootstrap admin, dev key) unless its hash is known; True if created.

    A token that was revoked stays revoked: only an unknown hash creates a row.
    """
    if not keys.plausible_token(token):
        raise DomainError.of(
            ErrorCode.TOO_SHORT,
            f"Keys are {keys.MIN_TOKEN_LENGTH}..{keys.MAX_TOKEN_LENGTH} printable ASCII characters.",
        )
    token_hash = keys.hash_token(token)
    async with resources.db.session() as session, session.begin():
        existing = (await session.exec(select(ApiKeyRow.id).where(ApiKeyRow.secret_hash == token_hash))).first()
        if existing is not None:
            return False
        row = ApiKeyRow(
            id=uuid.uuid4(),
            name=name,
            prefix=keys.display_prefix(token),
            secret_hash=token_hash,
            scopes=sorted(s.value for s in scopes),
        )
        session.add(row)
        system = Principal(id="system", name="start-up", scopes=frozenset())
        await audit.record(session, system, "apiKey.create", str(row.id), {"name": name, "scopes": row.scopes})
    return True


async def list_keys(
    resources: Resources, first: int, after: tuple[datetime, uuid.UUID] | None = None, include_revoked: bool = True
) -> list[ApiKey]:
    """Keys newest first, keyset-paginated on (created_at, id); fetches `first` rows."""
    query = select(ApiKeyRow).order_by(col(ApiKeyRow.created_at).desc(), col(ApiKeyRow.id).desc()).limit(first)
    if after is not None:
        query = query.where(tuple_(ApiKeyRow.created_at, ApiKeyRow.id) < tuple_(*after))
    if not include_revoked:
        query = query.where(col(ApiKeyRow.revoked_at).is_(None))
    async with resources.db.session() as session:
        rows = (await session.exec(query)).all()
    return [_to_domain(r) for r in rows]


async def get_key(resources: Resources, key_id: uuid.UUID) -> ApiKey | None:
    async with resources.db.session() as session:
        row = await session.get(ApiKeyRow, key_id)
    return _to_domain(row) if row else None


async def count_active_keys(resources: Resources) -> int:
    async with resources.db.session() as session:
        count = (await session.exec(select(func.count()).where(col(ApiKeyRow.revoked_at).is_(None)))).one()
    return int(count)


async def revoke_key(resources: Resources, actor: Principal, key_id: uuid.UUID) -> ApiKey:
    """Revoke a key (idempotent); it stops working in this process now, everywhere within CACHE_SECONDS."""
    async with resources.db.session() as session, session.begin():
        row = await session.get(ApiKeyRow, key_id, with_for_update=True)
        if row is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, f"No API key with id {key_id}.", "id")
        if row.revoked_at is None:
            row.revoked_at = await _now(session)
            session.add(row)
            await audit.record(session, actor, "apiKey.revoke", str(row.id), {"name": row.name})
    CACHE.clear()
    return _to_domain(row)


async def _now(session: AsyncSession) -> datetime:
    value: datetime = (await session.exec(select(func.now()))).one()
    return value


async def authenticate(resources: Resources, token: str, cache: PrincipalCache = CACHE) -> Principal | None:
    """The principal of an active key, or None for an unknown, revoked or malformed token."""
    if not keys.plausible_token(token):
        return None
    token_hash = keys.hash_token(token)
    hit, principal = cache.get(token_hash)
    if hit:
        if cache.due(token_hash):
            cache.refresh(token_hash, lambda: _lookup(resources, token, token_hash))
        return principal
    return await cache.load_once(token_hash, lambda: _lookup(resources, token, token_hash))


async def _lookup(resources: Resources, token: str, token_hash: bytes) -> Principal | None:
    async with resources.db.session() as session, session.begin():
        row = (await session.exec(select(ApiKeyRow).where(ApiKeyRow.secret_hash == token_hash))).first()
        if row is None or row.revoked_at is not None or not keys.matches(row.secret_hash, token):
            return None
        principal = _to_domain(row).principal()
        # last_used_at is informational: written at most once a minute per key, not on every request.
        stale = func.now() - func.make_interval(0, 0, 0, 0, 0, 0, LAST_USED_RESOLUTION_SECONDS)
        await session.exec(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == row.id)  # type: ignore[arg-type]
            .where(or_(col(ApiKeyRow.last_used_at).is_(None), col(ApiKeyRow.last_used_at) < stale))
            .values(last_used_at=func.now())
            .execution_options(synchronize_session=False)
        )
        return principal
