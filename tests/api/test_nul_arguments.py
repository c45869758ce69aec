"""NUL (U+0000) in any string argument: a typed INVALID_VALUE error, never "Unexpected error." or an ERROR log.

PostgreSQL text cannot hold NUL, so such a value used to reach the database and fail there. Every root field
with a string leaf in its arguments is sent one with NUL in every string leaf, as variables and as literals.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    get_named_type,
)

from app.api.app import create_app
from app.api.execution.internals import graphql_schema
from app.api.schema import build_schema
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import ADMIN_KEY_ID, ADMIN_TOKEN, insert_key
from tests.api.test_hardening_ws import run_ws
from tests.api.test_scopes import _one_of
from tests.conftest import GraphQL

SCHEMA = graphql_schema(build_schema())
NUL_TEXT = "nul\x00inside"
SAMPLES: dict[str, Any] = {"Int": 1, "Float": 1.0, "Boolean": False, "DateTime": "2026-11-02T10:00:00Z",
                           "Date": "2026-11-02", "JSON": {"note": NUL_TEXT}, "String": NUL_TEXT, "ID": NUL_TEXT}


def sample(gtype: GraphQLInputType, depth: int = 0) -> Any:
    """A value of `gtype` whose every string leaf holds NUL (input objects get all their fields)."""
    inner = gtype.of_type if isinstance(gtype, GraphQLNonNull) else gtype
    if isinstance(inner, GraphQLList):
        return [sample(inner.of_type, depth + 1)]
    if isinstance(inner, GraphQLEnumType):
        return next(iter(inner.values))
    if isinstance(inner, GraphQLInputObjectType):
        if _one_of(inner):  # exactly one field: the first that can hold text
            fields = list(inner.fields.items())
            name, f = next(((n, f) for n, f in fields if has_text(f.type, depth + 1)), fields[0])
            return {name: sample(f.type, depth + 1)}
        return {name: sample(f.type, depth + 1) for name, f in inner.fields.items()
                if depth < 3 or isinstance(f.type, GraphQLNonNull)}
    assert isinstance(inner, GraphQLScalarType)
    return SAMPLES[inner.name]


def has_text(gtype: GraphQLInputType, depth: int = 0) -> bool:
    named = get_named_type(gtype)
    if isinstance(named, GraphQLInputObjectType):
        return depth < 4 and any(has_text(f.type, depth + 1) for f in named.fields.values())
    return named.name in ("String", "ID", "JSON")


def uploads(gtype: GraphQLInputType, depth: int = 0) -> bool:
    named = get_named_type(gtype)
    if isinstance(named, GraphQLInputObjectType):
        return depth < 4 and any(uploads(f.type, depth + 1) for f in named.fields.values())
    return named.name == "Upload"


def selection(field: GraphQLField) -> str:
    named = get_named_type(field.type)
    return " { __typename }" if isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType) else ""


def type_text(gtype: Any) -> str:
    if isinstance(gtype, GraphQLNonNull):
        return type_text(gtype.of_type) + "!"
    if isinstance(gtype, GraphQLList):
        return "[" + type_text(gtype.of_type) + "]"
    return str(gtype.name)


def literal(value: Any, gtype: Any) -> str:
    inner = gtype.of_type if isinstance(gtype, GraphQLNonNull) else gtype
    if isinstance(inner, GraphQLList):
        return "[" + ", ".join(literal(v, inner.of_type) for v in value) + "]"
    if isinstance(inner, GraphQLEnumType):
        return str(value)
    if isinstance(inner, GraphQLInputObjectType):
        return "{" + ", ".join(f"{k}: {literal(v, inner.fields[k].type)}" for k, v in value.items()) + "}"
    if isinstance(value, dict):  # JSON scalar as a GraphQL object literal
        return "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


CASES = [
    (kind, name, field)
    for kind, root in (("query", SCHEMA.query_type), ("mutation", SCHEMA.mutation_type))
    if root is not None
    for name, field in sorted(root.fields.items())
    if any(has_text(a.type) for a in field.args.values()) and not any(uploads(a.type) for a in field.args.values())
]


def test_the_cases_cover_the_string_arguments() -> None:
    names = {name for _, name, _ in CASES}
    assert {"person", "persons", "activities", "recordActivities", "upsertPersons", "createActivityType",
            "createApiKey", "deletePerson"} <= names, names
    assert len(CASES) >= 20


@pytest.mark.parametrize(("kind", "name", "field"), CASES, ids=[f"{k}.{n}" for k, n, _ in CASES])
@pytest.mark.parametrize("how", ["variables", "literals"])
async def test_nul_in_a_string_argument_is_invalid_value(
    gql: GraphQL, caplog: pytest.LogCaptureFixture, kind: str, name: str, field: GraphQLField, how: str
) -> None:
    values = {arg: sample(a.type) for arg, a in field.args.items()}
    if how == "variables":
        declared = ", ".join(f"${arg}: {type_text(a.type)}" for arg, a in field.args.items())
        call = ", ".join(f"{arg}: ${arg}" for arg in field.args)
        document, variables = f"{kind}({declared}) {{ {name}({call}){selection(field)} }}", values
    else:
        call = ", ".join(f"{arg}: {literal(values[arg], a.type)}" for arg, a in field.args.items())
        document, variables = f"{kind} {{ {name}({call}){selection(field)} }}", {}
    with caplog.at_level(logging.WARNING):
        body = await gql(document, variables)
    assert "Unexpected error" not in json.dumps(body), body
    (error, *_) = body["errors"]
    assert error["extensions"]["code"] == "INVALID_VALUE", body
    assert error["extensions"]["issues"][0]["code"] == "INVALID_VALUE"
    assert "\x00" not in json.dumps(body, ensure_ascii=False)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_nul_over_websocket_is_invalid_value(settings: Settings, resources: Resources) -> None:
    await insert_key(resources, token=ADMIN_TOKEN, key_id=ADMIN_KEY_ID, name="test admin")
    app = create_app(settings, resources=resources)
    subscription = "subscription($f: TimelineFilter) { activityRecorded(filter: $f) { id } }"
    for document, variables in ((subscription, {"f": {"activityTypes": [NUL_TEXT]}}),
                                ('subscription { ingestionJobUpdated(id: "a\\u0000") { id } }', {}),
                                ("query($e: String) { person(email: $e) { id } }", {"e": NUL_TEXT})):
        result = await run_ws(app, document, variables)
        errors = result.get("error") or (result.get("next") or {}).get("errors")
        assert errors and [e["extensions"]["code"] for e in errors] == ["INVALID_VALUE"], result


@pytest.mark.parametrize("where", ["activityType", "idempotencyKey"])
async def test_nul_in_an_import_is_invalid_value(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, where: str
) -> None:
    from tests.api.test_ingestion_api import upload

    content = b'{"activityType": "t", "person": {"email": "a@x.io"}, "occurredAt": "2026-11-02T10:00:00Z"}\n'
    with caplog.at_level(logging.WARNING):
        body = await upload(client, "rows.jsonl", content, **{where: NUL_TEXT})
    assert "Unexpected error" not in json.dumps(body), body
    errors = body.get("errors") or body["data"]["importActivities"]["errors"]
    codes = [(e.get("extensions") or {}).get("code") or e.get("code") for e in errors]
    assert codes == ["INVALID_VALUE"], body
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
