"""schema.graphql is generated from the code; this fails when someone forgets to regenerate it."""

from __future__ import annotations

from app.api.schema import schema_sdl
from tests.stores import PROJECT_ROOT


def test_schema_graphql_is_current() -> None:
    committed = (PROJECT_ROOT / "schema.graphql").read_text()
    assert committed == schema_sdl(), "schema.graphql is stale: run `activities export-schema`"


def test_every_type_and_field_is_described() -> None:
    from graphql import GraphQLInputObjectType, GraphQLObjectType

    from app.api.execution.internals import graphql_schema
    from app.api.schema import build_schema

    schema = graphql_schema(build_schema())
    missing = []
    for name, gtype in schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not gtype.description:
            missing.append(name)
        if isinstance(gtype, (GraphQLObjectType, GraphQLInputObjectType)):
            for field_name, field in gtype.fields.items():
                if not field.description and name not in {"PageInfo"}:
                    missing.append(f"{name}.{field_name}")
    assert missing == []
