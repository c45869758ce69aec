"""Completers of one request variant's values (leaves, lists, objects), built on the shared completion helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLIsTypeOfFn, GraphQLLeafType

from app.api.execution.compiled.registry import Call
from app.api.execution.completion import FALLBACK, NO_INFO, check, coerce_leaf, inert, is_sequence

Complete = Callable[[Any, Call], Any]
"""Completes one non-null value (None raises FALLBACK): returns it completed, or an awaitable when async."""


@dataclass(frozen=True, slots=True)
class Built:
    """A completer for one output type, and what it selects."""

    complete: Complete
    is_async: bool
    nullable: bool
    passes: str | None = None
    """Leaves: a Python test of `{v}` for values that complete as themselves (generated code skips the call)."""
    obj: Complete | None = None
    """Objects: the completer without the None/awaitable checks (generated code inlines those)."""
    item: Built | None = None
    """Lists: what their items complete with."""
    fields: frozenset[str] = frozenset()
    below: frozenset[tuple[str, str]] = frozenset()


def leaf(type_: GraphQLLeafType) -> Complete:
    coerce = coerce_leaf(type_)

    def complete(value: Any, _call: Call) -> Any:
        if value is None:
            raise FALLBACK
        return coerce(value)

    return complete


def listing(item: Built) -> Complete:
    """A list of `item`; only lists and tuples (graphql-core takes any iterable: anything else falls back)."""
    complete_item, nullable = item.complete, item.nullable
    if item.is_async:

        async def complete_async(value: Any, call: Call) -> Any:
            if not is_sequence(value):
                raise FALLBACK
            out: list[Any] = []
            for element in value:
                if element is None and nullable:
                    out.append(None)
                else:
                    out.append(await complete_item(element, call))
            return out

        return complete_async

    def complete(value: Any, call: Call) -> Any:
        if not is_sequence(value):
            raise FALLBACK
        if nullable:
            return [None if e is None else complete_item(e, call) for e in value]
        return [complete_item(e, call) for e in value]

    return complete


def checked(complete_object: Complete, is_async: bool, is_type_of: GraphQLIsTypeOfFn | None = None) -> Complete:
    """An object completer that first refuses None, awaitables, exceptions and (where the type has is_type_of, as
    types implementing an interface do) a value of another type: graphql-core reports those."""
    if is_async:

        async def complete_async(value: Any, call: Call) -> Any:
            if value is None:
                raise FALLBACK
            if type(value) not in inert:
                check(value)
            if is_type_of is not None and not is_type_of(value, NO_INFO):
                raise FALLBACK
            result: Any = complete_object(value, call)
            return await result

        return complete_async

    def complete(value: Any, call: Call) -> Any:
        if value is None:
            raise FALLBACK
        if type(value) not in inert:
            check(value)
        if is_type_of is not None and not is_type_of(value, NO_INFO):
            raise FALLBACK
        return complete_object(value, call)

    return complete


async def finish(value: Any, built: Built, call: Call) -> Any:
    """Complete a resolved value (None allowed where the type is nullable), awaiting async completers."""
    if value is None:
        if built.nullable:
            return None
        raise FALLBACK
    result = built.complete(value, call)
    if built.is_async:
        return await result
    return result
