"""The raw asyncpg pool: exact JSON decoding (orjson with a stdlib fallback), autocommit, broken connections."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.db import json_codec
from app.db.engine import Database
from app.services.runtime import Resources
from app.settings import Settings
from tests.conftest import eventually


def same(decoded: Any, expected: Any) -> bool:
    """Equal including types (1 vs 1.0) and float spelling."""
    return json.dumps(decoded) == json.dumps(expected)


BIG = 123456789012345678901234567890

EDGE_CASES = [
    "18446744073709551615",  # uint64 max: orjson exact
    "18446744073709551616",  # one past: orjson would round to a float
    "-9223372036854775809",  # below int64: orjson would round to a float
    "-9999999999999999999",  # 19 digits, negative
    str(BIG),
    "1" + "0" * 400,  # how PostgreSQL prints the jsonb number 1e400
    "1e400",  # json (not jsonb) keeps the text: orjson refuses it, the stdlib says inf
    "-1e400",
    "[1, 2.5e308]",
    "0." + "0" * 399 + "1",  # jsonb 1e-400
    "0.1000000000000000000001",
    '"\\ud800"',  # a lone surrogate escape: orjson refuses it
    '{"a": 1, "a": 2}',
    '{"n": [1, 1.0, -0.0, 1.5e-7, 12345678901234567]}',
    "9223372036854775807",  # 19 digits: the shortest run sent to the stdlib
    "-922337203685477580",  # 18 digits: orjson (exact)
    '{"phone": "12345678901234567890123", "n": 0.5}',  # a long digit run inside a string: stdlib, same result
    '{"a": {"b": [99999999999999999999999]}}',  # nested
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_decoding_matches_the_stdlib_on_edge_cases(text: str) -> None:
    assert same(json_codec.loads(text.encode()), json.loads(text))
    assert same(json_codec.decode_jsonb(b"\x01" + text.encode()), json.loads(text))


def test_big_integers_stay_exact() -> None:
    assert json_codec.loads(str(-BIG).encode()) == -BIG
    assert json_codec.loads(b'{"x": [18446744073709551616]}') == {"x": [2**64]}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_decoding_matches_the_stdlib(value: Any) -> None:
    text = json.dumps(value)
    assert same(json_codec.loads(text.encode()), json.loads(text))


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
def test_numbers_as_postgres_prints_them(number: Any) -> None:
    text = format(number, "f")  # numeric output: never an exponent
    assert same(json_codec.loads(text.encode()), json.loads(text))


async def test_jsonb_and_json_through_postgres(resources: Resources) -> None:
    doc = '{"big": 123456789012345678901234567890, "huge": 1e400, "low": -9223372036854775809, "f": 0.1, "s": "é"}'
    async with resources.db.raw() as conn:
        got = await conn.fetchval("SELECT $1::jsonb", doc)
        assert got == {"big": BIG, "huge": 10**400, "low": -(2**63) - 1, "f": 0.1, "s": "é"}
        assert type(got["huge"]) is int
        assert await conn.fetchval("SELECT '[1e400]'::json") == [float("inf")]
        assert await conn.fetchval("SELECT $1::jsonb", b'{"b": true}') == {"b": True}
        assert await conn.fetchval("SELECT $1::json::text", '{"t": 1}') == '{"t": 1}'


async def test_raw_connections_are_autocommit(resources: Resources) -> None:
    async with resources.db.raw() as conn:
        assert not conn.is_in_transaction()
        await conn.execute("CREATE TEMP TABLE IF NOT EXISTS autocommit_probe (x int)")
        await conn.execute("INSERT INTO autocommit_probe VALUES (1)")
        assert not conn.is_in_transaction()
        async with conn.transaction():
            assert conn.is_in_transaction()
        await conn.execute("DROP TABLE autocommit_probe")


async def backend(conn: Any) -> int:
    return int(await conn.fetchval("SELECT pg_backend_pid()"))


async def kill(resources: Resources, conn: Any) -> None:
    """Terminate `conn`'s backend from another connection and wait until asyncpg has noticed."""
    pid = await backend(conn)
    async with resources.db.raw() as killer:
        assert await killer.fetchval("SELECT pg_terminate_backend($1::int)", pid)

    async def closed() -> bool:
        return bool(conn.is_closed())

    await eventually(closed)


@pytest.fixture
async def small_db(resources: Resources) -> AsyncIterator[Database]:
    assert resources.settings.database_url
    db = Database(resources.settings.database_url, pool_size=2, max_overflow=0)
    yield db
    await db.dispose()


async def test_a_connection_that_broke_in_use_is_dropped_and_the_next_checkout_works(
    resources: Resources, small_db: Database
) -> None:
    async with small_db.raw() as victim:
        pid = await backend(victim)
        await kill(resources, victim)
        with pytest.raises(asyncpg.InterfaceError):
            await victim.fetchval("SELECT 1")

    async def use() -> int:
        async with small_db.raw() as conn:
            await asyncio.sleep(0.01)  # hold it, so the two checkouts use both pool slots
            return await backend(conn)

    pids = await asyncio.gather(use(), use())
    assert pid not in pids and len(set(pids)) == 2
    assert (await small_db.raw_pool()).size == 2


async def test_a_connection_that_died_while_idle_is_not_handed_out(resources: Resources, small_db: Database) -> None:
    async with small_db.raw() as conn:
        pid = await backend(conn)
    await kill(resources, conn)  # a server restart does this to every idle connection
    async with small_db.raw() as fresh:
        assert fresh is not conn and await backend(fresh) != pid


async def test_the_most_recent_connection_is_reused_and_a_dirty_one_is_not(small_db: Database) -> None:
    async with small_db.raw() as conn:
        first = await backend(conn)
    async with small_db.raw() as conn:
        assert await backend(conn) == first
        await conn.execute("BEGIN")  # left open, as by a caller interrupted before its ROLLBACK
    async with small_db.raw() as conn:
        assert await backend(conn) != first and not conn.is_in_transaction()


async def test_an_error_between_parse_and_execute_leaves_no_open_transaction(
    resources: Resources, small_db: Database
) -> None:
    with pytest.raises(asyncpg.DataError):
        async with small_db.raw() as conn:
            pid = await backend(conn)
            # Parsed (locking `activity`), then the argument fails to encode client-side: no Sync was sent.
            await conn.fetchval("SELECT count(*) + $1::int FROM activity", "not a number")

    async def settled() -> bool:
        async with resources.db.raw() as other:
            row = await other.fetchrow("SELECT state, xact_start FROM pg_stat_activity WHERE pid = $1", pid)
        return row is None or (row["xact_start"] is None and row["state"] == "idle")

    await eventually(settled, timeout=10)
    async with resources.db.raw() as other:  # TRUNCATE (as the test fixtures do) would wait on such a lock
        assert not await other.fetchval(
            "SELECT count(*) FROM pg_locks WHERE pid = $1 AND relation = 'activity'::regclass", pid)


async def test_checkouts_wait_for_a_free_connection_and_a_cancelled_waiter_passes_its_turn(
    small_db: Database,
) -> None:
    pool = await small_db.raw_pool()
    order: list[str] = []
    release = asyncio.Event()

    async def hold(name: str) -> None:
        async with small_db.raw() as conn:
            order.append(name)
            await release.wait()
            await conn.fetchval("SELECT 1")

    holders = [asyncio.create_task(hold(f"h{n}")) for n in range(2)]

    async def both_held() -> bool:
        return len(order) == 2

    await eventually(both_held, timeout=10, interval=0.001)
    cancelled = asyncio.create_task(hold("cancelled"))
    waiting = [asyncio.create_task(hold(f"w{n}")) for n in range(3)]
    await asyncio.sleep(0.01)
    assert sorted(order) == ["h0", "h1"] and pool.size == 2  # never more than the pool's size
    cancelled.cancel()
    release.set()
    await asyncio.gather(*holders, *waiting)
    assert sorted(order[2:]) == ["w0", "w1", "w2"] and pool.size == 2
    assert cancelled.cancelled()


async def test_a_failed_connect_frees_its_slot(resources: Resources) -> None:
    assert resources.settings.database_url
    db = Database(resources.settings.database_url.rsplit("/", 1)[0] + "/no_such_database", pool_size=1,
                  max_overflow=0)
    try:
        for _ in range(2):  # the second attempt would wait forever if the first kept the only slot
            with pytest.raises(asyncpg.InvalidCatalogNameError):
                async with db.raw():
                    pass
        assert (await db.raw_pool()).size == 0
    finally:
        await db.dispose()


async def test_dispose_leaves_the_handle_usable(resources: Resources) -> None:
    assert resources.settings.database_url
    db = Database(resources.settings.database_url, pool_size=1, max_overflow=0)
    try:
        async with db.raw() as conn:
            assert await conn.fetchval("SELECT 1") == 1
        await db.dispose()
        await db.dispose()
        async with db.raw() as conn:
            assert await conn.fetchval("SELECT $1::jsonb", "[2]") == [2]
    finally:
        await db.dispose()


def test_one_handle_used_from_two_event_loops(settings: Settings) -> None:
    # asyncio.run twice with one Database (a CLI command, a script): the second loop must not get the first
    # loop's connections.
    assert settings.database_url
    db = Database(settings.database_url, pool_size=1, max_overflow=0)

    async def use() -> int:
        async with db.raw() as conn:
            return int(await conn.fetchval("SELECT 41 + 1"))

    assert asyncio.run(use()) == 42
    assert asyncio.run(use()) == 42

    async def close() -> None:
        await db.dispose()

    asyncio.run(close())



async def test_a_checkout_cancelled_again_during_its_cleanup_frees_its_slot(small_db: Database) -> None:
    """graphql-core cancels sibling resolvers when one fails; a task cancelled in the block and again during the
    clean-up query must still give its slot back (it leaked: once every slot had leaked, checkouts waited forever)."""
    for _ in range(3):  # more than the pool's two slots
        inside = asyncio.Event()

        async def hold(inside: asyncio.Event) -> None:
            async with small_db.raw() as conn:
                inside.set()
                await conn.execute("SELECT pg_sleep(30)")

        task = asyncio.create_task(hold(inside))
        await inside.wait()
        await asyncio.sleep(0.05)
        while not task.done():  # the first cancel stops the query, the next ones land in the clean-up
            task.cancel()
            await asyncio.sleep(0.005)
        with pytest.raises(asyncio.CancelledError):
            await task
    pool = await small_db.raw_pool()
    assert pool.in_use == 0

    async def checkout() -> int:
        async with small_db.raw() as conn:
            return int(await conn.fetchval("SELECT 1"))

    assert await asyncio.wait_for(checkout(), 60) == 1  # a deadlock detector, not a timing assertion
