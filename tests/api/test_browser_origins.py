"""Browser origins: CORS (preflight and simple requests) and the WebSocket handshake's allowed origins."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.applications import Starlette

from app.api.app import create_app
from app.domain.access import Scope
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import bearer, insert_key, ws_execute, ws_rejection

LISTED = "https://app.example.com"
UNLISTED = "https://evil.example.net"
QUERY = {"query": "{ viewer { scopes } }"}


def browser_app(settings: Settings, resources: Resources) -> Starlette:
    update = {"cors_origins": [LISTED], "websocket_origins": [LISTED]}
    return create_app(settings.model_copy(update=update), resources=resources)


@contextlib.asynccontextmanager
async def ws_from(app: Starlette, origin: str | None, token: str) -> AsyncIterator[AsyncWebSocketSession]:
    """A graphql-transport-ws connection whose handshake carries `Origin: origin` (None: no header)."""
    headers = {"origin": origin} if origin else {}
    transport = ASGIWebSocketTransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
        aconnect_ws("/graphql", http, subprotocols=["graphql-transport-ws"], headers=headers) as ws,
    ):
        await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert await ws_rejection(ws) is None
        yield ws


@pytest.mark.parametrize("origin", [LISTED, "https://APP.example.com:443", "http://testserver", None])
async def test_websocket_from_a_listed_origin_same_origin_or_no_browser(
    settings: Settings, resources: Resources, origin: str | None
) -> None:
    token = await insert_key(resources, [Scope.READ])
    async with ws_from(browser_app(settings, resources), origin, token) as ws:
        assert (await ws_execute(ws, QUERY["query"]))["data"]["viewer"]["scopes"] == ["READ"]


async def handshake(app: Starlette, origin: str) -> list[dict[str, Any]]:
    """Open a raw ASGI WebSocket from `origin`; returns what the app sent before the client hung up."""
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"origin", origin.encode())],
        "subprotocols": ["graphql-transport-ws"],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []
    incoming = [{"type": "websocket.connect"}]

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize("listed", [True, False])
async def test_websocket_from_an_unlisted_origin_is_refused_at_the_handshake(
    settings: Settings, resources: Resources, listed: bool
) -> None:
    # Both with a list that names another origin and with the default (no origins): nothing cross-site is accepted.
    app = browser_app(settings, resources) if listed else create_app(settings, resources=resources)
    refused = await handshake(app, UNLISTED)
    # Closing before accepting: ASGI servers answer the upgrade request with HTTP 403.
    assert [m["type"] for m in refused] == ["websocket.close"], refused
    accepted = await handshake(app, LISTED)
    expected = "websocket.accept" if listed else "websocket.close"
    assert accepted and accepted[0]["type"] == expected, accepted


async def test_cors_preflight_for_a_listed_origin(settings: Settings, resources: Resources) -> None:
    preflight = {
        "origin": LISTED,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }
    app = browser_app(settings, resources)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        response = await http.options("/graphql", headers=preflight)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == LISTED
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers


async def test_cors_preflight_for_an_unlisted_origin_is_refused(settings: Settings, resources: Resources) -> None:
    preflight = {"origin": UNLISTED, "access-control-request-method": "POST"}
    for app in (browser_app(settings, resources), create_app(settings, resources=resources)):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            response = await http.options("/graphql", headers=preflight)
        assert response.status_code >= 400
        assert "access-control-allow-origin" not in response.headers


async def test_cors_headers_on_requests_only_for_listed_origins(settings: Settings, resources: Resources) -> None:
    token = await insert_key(resources, [Scope.READ])
    app = browser_app(settings, resources)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        listed = await http.post("/graphql", json=QUERY, headers={**bearer(token), "origin": LISTED})
        unlisted = await http.post("/graphql", json=QUERY, headers={**bearer(token), "origin": UNLISTED})
        get = await http.get("/graphql", params=QUERY, headers={**bearer(token), "origin": LISTED})
    assert listed.status_code == 200 and listed.headers["access-control-allow-origin"] == LISTED
    assert get.status_code == 200 and get.headers["access-control-allow-origin"] == LISTED
    # The server answers (CORS is enforced by the browser), but without the header the page cannot read it.
    assert unlisted.status_code == 200 and "access-control-allow-origin" not in unlisted.headers
    default = create_app(settings, resources=resources)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=default), base_url="http://testserver") as http:
        off = await http.post("/graphql", json=QUERY, headers={**bearer(token), "origin": LISTED})
    assert off.status_code == 200 and "access-control-allow-origin" not in off.headers


async def test_refusals_still_carry_cors_headers_for_listed_origins(settings: Settings, resources: Resources) -> None:
    # A multipart POST without the CSRF header is refused by the guard inside CORS: the page can read why.
    app = browser_app(settings, resources)
    token = await insert_key(resources, [Scope.READ])
    files = {"0": ("rows.jsonl", b"{}", "application/x-ndjson")}
    data = {"operations": '{"query": "{ version }"}', "map": '{"0": ["variables.f"]}'}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        refused = await http.post("/graphql", data=data, files=files, headers={**bearer(token), "origin": LISTED})
    assert refused.status_code == 400
    assert refused.headers["access-control-allow-origin"] == LISTED
