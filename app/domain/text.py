"""Text PostgreSQL can store (no NUL, no unpaired surrogate): one rule for arguments, rows and values."""

from __future__ import annotations

from typing import Any

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


def unstorable_issue(path: str | None) -> Issue:
    return Issue(ErrorCode.INVALID_VALUE, path or None, MESSAGE)
