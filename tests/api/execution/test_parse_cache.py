"""The parse cache reuses documents but leaves parse errors, the token limit's included, to the normal path."""

from __future__ import annotations

from typing import Any

import httpx

from app.api.app import create_app
from app.api.execution.parse_cache import CachedParse, DocumentCache
from app.api.schema import build_schema
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import ADMIN_KEY_ID, ADMIN_TOKEN, bearer, insert_key


async def test_repeated_documents_are_parsed_once() -> None:
    documents = DocumentCache(maxsize=2)
    schema = build_schema(extensions=[lambda: CachedParse(documents)])
    first = await schema.execute("{ version }")
    second = await schema.execute("{ version }")
    assert first.errors is None and second.data == first.data
    assert len(documents) == 1 and documents.hits == 1
    broken = [await schema.execute("{ version ") for _ in range(2)]
    assert [r.errors and r.errors[0].message for r in broken] == [broken[0].errors and broken[0].errors[0].message] * 2
    assert broken[0].errors and "Syntax Error" in broken[0].errors[0].message
    assert len(documents) == 1  # errors are not cached
    for text in ("{ a: version }", "{ b: version }"):
        assert (await schema.execute(text)).errors is None
    assert len(documents) == 2  # least recently used evicted


async def test_token_limit_is_tagged_on_every_request(settings: Settings, resources: Resources) -> None:
    await insert_key(resources, token=ADMIN_TOKEN, key_id=ADMIN_KEY_ID, name="test admin")
    tight = settings.model_copy(update={"limits": settings.limits.model_copy(update={"max_query_tokens": 40})})
    app = create_app(tight, resources=resources)
    long_query = "{ " + " ".join(["version"] * 60) + " }"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:

        async def post(document: str) -> dict[str, Any]:
            response = await http.post("/graphql", headers=bearer(ADMIN_TOKEN), json={"query": document})
            body: dict[str, Any] = response.json()
            return body

        for _ in range(3):  # the valid query is served from the cache after the first round
            assert "errors" not in await post("{ version viewer { id } }")
            body = await post(long_query)
            assert body["data"] is None
            assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]
