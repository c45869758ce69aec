"""Compiled fields by (type, field): what each handles (arguments, directives), the per-request state they read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import VariableValues

from app.api.context import Context
from app.api.execution.completion import FALLBACK, Fallback

__all__ = [
    "CONDITIONS", "FALLBACK", "REGISTRY", "Call", "CompiledField", "Fallback", "RowReaders", "Selection", "compiled",
]

CONDITIONS = ("skip", "include")
"""The only directives a plan evaluates (with graphql-core's own field collection)."""


@dataclass(slots=True)
class Call:
    """One request on the compiled path: the same Context the normal path would build, and the variables."""

    context: Context
    variables: VariableValues


@dataclass(frozen=True, slots=True)
class Selection:
    """What is selected below a field in this request's variant of the plan (after @skip/@include)."""

    fields: frozenset[str]
    """Field names selected directly on the field's object type (aliases resolved to names)."""
    below: frozenset[tuple[str, str]]
    """(type name, field name) of every field selected anywhere below."""


Resolver = Callable[[Any, dict[str, Any], Call, Selection], Awaitable[Any]]

RowReaders = Mapping[str, Mapping[str, Callable[[Any], Any] | str]]
"""GraphQL type name -> field name -> how to read the field's value from a row (a domain object) standing for that
type: a function of the row, or the name of its attribute ("" for the row itself), read inline."""


@dataclass(frozen=True, slots=True)
class CompiledField:
    """A field the compiled path answers by calling the same read function as its Strawberry resolver.

    `resolve` gets the source, the declared arguments converted exactly as Strawberry converts them (Python names,
    input classes), the request's Call and the Selection below it, and returns what the Strawberry resolver would
    return; it raises anything (FALLBACK, DomainError, a scope refusal...) to hand the request to the normal path,
    which reports the error. A document that passes any argument not in `arguments`, or any directive not in
    `directives`, on this field gets no plan; so does every document when the field has an undeclared argument with
    a non-null default.
    """

    resolve: Resolver
    arguments: frozenset[str]
    """GraphQL names of the arguments `resolve` passes on."""
    directives: frozenset[str]
    rows: RowReaders | None = None
    """Types whose values `resolve` returns as rows below it (a page's domain objects rather than the Strawberry
    objects the resolver builds for them), and how to read their fields: see VariantBuilder."""


REGISTRY: dict[tuple[str, str], CompiledField] = {}


def compiled(
    type_name: str, field_name: str, *, arguments: tuple[str, ...] = (), directives: tuple[str, ...] = CONDITIONS,
    rows: RowReaders | None = None,
) -> Callable[[Resolver], Resolver]:
    """Register `resolve` for `type_name.field_name` (GraphQL names), handling `arguments` and `directives`, its
    values of the types in `rows` being rows read by those readers."""
    unknown = set(directives) - set(CONDITIONS)
    assert not unknown, f"plans evaluate only {CONDITIONS}, not {unknown}"

    def register(resolve: Resolver) -> Resolver:
        REGISTRY[(type_name, field_name)] = CompiledField(resolve, frozenset(arguments), frozenset(directives), rows)
        return resolve

    return register
