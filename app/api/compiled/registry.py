"""Compiled resolvers by (type, field), the per-request state they read, and the fallback signal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql.execution.values import VariableValues

from app.domain.access import Principal
from app.services.runtime import Resources


class Fallback(Exception):  # a signal, never an error a client sees
    """The plan cannot answer this request exactly; the normal path runs it from the start."""


FALLBACK = Fallback()


@dataclass(slots=True)
class Call:
    """One request on the compiled path: what its resolvers may read and the state they share."""

    resources: Resources
    principal: Principal | None
    variables: VariableValues
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Selection:
    """What is selected below a field in this request's variant of the plan (after @skip/@include)."""

    fields: frozenset[str]
    """Field names selected directly on the field's object type (aliases resolved to names)."""
    below: frozenset[tuple[str, str]]
    """(type name, field name) of every field selected anywhere below."""


Resolver = Callable[[Any, dict[str, Any], Call, Selection], Any]


@dataclass(frozen=True, slots=True)
class CompiledField:
    """A resolver the compiled path calls instead of the Strawberry one: same services, same returned objects.

    It gets the source, the arguments converted exactly as Strawberry converts them (Python names, input
    classes), the request's Call and the Selection below it; it returns the value the Strawberry resolver
    would return (awaited first when `is_async`), or raises anything to hand the request to the normal path.
    """

    resolve: Resolver
    is_async: bool


REGISTRY: dict[tuple[str, str], CompiledField] = {}


def compiled(type_name: str, field_name: str, *, is_async: bool = True) -> Callable[[Resolver], Resolver]:
    """Register `resolve` for `type_name.field_name` (GraphQL names)."""

    def register(resolve: Resolver) -> Resolver:
        REGISTRY[(type_name, field_name)] = CompiledField(resolve, is_async)
        return resolve

    return register
