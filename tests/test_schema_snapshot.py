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


def test_every_enum_value_and_argument_is_described() -> None:
    from graphql import GraphQLEnumType, GraphQLInterfaceType, GraphQLObjectType

    from app.api.execution.internals import graphql_schema
    from app.api.schema import build_schema

    schema = graphql_schema(build_schema())
    missing = []
    for name, gtype in schema.type_map.items():
        if name.startswith("__"):
            continue
        if isinstance(gtype, GraphQLEnumType):
            missing += [f"{name}.{value}" for value, definition in gtype.values.items() if not definition.description]
        if isinstance(gtype, (GraphQLObjectType, GraphQLInterfaceType)):
            for field_name, field in gtype.fields.items():
                missing += [f"{name}.{field_name}({arg})" for arg, a in field.args.items() if not a.description]
    for directive in schema.directives:
        missing += [f"@{directive.name}({arg})" for arg, a in directive.args.items() if not a.description]
    assert missing == []


def test_datetime_names_its_specification() -> None:
    from app.api.execution.internals import graphql_schema
    from app.api.schema import build_schema

    datetime_type = graphql_schema(build_schema()).get_type("DateTime")
    assert getattr(datetime_type, "specified_by_url", None) == "https://datatracker.ietf.org/doc/html/rfc3339"
