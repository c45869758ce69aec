"""Input objects built from plans equal Strawberry's own conversion, on every planned input type of the schema, and
recordActivities answers the same with the plans on and off (data and errors, paths included)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)

from app.api.context import Context
from app.api.execution import input_builders
from app.api.execution.internals import graphql_schema
from app.api.loaders import Loaders
from app.api.schema import build_schema
from app.domain.access import Principal
from app.services.runtime import Resources
from app.settings import Execution
from tests.ingestion_support import approved_type

PLANNED = build_schema()
PLAIN = build_schema(execution=Execution(input_builders=False))
SCALARS: dict[str, list[Any]] = {
    "String": ["", "s", "ünï"], "ID": ["1", "UGVyc29uOjE=", "x"], "Int": [0, 7, -3], "Float": [1.5, 0.0],
    "Boolean": [True, False], "JSON": [{"a": [1, None]}, [1, "x"], 3, "j"],
    "DateTime": [datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)],
}


class Context_:
    """What the from_input hook reads of Strawberry's InputContext."""

    def __init__(self, schema: Any, path: tuple[str | int, ...]) -> None:
        self.config, self.scalar_registry = schema.config, schema.schema_converter.scalar_registry
        self.info, self.path = None, path


def sample(type_: GraphQLInputType, rng: random.Random, depth: int = 0) -> Any:
    """A value as graphql-core's coercion hands it to Strawberry (GraphQL names, parsed scalars)."""
    nullable = not isinstance(type_, GraphQLNonNull)
    inner: Any = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if nullable and rng.random() < 0.2:
        return None
    if isinstance(inner, GraphQLList):
        return [sample(inner.of_type, rng, depth + 1) for _ in range(rng.randrange(3))]
    if isinstance(inner, GraphQLEnumType):
        return rng.choice(list(inner.values.values())).value
    if isinstance(inner, GraphQLScalarType):
        return rng.choice(SCALARS.get(inner.name, [object()]))
    assert isinstance(inner, GraphQLInputObjectType)
    out = {}
    for name, field in inner.fields.items():
        required = isinstance(field.type, GraphQLNonNull)
        if required or (depth < 3 and rng.random() < 0.7):
            out[name] = sample(field.type, rng, depth + 1)
    return out


def outcome(build: Any, cls: type, value: Any, context: Context_) -> Any:
    try:
        return build(cls, value, context)
    except Exception as error:  # the same error, by type and message
        return type(error), str(error)


def test_every_planned_type_builds_what_strawberry_builds() -> None:
    plans = input_builders._ENABLED[id(PLANNED.config)][1]
    types = {t.name: t for t in graphql_schema(PLANNED).type_map.values() if isinstance(t, GraphQLInputObjectType)}
    assert {"RecordActivitiesInput", "ActivityInput", "PersonRefInput"} <= {c.__name__ for c in plans}
    rng = random.Random(16)
    for cls, _ in plans.items():
        graphql_type = types[cls.__strawberry_definition__.name]  # type: ignore[attr-defined]
        for _ in range(40):
            value = sample(GraphQLNonNull(graphql_type), rng)
            planned = outcome(input_builders.build, cls, value, Context_(PLANNED, ("input",)))
            plain = outcome(input_builders.build, cls, value, Context_(PLAIN, ("input",)))  # not enabled: default
            assert planned == plain, (cls.__name__, value)


RECORD = """mutation($input: RecordActivitiesInput!) { recordActivities(input: $input) {
  job { status dryRun counts { total } } errors { code field message } } }"""


def activity(i: int, **extra: Any) -> dict[str, Any]:
    return {"activityType": "depositCheck", "person": {"email": f"p{i}@x.io"}, "occurredAt": "2026-11-02T10:00:00Z",
            "primaryValue": "Main", "fields": {"amount": i, "currency": "USD"}, **extra}


@pytest.mark.parametrize("variables", [
    {"input": {"activities": [activity(1), activity(2, idempotencyKey="k")], "dryRun": True,
               "createMissingPersons": True}},
    {"input": {"activities": [activity(1, person={"id": "UGVyc29uOjE="})], "dryRun": True}},
    {"input": {"activities": [activity(1, occurredAt="yesterday")], "dryRun": True}},  # a coercion error
    {"input": {"activities": [{**activity(1), "person": None}], "dryRun": True}},
    {"input": {"activities": [], "dryRun": True}},
    {"input": {"activities": [activity(1, fields=None, primaryValue=None)], "dryRun": True, "idempotencyKey": None}},
])
async def test_record_activities_answers_the_same(resources: Resources, variables: dict[str, Any]) -> None:
    await approved_type(resources)
    answers = []
    for schema in (PLANNED, PLAIN):
        context = Context(request=None, response=None,  # type: ignore[arg-type]  # no resolver here reads them
                          resources=resources, principal=Principal.local_admin(), loaders=Loaders(resources))
        result = await schema.execute(RECORD, variable_values=variables, context_value=context)
        errors = [(e.message, e.path) for e in result.errors or []]
        answers.append((result.data, errors))
    assert answers[0] == answers[1]
