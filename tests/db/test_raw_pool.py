"""The raw asyncpg pool: exact JSON decoding (orjson with a stdlib fallback), autocommit, broken connections."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.db import json_codec
from app.db.engine import Database
from app.services.runtime import Resources
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


async def test_a_broken_connection_is_dropped_and_the_next_acquire_works(resources: Resources) -> None:
    assert resources.settings.database_url
    db = Database(resources.settings.database_url, pool_size=2, max_overflow=0)
    try:
        async with db.raw() as victim:
            pid = await victim.fetchval("SELECT pg_backend_pid()")
            async with resources.db.raw() as killer:
                assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)

            async def closed() -> bool:
                try:
                    return bool(victim.is_closed())
                except asyncpg.InterfaceError:  # asyncpg already took the dead connection back
                    return True

            await eventually(closed)
            with pytest.raises(asyncpg.InterfaceError):
                await victim.fetchval("SELECT 1")

        async def use() -> int:
            async with db.raw() as conn:
                await asyncio.sleep(0.01)  # hold it, so the two acquisitions use both pool slots
                return int(await conn.fetchval("SELECT pg_backend_pid()"))

        pids = await asyncio.gather(use(), use())
        assert pid not in pids and len(set(pids)) == 2
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
