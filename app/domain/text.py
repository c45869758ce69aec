"""Text PostgreSQL can store (no NUL, no unpaired surrogate): one rule for arguments, rows and values."""

from __future__ import annotations

from typing import Any

import orjson

from app.domain.errors import ErrorCode, Issue

NUL = "\x00"
MESSAGE = "Text cannot contain the NUL character (\\u0000) or an unpaired surrogate: it cannot be stored."


def storable(text: str) -> bool:
    """Whether PostgreSQL text and jsonb can hold `text`: it has no NUL and encodes as UTF-8."""
    if NUL in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable_path(value: Any, path: str = "") -> str | None:
    """The path of the first string in a JSON-like value (dicts, lists, scalars) that is not storable, or None.

    Paths join keys and list positions with dots under `path` ("person.email", "fields.tags.0"); a key that is
    not storable is reported at its object's path (a path must be storable itself). Iterative, so the depth of
    the value is bounded only by what parsed it."""
    if _plainly_storable(value):
        return None
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if type(item) is str:
            if not storable(item):
                return where
        elif isinstance(item, dict):
            entries = []
            for key, inner in item.items():
                name = str(key)
                if not storable(name):
                    return where
                entries.append((inner, f"{where}.{name}" if where else name))
            stack.extend(reversed(entries))  # depth first, in order: the first bad value is the one reported
        elif isinstance(item, list | tuple):
            stack.extend(reversed([(inner, f"{where}.{i}" if where else str(i)) for i, inner in enumerate(item)]))
    return None


def _plainly_storable(value: Any) -> bool:
    """True when every string in `value` is storable, found in one C pass (a 300-activity batch: ~0.1 ms, not the
    walk's ~1.5 ms): orjson refuses unpaired surrogates and writes NUL as \\u0000. False when unsure (a NUL, a
    backslash before "u0000", or anything orjson does not encode): the walk decides."""
    try:
        data = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return False
    return b"\\u0000" not in data


def unstorable_issue(path: str | None) -> Issue:
    return Issue(ErrorCode.INVALID_VALUE, path or None, MESSAGE)
