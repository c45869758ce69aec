"""Opaque keyset cursors: activities on (occurred_at, id), other lists on id; malformed -> INVALID_CURSOR."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime, timedelta

from app.domain.activities import parse_id
from app.domain.errors import DomainError, ErrorCode

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ACTIVITY = "a1"
_ID = "i1"
_UUID = "u1"
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str, kind: str, parts: int, field: str) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise _invalid(field) from exc
    fields = text.split(":")
    if len(fields) != parts + 1 or fields[0] != kind:
        raise _invalid(field)
    return fields[1:]


def _invalid(field: str) -> DomainError:
    return DomainError.of(ErrorCode.INVALID_CURSOR, "Malformed cursor: pass a cursor this API returned.", field)


def encode_activity_cursor(occurred_at: datetime, activity_id: int) -> str:
    """A cursor for the activity at (occurred_at, id); microsecond-exact, as PostgreSQL stores it."""
    # One per timeline item: integer arithmetic and binascii are ~2x faster than timedelta division and base64.
    delta = occurred_at - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    text = f"{_ACTIVITY}:{micros}:{activity_id}".encode()
    return binascii.b2a_base64(text, newline=False).translate(_URLSAFE).decode().rstrip("=")


def decode_activity_cursor(cursor: str, field: str = "after") -> tuple[datetime, int]:
    """(occurred_at, id) from an activity cursor, or DomainError(INVALID_CURSOR) naming `field`."""
    micros_text, id_text = _decode(cursor, _ACTIVITY, 2, field)
    try:
        occurred_at = _EPOCH + timedelta(microseconds=int(micros_text))
        activity_id = parse_id(id_text)
    except (ValueError, OverflowError) as exc:
        raise _invalid(field) from exc
    return occurred_at, activity_id


def encode_id_cursor(row_id: int) -> str:
    """A cursor for lists ordered by a numeric id (persons)."""
    return _encode(f"{_ID}:{row_id}")


def decode_id_cursor(cursor: str, field: str = "after") -> int:
    (id_text,) = _decode(cursor, _ID, 1, field)
    try:
        return parse_id(id_text)
    except ValueError as exc:
        raise _invalid(field) from exc


def encode_uuid_cursor(row_id: uuid.UUID) -> str:
    """A cursor for lists ordered by a uuid (triggers)."""
    return _encode(f"{_UUID}:{row_id.hex}")


def decode_uuid_cursor(cursor: str, field: str = "after") -> uuid.UUID:
    (hex_text,) = _decode(cursor, _UUID, 1, field)
    try:
        return uuid.UUID(hex=hex_text)
    except ValueError as exc:
        raise _invalid(field) from exc
