"""Fuzz the GraphQL endpoint with malformed and hostile documents: never a 500, never a stack trace or internals."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
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
    get_named_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.api.app import create_app
from app.api.execution.internals import graphql_schema
from app.api.schema import build_schema
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import ADMIN_KEY_ID, ADMIN_TOKEN, bearer, insert_key

SCHEMA = graphql_schema(build_schema())
LEAKS = re.compile(
    r"Traceback|File \"|site-packages|/app/|\.py\b|asyncpg|sqlalchemy|psycopg|redis\.|object at 0x|"
    r"KeyError|AttributeError|TypeError: |ValueError: |AssertionError|NoneType",
)
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
async def http(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    await insert_key(resources, token=ADMIN_TOKEN, key_id=ADMIN_KEY_ID, name="fuzzer")
    app = create_app(settings, resources=resources)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=bearer(ADMIN_TOKEN)) as c:
        yield c


def assert_safe(response: httpx.Response) -> dict[str, Any] | None:
    """No 5xx; no Python internals in the body; GraphQL errors are JSON with plain messages."""
    assert response.status_code < 500, response.text[:2000]
    assert not LEAKS.search(response.text), response.text[:2000]
    if not response.headers.get("content-type", "").startswith("application/"):
        return None
    body: dict[str, Any] = response.json()
    for error in body.get("errors") or []:
        assert isinstance(error.get("message"), str)
        assert "stacktrace" not in json.dumps(error.get("extensions") or {}).lower()
    return body


async def send(http: httpx.AsyncClient, query: Any, variables: Any = None) -> dict[str, Any] | None:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    return assert_safe(response)


# --- schema-aware generation: real fields, random (often wrong) arguments --------------------------------------


def literal(value: Any) -> str:
    if isinstance(value, EnumName):
        return value.name
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return json.dumps(value)  # strings, numbers, booleans, null


class EnumName:
    def __init__(self, name: str) -> None:
        self.name = name


WILD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["", "00000000-0000-0000-0000-000000000000", "ann@example.com", "2026-13-45T99:00:00Z", "x" * 300]),
)


def value_for(gtype: GraphQLInputType, depth: int = 0) -> st.SearchStrategy[Any]:
    """Mostly type-correct values, sometimes wild ones, so both coercion and resolvers get exercised."""
    inner = gtype.of_type if isinstance(gtype, GraphQLNonNull) else gtype
    if depth > 3:
        return WILD
    if isinstance(inner, GraphQLList):
        return st.lists(value_for(inner.of_type, depth + 1), max_size=3) | WILD
    if isinstance(inner, GraphQLEnumType):
        return st.sampled_from([EnumName(n) for n in inner.values]) | WILD
    if isinstance(inner, GraphQLInputObjectType):
        fields = {name: value_for(f.type, depth + 1) for name, f in inner.fields.items()}
        return st.fixed_dictionaries({}, optional=fields) | WILD
    assert isinstance(inner, GraphQLScalarType)
    typed: dict[str, st.SearchStrategy[Any]] = {
        "Int": st.integers(min_value=-(2**31), max_value=2**31 - 1),
        "Float": st.floats(allow_nan=False, allow_infinity=False),
        "Boolean": st.booleans(),
        "JSON": st.recursive(st.none() | st.integers() | st.text(max_size=10), lambda c: st.lists(c, max_size=3)),
    }
    return typed.get(inner.name, st.text(max_size=30)) | WILD


@st.composite
def selection(draw: st.DrawFn, gtype: Any, depth: int = 0) -> str:
    named = get_named_type(gtype)
    if not isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)):
        return ""
    if depth >= 4:
        return " { __typename }"
    names = draw(st.lists(st.sampled_from(sorted(named.fields)), min_size=1, max_size=4, unique=True))
    parts = [draw(field_call(name, named.fields[name], depth + 1)) for name in names]
    return " { " + " ".join(parts) + " }"


@st.composite
def field_call(draw: st.DrawFn, name: str, field: GraphQLField, depth: int) -> str:
    args = {}
    for arg_name, arg in field.args.items():
        required = isinstance(arg.type, GraphQLNonNull)
        if required or draw(st.booleans()):
            args[arg_name] = draw(value_for(arg.type))
    head = name + ("(" + ", ".join(f"{k}: {literal(v)}" for k, v in args.items()) + ")" if args else "")
    return head + draw(selection(field.type, depth))


@st.composite
def schema_operation(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["query", "mutation"]))
    root = SCHEMA.query_type if kind == "query" else SCHEMA.mutation_type
    assert root is not None
    name = draw(st.sampled_from(sorted(root.fields)))
    return f"{kind} {{ {draw(field_call(name, root.fields[name], 0))} }}"


@FUZZ
@given(document=schema_operation())
async def test_schema_aware_operations_with_random_arguments(http: httpx.AsyncClient, document: str) -> None:
    await send(http, document)


# --- hostile documents ---------------------------------------------------------------------------------------

NAMES = st.from_regex(r"[_A-Za-z][_0-9A-Za-z]{0,12}", fullmatch=True)
PUNCTUATION = st.sampled_from([*"{}()[]:$@!.=&|,\"'#\\\n", "...", "fragment", "on", "query", "mutation"])


@FUZZ
@given(document=st.text(max_size=300) | st.lists(NAMES | PUNCTUATION, max_size=80).map(" ".join))
async def test_garbage_documents(http: httpx.AsyncClient, document: str) -> None:
    await send(http, document)


@FUZZ
@given(depth=st.integers(min_value=1, max_value=3000), field=st.sampled_from(["viewer", "person", "nope", ""]))
async def test_deep_nesting(http: httpx.AsyncClient, depth: int, field: str) -> None:
    await send(http, "{ " + f"{field} {{ " * depth + "id" + " }" * depth + " }")


@FUZZ
@given(count=st.integers(min_value=1, max_value=5000), field=st.sampled_from(["version", "viewer { id }", "x"]))
async def test_many_aliases(http: httpx.AsyncClient, count: int, field: str) -> None:
    body = await send(http, "{ " + " ".join(f"a{i}: {field}" for i in range(count)) + " }")
    assert body is not None


@FUZZ
@given(variables=st.dictionaries(NAMES, WILD, max_size=4) | WILD | st.lists(WILD, max_size=3))
async def test_wrong_variable_types(http: httpx.AsyncClient, variables: Any) -> None:
    document = (
        "query($first: Int, $after: String, $inc: Boolean!) "
        "{ apiKeys(first: $first, after: $after, includeRevoked: $inc) { edges { cursor } } }"
    )
    await send(http, document, variables)
    await send(
        http, 'mutation($s: [ApiKeyScope!]!) { createApiKey(input: {name: "f", scopes: $s}) { secret } }', variables
    )


@FUZZ
@given(names=st.lists(NAMES, min_size=1, max_size=6), spreads=st.lists(st.integers(0, 5), min_size=1, max_size=12))
async def test_fragment_cycles_and_unknown_fragments(
    http: httpx.AsyncClient, names: list[str], spreads: list[int]
) -> None:
    fragments = [
        f"fragment {name} on Query {{ version ...{names[spreads[i % len(spreads)] % len(names)]} }}"
        for i, name in enumerate(names)
    ]
    await send(http, f"{{ ...{names[0]} ...Missing }} " + " ".join(fragments))


@FUZZ
@given(body=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
async def test_malformed_bodies(http: httpx.AsyncClient, body: bytes) -> None:
    for content_type in ("application/json", "application/graphql-response+json", "multipart/form-data; boundary=x"):
        response = await http.post(
            "/graphql", content=body, headers={"content-type": content_type, "apollo-require-preflight": "1"}
        )
        assert_safe(response)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "{ version }",
        {"query": None},
        {"query": 42},
        {"query": ["{ version }"]},
        {"query": "{ version }", "variables": "nope"},
        {"query": "{ version }", "operationName": 7},
        {"query": "query A { version } query B { version }"},
        {"query": "query A { version }", "operationName": "Z"},
        {"query": 'subscription { ingestionJobUpdated(id: "1") { id } }'},
        {"query": "{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }"},
    ],
)
async def test_odd_request_shapes(http: httpx.AsyncClient, payload: Any) -> None:
    assert_safe(await http.post("/graphql", json=payload))
    assert_safe(await http.get("/graphql", params={"query": json.dumps(payload)}))
