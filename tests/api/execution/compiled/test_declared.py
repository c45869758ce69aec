"""A compiled field handles only the arguments and directives it declares; any other use takes the normal path.

(No `from __future__ import annotations`: the test schema's types are local, and Strawberry resolves string
annotations at module scope.)
"""

from typing import Annotated

import pytest
import strawberry
from graphql import FieldNode, GraphQLSchema, OperationDefinitionNode, parse, validate

from app.api.activities.inputs import TimelineFilter
from app.api.execution.compiled.plan import compile_plan, handles
from app.api.execution.compiled.registry import REGISTRY, CompiledField
from app.api.execution.internals import graphql_schema
from app.api.schema import build_schema

REAL = graphql_schema(build_schema())


@strawberry.type(name="ActivityConnection", description="A page.")
class Connection:
    @strawberry.field(description="Count.")
    async def total_count(self) -> int:
        return 0


async def timeline_with_order(
    self: object,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: TimelineFilter | None = None,
    order: Annotated[str | None, strawberry.argument(description="New, null by default.")] = None,
) -> Connection:
    return Connection()


async def timeline_with_defaulted_order(
    self: object,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: TimelineFilter | None = None,
    order: Annotated[str, strawberry.argument(description="New, with a default.")] = "newest",
) -> Connection:
    return Connection()


def schema_where_timeline_gains(resolver: object) -> GraphQLSchema:
    """The compiled fields' types as they would be after a developer added an argument to Person.timeline and to
    Query.person, without declaring it on the compiled fields."""

    @strawberry.type(name="Person", description="A person.")
    class Person:
        id: strawberry.ID = strawberry.field(description="Id.")
        timeline: Connection = strawberry.field(resolver=resolver, description="Timeline.")  # type: ignore[call-overload]

    @strawberry.type(name="Query", description="Root.")
    class Query:
        @strawberry.field(description="One person.")
        async def person(
            self,
            id: strawberry.ID | None = None,
            email: str | None = None,
            external_id: str | None = None,
            include_erased: Annotated[bool | None, strawberry.argument(description="New.")] = None,
        ) -> Person | None:
            return None

    return graphql_schema(strawberry.Schema(query=Query))


def plan_for(schema: GraphQLSchema, document: str) -> object:
    parsed = parse(document)
    assert validate(schema, parsed) == [], document
    return compile_plan(schema, parsed, None)


TIMELINE = 'query { person(id: "1") { id timeline(first: 2%s) { totalCount } } }'


def test_a_new_argument_is_declined_where_it_is_used() -> None:
    schema = schema_where_timeline_gains(timeline_with_order)
    assert plan_for(schema, TIMELINE % "") is not None  # unused and null by default: the read never sees it
    assert plan_for(schema, TIMELINE % ', order: "oldest"') is None
    assert plan_for(schema, 'query($o: String) { person(id: "1") { timeline(order: $o) { totalCount } } }') is None
    assert plan_for(schema, 'query { person(id: "1", includeErased: true) { id } }') is None
    assert plan_for(schema, 'query { person(id: "1") { id } }') is not None


def test_a_new_argument_with_a_default_is_declined_everywhere() -> None:
    """Its default would reach the Strawberry resolver but not the compiled read."""
    schema = schema_where_timeline_gains(timeline_with_defaulted_order)
    assert plan_for(schema, TIMELINE % "") is None
    assert plan_for(schema, 'query { person(id: "1") { id } }') is not None


def test_undeclared_directives_are_declined() -> None:
    operation = parse('{ person(id: "1") @include(if: true) { id } }').definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    node = operation.selection_set.selections[0]
    assert isinstance(node, FieldNode)
    assert REAL.query_type is not None
    field_def = REAL.query_type.fields["person"]
    registered = REGISTRY[("Query", "person")]
    assert handles(registered, field_def, node)
    strict = CompiledField(registered.resolve, registered.arguments, frozenset())
    assert not handles(strict, field_def, node)


@pytest.mark.parametrize("key", sorted(REGISTRY), ids=".".join)
def test_compiled_fields_declare_every_argument_of_the_real_schema(key: tuple[str, str]) -> None:
    """Today's declarations are complete: a new argument fails here first, naming the field to update
    (app/api/execution/compiled/fields.py), instead of quietly sending its documents down the normal path."""
    type_name, field_name = key
    gql_type = REAL.get_type(type_name)
    assert gql_type is not None
    assert REGISTRY[key].arguments == set(gql_type.fields[field_name].args)  # type: ignore[attr-defined]
