"""JSON/JSONB codecs for raw asyncpg connections: orjson where it is exact, the stdlib where it is not."""

from __future__ import annotations

import json
from typing import Any

import orjson

from app.db.raw_pool import Connection

# orjson reads integers outside int64/uint64 as floats (silently rounded) and refuses numbers that overflow a
# double (1e400), where the stdlib keeps exact Python ints and gives inf. PostgreSQL prints jsonb numbers without
# exponents, so any number orjson could round has a run of 19+ digits: such documents go to the stdlib. The run
# is found by mapping every digit to "0" and everything else to " " (translate + substring search: ~0.1 us on a
# typical document, a quarter of what re.search(rb"\d{19}") costs).
_DIGITS_TO_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_RUN = b"0" * 19


def loads(data: bytes) -> Any:
    """Decode JSON text exactly as `json.loads` would, with orjson's speed whenever the two agree."""
    if len(data) < 19 or _LONG_RUN not in data.translate(_DIGITS_TO_ZERO):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # e.g. 1e400 in a json (not jsonb) value, a lone surrogate escape, too deep a nesting
    return json.loads(data)


decode_json = loads


def decode_jsonb(data: bytes) -> Any:
    """Binary jsonb: a version byte, then the text (`loads` inlined: this runs for every jsonb value read)."""
    body = data[1:]
    if len(body) < 19 or _LONG_RUN not in body.translate(_DIGITS_TO_ZERO):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return json.loads(body)


def encode_json(text: str | bytes) -> bytes:
    """Parameters are JSON text already (str, or bytes from orjson.dumps), as with SQLAlchemy's codec."""
    return text if isinstance(text, bytes) else text.encode()


def encode_jsonb(text: str | bytes) -> bytes:
    return b"\x01" + (text if isinstance(text, bytes) else text.encode())


async def register(conn: Connection) -> None:
    """asyncpg pool `init`: the codecs for json and jsonb on one new connection."""
    await conn.set_type_codec(
        "json", encoder=encode_json, decoder=decode_json, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec(
        "jsonb", encoder=encode_jsonb, decoder=decode_jsonb, schema="pg_catalog", format="binary"
    )
