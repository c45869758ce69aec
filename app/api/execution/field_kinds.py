"""How a schema field can complete without graphql-core: a plain attribute, a fast resolver, or neither."""

from __future__ import annotations

import keyword
import operator
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from graphql import GraphQLField, GraphQLObjectType, GraphQLSchema

from app.api.execution.internals import resolves_by_default, strawberry_field_facts

F = TypeVar("F", bound=Callable[..., Any])
Kind = Literal["plain", "fast", "none"]

FAST_RESOLVER_ATTRIBUTE = "__fast_resolver__"
MISSING: Any = object()
"""What a fast resolver returns when it cannot answer synchronously (the normal path then runs the resolver)."""


def fast_resolver(fast: Callable[[Any, Any], Any]) -> Callable[[F], F]:
    """Mark a resolver (no arguments besides info) as answerable by `fast(source, context)` when that returns a value.

    `fast` must return exactly what the resolver would return, or MISSING; both fast paths then complete the value
    like a plain attribute (the resolver should call `fast` itself first, so there is one body).
    """

    def mark(resolver: F) -> F:
        setattr(resolver, FAST_RESOLVER_ATTRIBUTE, fast)
        return resolver

    return mark


# Per schema field: its kind and data (accessor or fast resolver). Keyed by the field object's id, kept alive in the
# value so the id is not reused; a schema has a fixed, small set of fields.
_KINDS: dict[int, tuple[GraphQLField, Kind, Any]] = {}


def field_kind(schema: GraphQLSchema, type_: GraphQLObjectType, name: str, field_def: GraphQLField) -> tuple[Kind, Any]:
    """("plain", accessor), ("fast", fast resolver taking (source, context)) or ("none", None)."""
    found = _KINDS.get(id(field_def))
    if found is None:
        kind, data = _classify(schema, type_, name, field_def)
        _KINDS[id(field_def)] = found = (field_def, kind, data)
    return found[1], found[2]


def _classify(schema: GraphQLSchema, type_: GraphQLObjectType, name: str, field_def: GraphQLField) -> tuple[Kind, Any]:
    facts = strawberry_field_facts(schema, type_.name, name)
    if facts is None or facts.has_extensions:
        return "none", None
    if facts.resolver is None:
        if not resolves_by_default(field_def):
            return "none", None  # e.g. field exception handlers wrap it
        default_resolver, attribute = facts.default_resolver, facts.python_name
        if default_resolver is getattr:
            return "plain", operator.attrgetter(attribute)
        return "plain", lambda source: default_resolver(source, attribute)
    fast = getattr(facts.resolver, FAST_RESOLVER_ATTRIBUTE, None)
    if fast is None or facts.has_arguments:
        return "none", None
    return "fast", fast


def plain_attribute(schema: GraphQLSchema, type_: GraphQLObjectType, name: str) -> str | None:
    """For a plain field read with getattr: the attribute name, when generated code can write `source.<name>`."""
    facts = strawberry_field_facts(schema, type_.name, name)
    if facts is None or facts.default_resolver is not getattr:
        return None
    attribute = facts.python_name
    return attribute if attribute.isidentifier() and not keyword.iskeyword(attribute) else None
