"""Relay global ids (base64 of "Type:rawId") and the Node interface every refetchable type implements."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import TypeVar

import strawberry

NODE_TYPES = frozenset({
    "Person", "Activity", "ActivityType", "IngestionJob", "ApiKey", "ExportJob", "SmartList", "Trigger",
    "TriggerDelivery",
})
T = TypeVar("T")
MAX_GLOBAL_ID_LENGTH = 200  # the longest real one (Activity: two bigints) is under 60 characters

GLOBAL_ID = (
    "Global id: opaque, unique across all types; `node(id:)` refetches the object. Arguments that take this "
    "type's id accept it (and, deprecated, the raw `rowId`)."
)
ROW_ID = (
    "The raw database id, as in REST responses, exports and webhook payloads. This was `id` until `id` became the "
    "global id (docs/timelines-and-search.md, Global ids)."
)


@strawberry.interface(
    description="An object with a global id that `node(id:)` refetches (GraphQL Global Object Identification)."
)
class Node:
    id: strawberry.ID = strawberry.field(description=GLOBAL_ID)


def to_global_id(type_name: str, raw: object) -> strawberry.ID:
    # Standard base64 like graphql-relay's toGlobalId, so ids read the same as other Relay servers' ids.
    # binascii directly: base64.b64encode is a Python wrapper, and this runs for every node of every page.
    return strawberry.ID(binascii.b2a_base64(f"{type_name}:{raw}".encode(), newline=False).decode("ascii"))


def from_global_id(value: str) -> tuple[str, str] | None:
    """(type name, raw id) of a global id; None for anything else (a raw id, garbage, an unknown type).

    A raw id never passes for a global one: digits and UUIDs decode to bytes that are not "<NodeType>:"."""
    if len(value) > MAX_GLOBAL_ID_LENGTH:
        return None
    try:
        text = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, sep, raw = text.partition(":")
    if not sep or not raw or type_name not in NODE_TYPES:
        return None
    return type_name, raw


def raw_id(value: str, type_name: str) -> str:
    """The raw id in `value` when it is a `type_name` global id, `value` itself when it is no global id (raw ids
    stay accepted); ValueError for another type's global id, which every caller reports like an unknown id."""
    decoded = from_global_id(str(value))
    if decoded is None:
        return str(value)
    if decoded[0] != type_name:
        raise ValueError(f"a {decoded[0]} id where a {type_name} id belongs")
    return decoded[1]


def parsed_id(value: str, type_name: str, parse: Callable[[str], T]) -> T | None:
    """`parse` of the raw id in `value` (global or raw), or None when `value` can name no `type_name` object: what
    the by-id reads answer with null."""
    try:
        return parse(raw_id(value, type_name))
    except ValueError:
        return None
