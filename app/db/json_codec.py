"""JSON/JSONB codecs for raw asyncpg connections: orjson where it is exact, the stdlib where it is not."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# orjson reads integers outside int64/uint64 as floats (silently rounded) and refuses numbers that overflow a
# double (1e400), where the stdlib keeps exact Python ints and gives inf. PostgreSQL prints jsonb numbers without
# exponents, so any number orjson could round has a run of 19+ digits: such documents go to the stdlib.
_LONG_DIGITS = re.compile(rb"\d{19}")
_JSONB_VERSION = b"\x01"  # binary jsonb is a version byte, then the JSON text


def loads(data: bytes | memoryview) -> Any:
    """Decode JSON text exactly as `json.loads` would, with orjson's speed whenever the two agree."""
    if _LONG_DIGITS.search(data) is None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # e.g. a lone surrogate escape or too deep a nesting: the stdlib decides
    return json.loads(bytes(data))


def decode_json(data: bytes) -> Any:
    return loads(data)


def decode_jsonb(data: bytes) -> Any:
    return loads(memoryview(data)[1:])


def encode_json(text: str | bytes) -> bytes:
    """Parameters are JSON text already (str, or bytes from orjson.dumps), as with SQLAlchemy's codec."""
    return text if isinstance(text, bytes) else text.encode()


def encode_jsonb(text: str | bytes) -> bytes:
    return _JSONB_VERSION + (text if isinstance(text, bytes) else text.encode())


async def register(conn: Any) -> None:
    """asyncpg pool `init`: the codecs for json and jsonb on one new connection."""
    await conn.set_type_codec(
        "json", encoder=encode_json, decoder=decode_json, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec(
        "jsonb", encoder=encode_jsonb, decoder=decode_jsonb, schema="pg_catalog", format="binary"
    )
