"""Repeated keys in a JSON row: parsers keep the last one silently, so a row saying two things is refused."""

from __future__ import annotations

import json
from typing import Any

from app.domain.errors import ErrorCode, Issue


def may_repeat_keys(raw: bytes, obj: Any) -> bool:
    """False when the JSON text `raw`, which parsed to `obj`, surely repeats no key in any of its objects:
    it writes as many strings as obj holds keys and string values (see `string_tokens`)."""
    return string_tokens(raw) != _strings(obj)


def string_tokens(raw: bytes) -> int | None:
    """How many strings (keys and string values) the JSON text `raw` writes; None when counting cannot tell.

    Without a backslash every `"` delimits a string, so there are half as many strings as quotes. A repeated
    key drops its earlier pair when parsed, so the parsed value holds fewer keys and strings than that.
    Two single-byte C scans: the bulk path compares it with the strings it expects of a plain row."""
    if b"\\" in raw:
        return None
    return raw.count(b'"') >> 1


def _strings(obj: Any) -> int:
    """Keys plus string values in a parsed JSON value."""
    count = 0
    stack = [obj]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            count += 1
        elif kind is dict:
            count += len(item)
            stack += item.values()
        elif kind is list:
            stack += item
    return count


class _Repeated(dict[str, Any]):
    """An object of the row that repeats `key`."""

    key = ""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    repeated = _Repeated(obj)
    repeated.key = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
    return repeated


def repeated_key_issue(raw: bytes) -> Issue | None:
    """DUPLICATE at the path of the first repeated key of valid JSON text `raw` ("fields.amount"), or None."""
    stack: list[tuple[Any, str]] = [(json.loads(raw, object_pairs_hook=_pairs), "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, _Repeated):
            path = f"{where}.{item.key[:100]}" if where else item.key[:100]
            return Issue(ErrorCode.DUPLICATE, path,
                         f"The key '{item.key[:100]}' appears more than once in one object; which value is meant?")
        if isinstance(item, dict):
            stack += reversed([(v, f"{where}.{k}" if where else k) for k, v in item.items()])
        elif isinstance(item, list):
            stack += reversed([(v, f"{where}.{i}" if where else str(i)) for i, v in enumerate(item)])
    return None
