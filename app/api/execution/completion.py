"""Value completion as graphql-core does it, shared by the fast executor and the compiled plans, or a fallback.

Both fast paths complete values only where the result is certain to equal graphql-core's; anything else (an error,
an awaitable, a null where the type forbids it, a value a scalar refuses) raises FALLBACK and the normal path
completes the value (the fast executor) or the whole request (a compiled plan) from the start.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import orjson
from graphql import GRAPHQL_MAX_INT, GRAPHQL_MIN_INT, GraphQLLeafType, Undefined

from app.api.execution.internals import executor_is_awaitable, is_int_serializer, is_isoformat, returns_its_argument


class Fallback(Exception):  # a signal, never an error a client sees
    """A fast path cannot complete this value exactly; the normal path does."""


FALLBACK = Fallback()

NO_INFO: Any = None
"""The `info` the fast paths pass to is_type_of: Strawberry's (the only ones in the schema) never read it."""

INERT_CLASSES: frozenset[type] = frozenset({str, int, float, bool, dict, list, tuple})
"""Values of these classes are never awaitable, never exceptions, and complete as themselves or via coercion."""

SELF_COERCING: dict[str, type] = {"String": str, "ID": str, "Boolean": bool}
"""Built-in scalars whose coercion returns values of exactly this class unchanged (graphql-core's serializers)."""

JSON_PASSED: frozenset[type] = INERT_CLASSES | {orjson.Fragment}
"""What a scalar that returns its argument (JSON) completes unchanged without a call: plain values, and JSON kept as
its stored text (timelines pass it as orjson.Fragment, which every response encoder here writes as it is)."""

inert: set[type] = set(JSON_PASSED)
"""Classes `check` has seen are neither awaitable nor exceptions (hot code tests membership inline)."""


def check(value: Any) -> None:
    """Fall back on what graphql-core treats specially: awaitables and exceptions returned as values."""
    cls = type(value)
    if cls in inert:
        return
    if isinstance(value, Exception) or executor_is_awaitable(value):
        raise FALLBACK
    if cls is not types.GeneratorType:  # a generator's awaitability depends on the instance
        inert.add(cls)


def coerce_leaf(type_: GraphQLLeafType) -> Callable[[Any], Any]:
    """Completes one non-null leaf value as graphql-core's complete_leaf_value does, or raises FALLBACK."""
    coerce = type_.coerce_output_value

    def complete(value: Any) -> Any:
        if type(value) not in inert:
            check(value)
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise FALLBACK
        return coerced

    return complete


def same_class(type_: GraphQLLeafType) -> type | None:
    """The class whose values this leaf type completes unchanged by an identity-preserving coercion, if any."""
    return SELF_COERCING.get(type_.name)


def is_sequence(value: Any) -> bool:
    """Lists and tuples only: graphql-core completes any iterable, the fast paths hand anything else back."""
    return type(value) is list or type(value) is tuple


def passes(type_: GraphQLLeafType) -> str | None:
    """Python source testing `{v}` for leaf values that complete as themselves (generated code skips the coercion)."""
    same = same_class(type_)
    coerce = type_.coerce_output_value
    if same is not None:
        return f"type({{v}}) is {same.__name__}"
    if is_int_serializer(coerce):
        return f"type({{v}}) is int and {GRAPHQL_MIN_INT} <= {{v}} <= {GRAPHQL_MAX_INT}"
    if is_isoformat(coerce):
        # orjson writes exactly isoformat()'s text for UTC datetimes (tested on 200k values incl. years 1 and 9999)
        return "type({v}) is DATETIME and {v}.tzinfo is UTC"
    if returns_its_argument(coerce):  # the JSON scalar: graphql-core would hand the value to orjson unchanged
        return "type({v}) in JSON_PASSED"
    return None
