"""Every GraphQL limit through HTTP: depth, tokens, aliases, cost, body sizes, CSRF, introspection, masking."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import strawberry

from app.api.app import create_app
from app.api.global_ids import to_global_id
from app.api.hardening import security_extensions
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import ADMIN_KEY_ID, ADMIN_TOKEN, bearer, insert_key

KEYS_PAGE = "{ apiKeys { edges { node { id } } } }"  # depth 3 (root fields are depth 0)


def with_limits(settings: Settings, **limits: Any) -> Settings:
    return settings.model_copy(update={"limits": settings.limits.model_copy(update=limits)})


@pytest.fixture
async def admin(resources: Resources) -> str:
    return await insert_key(resources, token=ADMIN_TOKEN, key_id=ADMIN_KEY_ID, name="test admin")


async def run(settings: Settings, resources: Resources, request: dict[str, Any]) -> httpx.Response:
    app = create_app(settings, resources=resources)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        headers = {**bearer(ADMIN_TOKEN), **request.pop("headers", {})}
        return await http.post("/graphql", headers=headers, **request)


async def query(settings: Settings, resources: Resources, document: str, **variables: Any) -> dict[str, Any]:
    response = await run(settings, resources, {"json": {"query": document, "variables": variables}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def error_codes(body: dict[str, Any]) -> list[str | None]:
    return [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]


@pytest.mark.usefixtures("admin")
async def test_depth_limit(settings: Settings, resources: Resources) -> None:
    assert "errors" not in await query(with_limits(settings, max_query_depth=3), resources, KEYS_PAGE)
    body = await query(with_limits(settings, max_query_depth=2), resources, KEYS_PAGE)
    assert body["data"] is None
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert "depth" in body["errors"][0]["message"]


@pytest.mark.usefixtures("admin")
async def test_depth_limit_sees_through_fragments(settings: Settings, resources: Resources) -> None:
    document = "{ ...K } fragment K on Query { apiKeys { edges { node { id } } } }"
    body = await query(with_limits(settings, max_query_depth=2), resources, document)
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]


@pytest.mark.usefixtures("admin")
async def test_token_limit(settings: Settings, resources: Resources) -> None:
    tight = with_limits(settings, max_query_tokens=40)
    assert "errors" not in await query(tight, resources, "{ version viewer { id } }")
    body = await query(tight, resources, "{ " + " ".join(["version"] * 60) + " }")
    assert body["data"] is None
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]


@pytest.mark.usefixtures("admin")
async def test_alias_limit(settings: Settings, resources: Resources) -> None:
    tight = with_limits(settings, max_query_aliases=2)
    assert "errors" not in await query(tight, resources, "{ a: version b: version }")
    body = await query(tight, resources, "{ a: version b: version c: version }")
    assert body["data"] is None
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert "3 aliases" in body["errors"][0]["message"]


@pytest.mark.usefixtures("admin")
async def test_cost_limit_multiplies_by_first(settings: Settings, resources: Resources) -> None:
    page = "query($n: Int) { apiKeys(first: $n) { edges { node { id name } } } }"
    assert "errors" not in await query(settings, resources, page, n=100)
    body = await query(settings, resources, page, n=1_000_000)
    assert body["data"] is None
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert body["errors"][0]["extensions"]["maxCost"] == settings.limits.max_query_cost
    literal = await query(settings, resources, "{ apiKeys(first: 1000000) { edges { node { id } } } }")
    assert error_codes(literal) == ["QUERY_TOO_COMPLEX"]


@pytest.mark.usefixtures("admin")
async def test_cost_of_nodes_counts_each_id(settings: Settings, resources: Resources) -> None:
    many = """query($ids: [ID!]!) { nodes(ids: $ids) { ... on Person {
        timeline(first: 100) { edges { node { id occurredAt fields primaryValue } } } } } }"""
    # 100 ids x 100 activities x ~6 fields is above the default 50,000; 10 ids are well below.
    ids = [to_global_id("Person", n) for n in range(1, 101)]
    assert "errors" not in await query(settings, resources, many, ids=ids[:10])
    assert error_codes(await query(settings, resources, many, ids=ids)) == ["QUERY_TOO_COMPLEX"]
    literal = "{ nodes(ids: [" + ", ".join(f'"{i}"' for i in ids[:30]) + "]) { id } }"
    assert error_codes(await query(with_limits(settings, max_query_cost=20), resources, literal)) == [
        "QUERY_TOO_COMPLEX"
    ]


@pytest.mark.usefixtures("admin")
async def test_cost_limit_on_nested_connections(settings: Settings, resources: Resources) -> None:
    nested = """query($outer: Int, $inner: Int) { persons(first: $outer) { edges { node {
        timeline(first: $inner) { edges { node { id occurredAt fields primaryValue } } } } } } }"""
    # 100 persons x 100 activities x ~6 fields is above the default 50,000; 10 x 100 is well below.
    assert "errors" not in await query(settings, resources, nested, outer=10, inner=100)
    body = await query(settings, resources, nested, outer=100, inner=100)
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    # Defaults count too: without `first` the cost uses the page cap.
    no_first = "{ persons { edges { node { timeline { edges { node { id occurredAt fields } } } } } } }"
    assert error_codes(await query(with_limits(settings, max_query_cost=1000), resources, no_first)) == [
        "QUERY_TOO_COMPLEX"
    ]


@pytest.mark.usefixtures("admin")
async def test_fragment_bomb_is_priced_not_expanded_forever(settings: Settings, resources: Resources) -> None:
    # Each level spreads the previous one twice: 2**30 fields once expanded, from a 100-line document.
    fragments = ["fragment F0 on Query { version }"]
    fragments += [f"fragment F{n} on Query {{ ...F{n - 1} ...F{n - 1} }}" for n in range(1, 31)]
    body = await query(settings, resources, "{ ...F30 } " + " ".join(fragments))
    assert body["data"] is None
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]


@pytest.mark.usefixtures("admin")
async def test_introspection_can_be_switched_off(settings: Settings, resources: Resources) -> None:
    probe = '{ __schema { queryType { name } } __type(name: "Query") { name } }'
    on = await query(settings, resources, probe)
    assert on["data"]["__schema"]["queryType"]["name"] == "Query"
    off = await query(settings.model_copy(update={"introspection": False}), resources, probe)
    assert off["data"] is None
    assert any("introspection" in e["message"].lower() for e in off["errors"])
    # The regular API keeps working.
    assert "errors" not in await query(settings.model_copy(update={"introspection": False}), resources, KEYS_PAGE)


@pytest.mark.usefixtures("admin")
async def test_field_suggestions_only_in_dev_with_introspection(settings: Settings, resources: Resources) -> None:
    typo = "{ apiKey { edges { cursor } } }"
    dev = settings.model_copy(update={"environment": "dev"})
    assert "Did you mean" in (await query(dev, resources, typo))["errors"][0]["message"]
    for hiding in (dev.model_copy(update={"introspection": False}), settings,  # test
                   settings.model_copy(update={"environment": "prod"}),
                   settings.model_copy(update={"environment": "prod", "introspection": True})):
        hidden = await query(hiding, resources, typo)
        assert hidden["errors"][0]["message"] == "Cannot query field 'apiKey' on type 'Query'.", hiding.environment


@pytest.mark.usefixtures("admin")
async def test_introspection_is_off_in_prod_unless_switched_on(settings: Settings, resources: Resources) -> None:
    probe = "{ __schema { queryType { name } } }"
    prod = settings.model_copy(update={"environment": "prod"})
    refused = await query(prod, resources, probe)
    assert refused["data"] is None and any("introspection" in e["message"].lower() for e in refused["errors"])
    allowed = await query(prod.model_copy(update={"introspection": True}), resources, probe)
    assert allowed["data"]["__schema"]["queryType"]["name"] == "Query"
    assert "errors" not in await query(prod, resources, KEYS_PAGE)  # the API itself is unchanged


@pytest.mark.usefixtures("admin")
async def test_graphiql_introspection_query_fits_the_default_limits(settings: Settings, resources: Resources) -> None:
    from graphql import get_introspection_query

    body = await query(settings, resources, get_introspection_query(descriptions=True))
    assert "errors" not in body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


def test_unexpected_errors_are_masked(settings: Settings) -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def boom(self) -> str:
            raise RuntimeError("password=hunter2 at /srv/app/secret.py line 3")

    schema = strawberry.Schema(query=Query, extensions=security_extensions(settings))
    result = schema.execute_sync("{ boom }")
    assert result.errors is not None
    assert [e.message for e in result.errors] == ["Unexpected error."]


@pytest.mark.usefixtures("admin")
async def test_json_body_size_is_checked_before_parsing(settings: Settings, resources: Resources) -> None:
    small = with_limits(settings, max_request_bytes=2000)
    padding = {"query": "{ version }", "variables": {"pad": "x" * 5000}}
    response = await run(small, resources, {"json": padding})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while streaming
        body = json.dumps(padding).encode()
        for i in range(0, len(body), 500):
            yield body[i : i + 500]

    streamed = await run(small, resources, {"content": chunks(), "headers": {"content-type": "application/json"}})
    assert streamed.status_code == 413
    assert (await run(small, resources, {"json": {"query": "{ version }"}})).status_code == 200


def multipart_request(size: int, **headers: str) -> dict[str, Any]:
    operations = {"query": "{ version }", "variables": {"f": None}}  # undeclared variables are ignored
    return {
        "data": {"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
        "files": {"0": ("rows.jsonl", b"x" * size, "application/x-ndjson")},
        "headers": headers,
    }


@pytest.mark.usefixtures("admin")
async def test_upload_size_is_checked_from_content_length(settings: Settings, resources: Resources) -> None:
    from app.api.request_guard import MULTIPART_OVERHEAD

    small = with_limits(settings, max_upload_bytes=1000)
    too_big = await run(
        small, resources, multipart_request(MULTIPART_OVERHEAD + 5000, **{"apollo-require-preflight": "1"})
    )
    assert too_big.status_code == 413
    assert too_big.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    fits = await run(small, resources, multipart_request(500, **{"apollo-require-preflight": "1"}))
    assert fits.status_code == 200, fits.text
    assert fits.json()["data"]["version"], fits.text


@pytest.mark.usefixtures("admin")
async def test_multipart_without_preflight_header_is_refused_as_csrf(settings: Settings, resources: Resources) -> None:
    no_key = {"authorization": ""}  # what a forged cross-site form post carries: nothing a browser would preflight
    refused = await run(settings, resources, multipart_request(10, **no_key))
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        simple = await run(
            settings, resources,
            {"content": b'{"query": "{ version }"}', "headers": {"content-type": content_type, **no_key}},
        )
        assert simple.status_code == 400
    allowed = await run(settings, resources, multipart_request(10, **{"x-apollo-operation-name": "Upload"}))
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["data"]["version"], allowed.text
    with_key_only = await run(settings, resources, multipart_request(10))  # what apollo-upload-client and gql send
    assert with_key_only.status_code == 200, with_key_only.text
