"""The shape of a compiled field check: normalised value on success, an Issue on failure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.domain.activity_types import FieldSpec
from app.domain.errors import ErrorCode, Issue

# A check takes one raw (present, non-missing) value and returns the normalised value or an Issue.
# Returning instead of raising keeps the hot loop free of exception set-up cost.
Check = Callable[[Any], Any]

# Python's int() refuses more than 4300 digits; anything past 20 characters cannot be a signed 64-bit
# integer anyway, so we refuse early and never feed huge strings to the parsers.
MAX_NUMBER_TEXT = 64


def issue(code: ErrorCode, path: str, message: str) -> Issue:
    return Issue(code, path, message)


def type_name(value: object) -> str:
    """The JSON name of a Python value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def wrong_type(path: str, expected: str, value: object) -> Issue:
    return Issue(ErrorCode.WRONG_TYPE, path, f"Expected {expected}, got {type_name(value)}.")


def with_allowed(check: Check, spec: FieldSpec, path: str) -> Check:
    """Wrap a string check so the normalised value must be one of `spec.allowed_values`."""
    if spec.allowed_values is None:
        return check
    allowed = frozenset(spec.allowed_values)
    shown = ", ".join(sorted(allowed)[:10]) + (", ..." if len(allowed) > 10 else "")
    # Allowed values the check passes unchanged: an exact match among them needs no call of the check.
    plain = frozenset(v for v in allowed if check(v) == v)

    def allowed_check(value: Any) -> Any:
        if type(value) is str and value in plain:
            return value
        result = check(value)
        if type(result) is Issue or result in allowed:
            return result
        return Issue(ErrorCode.NOT_ALLOWED, path, f"{_short(result)!r} is not one of the allowed values: {shown}.")

    return allowed_check


def with_range(check: Check, spec: FieldSpec, path: str) -> Check:
    """Wrap a numeric check so the normalised value lies within the spec's min/max."""
    low, high = spec.min_value, spec.max_value
    if low is None and high is None:
        return check

    def range_check(value: Any) -> Any:
        result = check(value)
        if type(result) is Issue:
            return result
        if (low is not None and result < low) or (high is not None and result > high):
            return Issue(ErrorCode.OUT_OF_RANGE, path, f"{result} is outside the allowed range {_bounds(low, high)}.")
        return result

    return range_check


def _bounds(low: float | None, high: float | None) -> str:
    return f"[{'-inf' if low is None else _num(low)}, {'+inf' if high is None else _num(high)}]"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _short(value: object, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

