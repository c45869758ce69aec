"""API key lifecycle on the database: hashing, scopes, listing, revocation, the auth cache, bootstrap, quotas."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text

from app.domain import api_keys as domain
from app.domain.access import ALL_SCOPES, Principal, Scope
from app.domain.errors import DomainError, ErrorCode
from app.services import api_keys, quotas
from app.services.api_keys import PrincipalCache
from app.services.runtime import Resources
from tests.conftest import eventually

ADMIN = Principal(id="admin-id", name="admin", scopes=ALL_SCOPES)


def test_generated_keys_have_the_documented_shape_and_hash() -> None:
    secret = domain.generate()
    kind, prefix, rest = secret.token.split("_", 2)
    assert kind == "ak" and prefix == secret.key_id.hex[:12] and len(rest) >= 43
    assert domain.matches(secret.secret_hash, secret.token)
    assert not domain.matches(secret.secret_hash, secret.token[:-1] + ("A" if secret.token[-1] != "A" else "B"))
    assert domain.display_prefix(secret.token) == prefix
    assert domain.generate().token != secret.token


def test_scope_parsing() -> None:
    assert domain.parse_scopes(["read", " Activities:Write "]) == {Scope.READ, Scope.ACTIVITIES_WRITE}
    with pytest.raises(DomainError) as bad:
        domain.parse_scopes(["read", "root"])
    assert [(i.code, i.field) for i in bad.value.issues] == [(ErrorCode.INVALID, "scopes.1")]
    with pytest.raises(DomainError) as empty:
        domain.parse_scopes([])
    assert empty.value.issues[0].code == ErrorCode.REQUIRED


async def test_create_stores_only_a_hash_and_audits(resources: Resources) -> None:
    key, token = await api_keys.create_key(resources, ADMIN, "  etl job  ", ["activities:write"])
    assert key.name == "etl job" and key.scopes == {Scope.ACTIVITIES_WRITE} and key.active
    async with resources.db.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT secret_hash, prefix FROM api_key"))).one()
        audit = (await conn.execute(text("SELECT actor, action, target, details FROM audit_log"))).one()
    assert bytes(stored.secret_hash) == domain.hash_token(token)
    assert token not in str(stored) and token not in str(audit)
    assert (audit.actor, audit.action, audit.target) == ("admin (admin-id)", "apiKey.create", str(key.id))
    assert audit.details == {"name": "etl job", "scopes": ["activities:write"]}


async def test_create_rejects_bad_input_without_writing(resources: Resources) -> None:
    for name, scopes in (("", ["read"]), ("x" * 101, ["read"]), ("ok", ["superuser"])):
        with pytest.raises(DomainError):
            await api_keys.create_key(resources, ADMIN, name, scopes)
    async with resources.db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM api_key"))).scalar() == 0
        assert (await conn.execute(text("SELECT count(*) FROM audit_log"))).scalar() == 0


async def test_authenticate_and_revoke(resources: Resources) -> None:
    key, token = await api_keys.create_key(resources, ADMIN, "reader", ["read"])
    principal = await api_keys.authenticate(resources, token)
    assert principal == Principal(id=str(key.id), name="reader", scopes=frozenset({Scope.READ}))
    refreshed = await api_keys.get_key(resources, key.id)
    assert refreshed is not None and refreshed.last_used_at is not None

    revoked = await api_keys.revoke_key(resources, ADMIN, key.id)
    assert not revoked.active
    assert await api_keys.authenticate(resources, token) is None
    again = await api_keys.revoke_key(resources, ADMIN, key.id)  # idempotent, audited once
    assert again.revoked_at == revoked.revoked_at
    async with resources.db.engine.connect() as conn:
        actions = (await conn.execute(text("SELECT action FROM audit_log ORDER BY id"))).scalars().all()
    assert actions == ["apiKey.create", "apiKey.revoke"]
    with pytest.raises(DomainError) as missing:
        await api_keys.revoke_key(resources, ADMIN, uuid.uuid4())
    assert missing.value.issues[0].code == ErrorCode.NOT_FOUND


async def test_cache_bounds_how_long_a_revocation_elsewhere_goes_unseen(resources: Resources) -> None:
    """A revocation made by another process (CLI, replica) is seen once the cache entry expires."""
    key, token = await api_keys.create_key(resources, ADMIN, "cached", ["read"])
    cache = PrincipalCache(ttl=3600)
    assert await api_keys.authenticate(resources, token, cache) is not None
    async with resources.db.engine.begin() as conn:  # "another process" revokes behind this cache's back
        await conn.execute(text("UPDATE api_key SET revoked_at = now() WHERE id = :id"), {"id": key.id})
    assert await api_keys.authenticate(resources, token, cache) is not None  # still cached
    expired = PrincipalCache(ttl=0)
    assert await api_keys.authenticate(resources, token, expired) is None
    assert api_keys.CACHE_SECONDS <= 5


async def test_garbage_tokens_never_reach_the_database(resources: Resources) -> None:
    for token in ("", "short", "x" * 1000, "ключ-ключ-ключ-ключ-ключ-ключ", "bad\x00token-with-a-nul-inside-it"):
        assert await api_keys.authenticate(resources, token) is None


async def test_list_is_newest_first_with_keyset_pages(resources: Resources) -> None:
    created = [(await api_keys.create_key(resources, ADMIN, f"k{i}", ["read"]))[0] for i in range(5)]
    await api_keys.revoke_key(resources, ADMIN, created[0].id)
    first = await api_keys.list_keys(resources, 2)
    assert [k.name for k in first] == ["k4", "k3"]
    after = domain.decode_cursor(domain.encode_cursor(first[-1].created_at, first[-1].id))
    rest = await api_keys.list_keys(resources, 10, after)
    assert [k.name for k in rest] == ["k2", "k1", "k0"]
    assert [k.name for k in await api_keys.list_keys(resources, 10, include_revoked=False)] == [
        "k4",
        "k3",
        "k2",
        "k1",
    ]
    with pytest.raises(DomainError):
        domain.decode_cursor("not-a-cursor")


async def test_bootstrap_key_is_registered_once_and_stays_revoked(resources: Resources) -> None:
    token = "operator-chosen-bootstrap-secret-0001"
    assert await api_keys.ensure_key(resources, token, "bootstrap admin", ALL_SCOPES)
    assert not await api_keys.ensure_key(resources, token, "bootstrap admin", ALL_SCOPES)
    principal = await api_keys.authenticate(resources, token)
    assert principal is not None and principal.scopes == ALL_SCOPES
    await api_keys.revoke_key(resources, ADMIN, uuid.UUID(principal.id))
    assert not await api_keys.ensure_key(resources, token, "bootstrap admin", ALL_SCOPES)
    assert await api_keys.count_active_keys(resources) == 0


async def _insert_job(conn: object, created_by: str, status: str) -> None:
    await conn.execute(  # type: ignore[attr-defined]
        "INSERT INTO ingestion_job (id, source, format, status, created_by) VALUES ($1, 'inline', 'jsonl', $2, $3)",
        uuid.uuid4(),
        status,
        created_by,
    )


async def test_ingestion_quota_counts_only_the_callers_unfinished_jobs(resources: Resources) -> None:
    async with resources.db.raw() as conn:
        for status in ("QUEUED", "RUNNING", "SUCCEEDED", "FAILED"):
            await _insert_job(conn, "key-a", status)
        await _insert_job(conn, "key-b", "QUEUED")
        assert await quotas.active_ingestions(conn, "key-a") == 2
        async with conn.transaction():
            await quotas.reserve_ingestion_slot(conn, "key-a", 3)
        with pytest.raises(DomainError) as full:
            async with conn.transaction():
                await quotas.reserve_ingestion_slot(conn, "key-a", 2)
        assert full.value.issues[0].code == ErrorCode.LIMIT_EXCEEDED
        async with conn.transaction():
            await quotas.reserve_ingestion_slot(conn, "key-a", 0)  # 0 = unlimited
            await quotas.reserve_ingestion_slot(conn, None, 1)  # no principal (internal jobs)


async def test_ingestion_quota_serialises_racing_submissions(resources: Resources) -> None:
    """Two transactions racing for the last slot: the advisory lock lets exactly one through."""

    async def submit() -> bool:
        async with resources.db.raw() as conn, conn.transaction():
            try:
                await quotas.reserve_ingestion_slot(conn, "racer", 1)
            except DomainError:
                return False
            await _insert_job(conn, "racer", "QUEUED")
            return True

    assert sorted(await asyncio.gather(submit(), submit(), submit())) == [False, False, True]


async def test_concurrent_misses_share_one_lookup(resources: Resources) -> None:
    """An entry expiring under load: the requests in flight wait for one lookup instead of running one each."""
    _key, token = await api_keys.create_key(resources, ADMIN, "burst", ["read"])
    cache = PrincipalCache(ttl=0)  # every call misses, as at the instant an entry expires
    token_hash = domain.hash_token(token)
    lookups = 0
    gate = asyncio.Event()

    async def lookup() -> Principal | None:
        nonlocal lookups
        lookups += 1
        await gate.wait()  # keep it in flight until every caller has asked
        return await api_keys.authenticate(resources, token, PrincipalCache(ttl=0))

    callers = [asyncio.create_task(cache.load_once(token_hash, lookup)) for _ in range(16)]
    await asyncio.sleep(0)
    gate.set()
    principals = await asyncio.gather(*callers)
    assert lookups == 1
    assert {p.id for p in principals if p is not None} == {principals[0].id} and principals[0] is not None
    await cache.load_once(token_hash, lookup)  # finished lookups are not reused: the next miss looks up again
    assert lookups == 2


async def test_a_failed_shared_lookup_fails_every_waiter_and_is_retried(resources: Resources) -> None:
    cache = PrincipalCache()
    attempts = 0

    async def broken() -> Principal | None:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0)
        raise ConnectionError("database unavailable")

    results = await asyncio.gather(*(cache.load_once(b"h", broken) for _ in range(4)), return_exceptions=True)
    assert attempts == 1 and all(isinstance(r, ConnectionError) for r in results)
    with pytest.raises(ConnectionError):
        await cache.load_once(b"h", broken)
    assert attempts == 2


async def test_an_entry_near_expiry_is_refreshed_in_the_background_and_sees_a_revocation(
    resources: Resources,
) -> None:
    """A busy key's requests keep the cached answer while one background lookup renews it, so they never all wait
    at the moment it expires; a revocation made elsewhere still lands within the cache's time."""
    key, token = await api_keys.create_key(resources, ADMIN, "refreshed", ["read"])
    cache = PrincipalCache(ttl=0.6)  # due for a refresh from its second half on
    token_hash = domain.hash_token(token)
    assert await api_keys.authenticate(resources, token, cache) is not None
    assert not cache.due(token_hash)
    async with resources.db.raw() as conn:  # revoked by another process: this cache is not told
        await conn.execute("UPDATE api_key SET revoked_at = now() WHERE id = $1", key.id)
    await asyncio.sleep(0.4)
    assert cache.due(token_hash)
    assert await api_keys.authenticate(resources, token, cache) is not None  # served from the cache, refresh started
    assert not cache.due(token_hash)  # one refresh at a time

    async def refreshed() -> bool:
        return cache.get(token_hash) == (True, None)

    await eventually(refreshed, timeout=5)  # the entry was renewed (as revoked) before it expired
    assert await api_keys.authenticate(resources, token, cache) is None
