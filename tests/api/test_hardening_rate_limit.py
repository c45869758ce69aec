"""Per-key rate limit through HTTP and WebSocket: RATE_LIMITED with retryAfter and a Retry-After header."""

from __future__ import annotations

import httpx

from app.api.app import create_app
from app.domain.access import Scope
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import bearer, insert_key, ws_connect, ws_execute, ws_rejection

QUERY = {"query": "{ viewer { id } }"}


async def test_http_rate_limit_per_key(settings: Settings, resources: Resources) -> None:
    app = create_app(settings.model_copy(update={"rate_limit_per_minute": 2}), resources=resources)
    busy, other = await insert_key(resources, [Scope.READ]), await insert_key(resources, [Scope.READ])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        statuses = [(await http.post("/graphql", json=QUERY, headers=bearer(busy))).status_code for _ in range(2)]
        assert statuses == [200, 200]
        limited = await http.post("/graphql", json=QUERY, headers=bearer(busy))
        assert limited.status_code == 429
        retry_after = int(limited.headers["retry-after"])
        assert 1 <= retry_after <= 30
        error = limited.json()["errors"][0]
        assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": retry_after}
        assert limited.json()["data"] is None
        # Another key has its own budget.
        assert (await http.post("/graphql", json=QUERY, headers=bearer(other))).status_code == 200


async def test_websocket_operations_spend_the_same_budget(settings: Settings, resources: Resources) -> None:
    app = create_app(settings.model_copy(update={"rate_limit_per_minute": 2}), resources=resources)
    token = await insert_key(resources, [Scope.READ])
    async with ws_connect(app, {"Authorization": f"Bearer {token}"}) as ws:  # connection_init: token 1
        assert await ws_rejection(ws) is None
        assert "data" in await ws_execute(ws, "{ viewer { id } }", "1")  # token 2
        refused = await ws_execute(ws, "{ viewer { id } }", "2")
        assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert refused["errors"][0]["extensions"]["retryAfter"] >= 1
    async with ws_connect(app, {"Authorization": f"Bearer {token}"}) as ws:
        assert await ws_rejection(ws) == 4403  # connecting is also refused while the bucket is empty
