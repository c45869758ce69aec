"""The HTTP surface: health, readiness, GraphQL over HTTP media types, GraphiQL."""

from __future__ import annotations

import httpx


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "postgres": True, "redis": True}


async def test_graphql_json_query(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ limits { maxPageSize maxInlineActivities } }"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["data"]["limits"] == {"maxPageSize": 100, "maxInlineActivities": 1000}


async def test_graphql_response_media_type_and_status_codes(client: httpx.AsyncClient) -> None:
    accept = {"accept": "application/graphql-response+json, application/json;q=0.9"}
    ok = await client.post("/graphql", json={"query": "{ version }"}, headers=accept)
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "application/graphql-response+json"
    invalid = await client.post("/graphql", json={"query": "{ limits { nope } }"}, headers=accept)
    assert invalid.status_code == 400
    assert invalid.headers["content-type"] == "application/graphql-response+json"
    assert "nope" in invalid.json()["errors"][0]["message"]
    # The legacy media type keeps answering 200 for the same request, as the spec allows.
    legacy = await client.post("/graphql", json={"query": "{ limits { nope } }"})
    assert legacy.status_code == 200


async def test_malformed_body_is_a_400_not_a_500(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400


async def test_graphiql_opens_on_example_document(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "query ActivityTypes" in page.text
    assert "Welcome to GraphiQL" not in page.text


async def test_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"x-request-id": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
    assert len((await client.get("/healthz")).headers["x-request-id"]) == 32
