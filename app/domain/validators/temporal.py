"""Checks for DATE ("YYYY-MM-DD") and DATETIME (ISO 8601 with an offset, normalised to UTC "...Z")."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.domain.activity_types import FieldDataType, FieldSpec
from app.domain.errors import ErrorCode, Issue
from app.domain.validators.base import Check, wrong_type

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?"
    r"(?:([Zz])|([+-])([0-9]{2})(?::?([0-9]{2}))?)?"
)
_CANONICAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{6})?Z")
_DAY = timedelta(days=1)
_DATE_HINT = "Expected a date as YYYY-MM-DD."
_DATETIME_HINT = "Expected ISO 8601 with a timezone, e.g. 2026-11-02T10:00:00Z or 2026-11-02T11:00:00+01:00."


def parse_datetime(text: str) -> datetime | str:
    """A naive datetime in UTC, or the reason `text` is not one. Input without a timezone is refused:
    guessing one silently shifts data."""
    match = _DATETIME.fullmatch(text.strip())
    if match is None:
        return _DATETIME_HINT
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    if zulu is None and sign is None:
        return "The time has no timezone; add 'Z' for UTC or an offset like +02:00."
    try:  # the C parser is faster; the regex above already decided what is acceptable
        parsed = datetime.fromisoformat(text.strip())
        offset = parsed.utcoffset()
        if offset is not None:
            naive = parsed.replace(tzinfo=None)
            return naive - offset if offset else naive
    except (ValueError, OverflowError):
        pass  # forms fromisoformat does not know (e.g. 'z'), or out of range: parse by hand for a precise reason
    try:
        # Naive arithmetic then tag UTC: several times faster than building a timezone per row.
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro)
        if sign is not None:
            minutes = int(off_m or 0)
            offset = timedelta(hours=int(off_h), minutes=minutes)
            if offset >= _DAY or minutes >= 60:
                return "Timezone offset out of range."
            moment = moment + offset if sign == "-" else moment - offset
        return moment
    except (ValueError, OverflowError) as exc:
        return f"Not a valid date and time: {exc}."


def utc_instant(moment: datetime) -> datetime | None:
    """An aware `moment` in UTC, or None when that instant is outside datetime's years 1 to 9999 in UTC
    ("0001-01-01T00:00:00+01:00" is valid ISO 8601, but astimezone raises OverflowError on it)."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return None


def format_datetime(moment: datetime) -> str:
    """The canonical form "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" of a UTC datetime (naive ones are taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat() + "Z"


def _datetime(path: str) -> Check:
    def check(value: Any) -> Any:
        if type(value) is not str:
            return wrong_type(path, "an ISO 8601 date-time string", value)
        if len(value) > 64:
            return Issue(ErrorCode.INVALID_DATE, path, _DATETIME_HINT)
        # Fast path for input already in canonical form (the common case for machine-made data).
        if _CANONICAL.fullmatch(value) is not None and not value.endswith(".000000Z"):
            try:
                datetime.fromisoformat(value)
                return value
            except ValueError:
                pass
        parsed = parse_datetime(value)
        if type(parsed) is str:
            return Issue(ErrorCode.INVALID_DATE, path, parsed)
        return format_datetime(parsed)  # type: ignore[arg-type]

    return check


def _date(path: str) -> Check:
    def check(value: Any) -> Any:
        if type(value) is not str:
            return wrong_type(path, "a date string (YYYY-MM-DD)", value)
        match = _DATE.fullmatch(value.strip()) if len(value) <= 32 else None
        if match is None:
            return Issue(ErrorCode.INVALID_DATE, path, _DATE_HINT)
        try:
            return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
        except ValueError as exc:
            return Issue(ErrorCode.INVALID_DATE, path, f"Not a valid date: {exc}.")

    return check


def build_temporal_check(spec: FieldSpec, path: str) -> Check:
    """The check for one DATE/DATETIME field; JSON and text input are parsed the same way."""
    if spec.data_type is FieldDataType.DATE:
        return _date(path)
    if spec.data_type is FieldDataType.DATETIME:
        return _datetime(path)
    raise ValueError(f"not a temporal type: {spec.data_type}")  # pragma: no cover
