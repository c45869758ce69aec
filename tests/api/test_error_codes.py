"""Request errors carry codes a client can branch on; malformed request fields are 400s, not Python messages."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

JSON_ACCEPT = {"accept": "application/graphql-response+json"}


async def first_error(client: httpx.AsyncClient, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await client.post("/graphql", json=body, headers=JSON_ACCEPT)
    return response.status_code, response.json()["errors"][0]


@pytest.mark.parametrize(("body", "code"), [
    ({"query": "{ version"}, "GRAPHQL_PARSE_FAILED"),
    ({"query": "{ limits { nope } }"}, "GRAPHQL_VALIDATION_FAILED"),
    ({"query": "query($n: Int!) { version }"}, "GRAPHQL_VALIDATION_FAILED"),  # unused variable
    ({"query": "query($n: Int!) { limits { maxPageSize } timeline: version @include(if: true) } ",
      "variables": {"n": "x"}}, "GRAPHQL_VALIDATION_FAILED"),
    ({"query": "query($f: Int) { activityTypes(first: $f) { edges { node { apiName } } } }", "variables": {"f": "ten"}},
     "BAD_USER_INPUT"),
    ({"query": "query($f: Int!) { activityTypes(first: $f) { edges { node { apiName } } } }"}, "BAD_USER_INPUT"),
    ({"query": "subscription { activityRecorded { occurredAt } }"}, "BAD_REQUEST"),
])
async def test_request_errors_have_codes(client: httpx.AsyncClient, body: dict[str, Any], code: str) -> None:
    status, error = await first_error(client, body)
    assert error["extensions"]["code"] == code, error
    assert status == 400  # graphql-response+json: a request error is a 400


@pytest.mark.parametrize("field", ["operationName", "variables", "extensions", "query"])
@pytest.mark.parametrize("value", [{"a": 1}, [1], 5, True])
async def test_malformed_request_fields_are_400(client: httpx.AsyncClient, field: str, value: Any) -> None:
    body: dict[str, Any] = {"query": "{ version }", field: value}
    if field in ("variables", "extensions") and isinstance(value, dict):
        return  # objects are what these fields hold
    response = await client.post("/graphql", json=body)
    assert response.status_code == 400, response.text
    assert "unhashable" not in response.text
