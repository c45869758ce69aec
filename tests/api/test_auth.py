"""Authentication through HTTP and WebSocket: missing, garbled, revoked and valid keys; dev and prod policies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app.api.app import create_app
from app.domain.access import Scope
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import bearer, insert_key, ws_connect, ws_execute, ws_rejection
from tests.conftest import GraphQL

VIEWER = "{ viewer { id name scopes } }"


def app_client(
    settings: Settings, resources: Resources, client: tuple[str, int] = ("127.0.0.1", 50000), **overrides: Any
) -> httpx.AsyncClient:
    app = create_app(settings.model_copy(update=overrides), resources=resources)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=client), base_url="http://testserver")


@pytest.fixture
async def anonymous(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings, resources) as http:
        yield http


async def post(http: httpx.AsyncClient, query: str, headers: dict[str, Any] | None = None) -> httpx.Response:
    return await http.post("/graphql", json={"query": query}, headers=headers or {})


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_missing_key_is_unauthenticated_in_test_environment(anonymous: httpx.AsyncClient) -> None:
    assert_unauthenticated(await post(anonymous, VIEWER))
    assert_unauthenticated(await post(anonymous, "{ __typename }"))
    assert_unauthenticated(await anonymous.get("/graphql", params={"query": "{ version }"}))


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer short",
        "Bearer ak_000000000000_" + "x" * 43,
        ("Bearer " + "é" * 30).encode(),  # non-ASCII bytes on the wire
        "Bearer " + "a" * 5000,
        "bearer\tak_nothing",
    ],
)
async def test_garbled_or_unknown_keys_are_unauthenticated(
    anonymous: httpx.AsyncClient, authorization: str | bytes
) -> None:
    assert_unauthenticated(await post(anonymous, VIEWER, {"authorization": authorization}))


async def test_valid_key_identifies_the_caller(anonymous: httpx.AsyncClient, resources: Resources) -> None:
    token = await insert_key(resources, [Scope.READ, Scope.ACTIVITIES_WRITE], name="frontend")
    response = await post(anonymous, VIEWER, bearer(token))
    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["name"] == "frontend"
    assert response.json()["data"]["viewer"]["scopes"] == ["READ", "ACTIVITIES_WRITE"]
    # The scheme is case-insensitive (RFC 7235).
    assert (await post(anonymous, VIEWER, {"authorization": f"bearer {token}"})).status_code == 200


async def test_revoked_key_gets_nothing_over_http_and_websocket(
    gql: GraphQL, anonymous: httpx.AsyncClient, resources: Resources, settings: Settings
) -> None:
    created = await gql(
        'mutation { createApiKey(input: {name: "temp", scopes: [READ]}) { apiKey { id } secret errors { code } } }'
    )
    payload = created["data"]["createApiKey"]
    token, key_id = payload["secret"], payload["apiKey"]["id"]
    assert (await post(anonymous, VIEWER, bearer(token))).status_code == 200

    revoked = await gql(
        f'mutation {{ revokeApiKey(id: "{key_id}") {{ apiKey {{ active revokedAt }} errors {{ code }} }} }}'
    )
    assert revoked["data"]["revokeApiKey"]["apiKey"]["active"] is False
    # Same process: the authentication cache was cleared by the revocation, so this is immediate.
    assert_unauthenticated(await post(anonymous, VIEWER, bearer(token)))
    async with ws_connect(create_app(settings, resources=resources), {"Authorization": f"Bearer {token}"}) as ws:
        assert await ws_rejection(ws) == 4403


async def test_dev_policy_loopback_is_local_admin_but_remote_is_not(settings: Settings, resources: Resources) -> None:
    async with app_client(settings, resources, environment="dev") as local:
        response = await post(local, VIEWER)
        assert response.json()["data"]["viewer"] == {
            "id": "local",
            "name": "local developer",
            "scopes": ["READ", "ACTIVITIES_WRITE", "TYPES_ADMIN", "KEYS_ADMIN"],
        }
        # A key that is sent must still be valid, even in dev.
        assert_unauthenticated(await post(local, VIEWER, {"authorization": "Bearer not-a-real-key-at-all-000"}))
    async with app_client(settings, resources, client=("203.0.113.9", 4000), environment="dev") as remote:
        assert_unauthenticated(await post(remote, VIEWER))
    async with app_client(settings, resources, environment="prod") as prod:
        assert_unauthenticated(await post(prod, VIEWER))


async def test_auth_disabled_makes_everyone_local_admin(settings: Settings, resources: Resources) -> None:
    async with app_client(settings, resources, client=("203.0.113.9", 4000), auth_disabled=True) as http:
        response = await post(http, VIEWER)
        assert response.json()["data"]["viewer"]["id"] == "local"


async def test_websocket_authenticates_in_connection_init(settings: Settings, resources: Resources) -> None:
    app = create_app(settings, resources=resources)
    token = await insert_key(resources, [Scope.READ], name="ws reader")
    async with ws_connect(app, {"Authorization": f"Bearer {token}"}) as ws:
        assert await ws_rejection(ws) is None
        result = await ws_execute(ws, VIEWER)
        assert result["data"]["viewer"]["name"] == "ws reader"
    # Header names in the payload are case-insensitive; a nested "headers" object works too.
    async with ws_connect(app, {"headers": {"authorization": f"Bearer {token}"}}) as ws:
        assert await ws_rejection(ws) is None


@pytest.mark.parametrize(
    "payload",
    [{}, {"Authorization": "Bearer ak_000000000000_" + "y" * 43}, {"Authorization": 42}, {"Authorization": "Token x"}],
)
async def test_websocket_without_a_valid_key_is_rejected(
    settings: Settings, resources: Resources, payload: dict[str, Any]
) -> None:
    async with ws_connect(create_app(settings, resources=resources), payload) as ws:
        assert await ws_rejection(ws) == 4403


async def test_websocket_subscribe_before_connection_init_is_refused(settings: Settings, resources: Resources) -> None:
    from httpx_ws import WebSocketDisconnect

    async with ws_connect(create_app(settings, resources=resources), None) as ws:
        await ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": VIEWER}})
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json(timeout=10)
        assert closed.value.code == 4401


async def test_websocket_dev_loopback_without_key_is_local_admin(settings: Settings, resources: Resources) -> None:
    app = create_app(settings.model_copy(update={"environment": "dev"}), resources=resources)
    async with ws_connect(app, {}) as ws:
        assert await ws_rejection(ws) is None
        assert (await ws_execute(ws, VIEWER))["data"]["viewer"]["id"] == "local"
    async with ws_connect(app, {}, client=("198.51.100.7", 1)) as ws:
        assert await ws_rejection(ws) == 4403


async def test_graphiql_gets_the_dev_key_only_on_loopback_in_dev(settings: Settings, resources: Resources) -> None:
    dev_key = "ak_devkey00000000_" + "D" * 43
    secret = SecretStr(dev_key)
    html = {"accept": "text/html"}
    async with app_client(settings, resources, environment="dev", dev_admin_key=secret) as local:
        page = (await local.get("/graphql", headers=html)).text
        assert f'defaultHeaders["Authorization"] = "Bearer {dev_key}"' in page
        assert "wsConnectionParams: defaultHeaders" in page
    async with app_client(
        settings, resources, client=("203.0.113.9", 1), environment="dev", dev_admin_key=secret
    ) as remote:
        assert dev_key not in (await remote.get("/graphql", headers=html)).text
    async with app_client(settings, resources, environment="prod", dev_admin_key=secret, graphiql=True) as prod:
        page_response = await prod.get("/graphql", headers=html)
        assert page_response.status_code == 200  # the page itself holds no data; every query needs a key
        assert dev_key not in page_response.text


async def test_prod_refuses_to_start_without_any_way_to_authenticate(settings: Settings, resources: Resources) -> None:
    from asgi_lifespan import LifespanManager

    from app.api.auth import InsecureConfiguration

    prod = settings.model_copy(update={"environment": "prod"})
    with pytest.raises(InsecureConfiguration, match="ACTIVITIES_BOOTSTRAP_ADMIN_KEY"):
        async with LifespanManager(create_app(prod)):
            pass


async def test_prod_starts_with_a_bootstrap_key_and_accepts_it(settings: Settings, resources: Resources) -> None:
    from asgi_lifespan import LifespanManager

    token = "operator-bootstrap-key-for-this-test-0001"
    prod = settings.model_copy(update={"environment": "prod", "bootstrap_admin_key": SecretStr(token)})
    async with LifespanManager(create_app(prod)) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("10.0.0.5", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert_unauthenticated(await post(http, VIEWER))
            me = (await post(http, VIEWER, bearer(token))).json()["data"]["viewer"]
            assert me["name"] == "bootstrap admin" and "KEYS_ADMIN" in me["scopes"]


async def test_prod_with_auth_disabled_starts_with_a_loud_warning(
    settings: Settings, resources: Resources, caplog: pytest.LogCaptureFixture
) -> None:
    from asgi_lifespan import LifespanManager

    prod = settings.model_copy(update={"environment": "prod", "auth_disabled": True})
    with caplog.at_level("WARNING", logger="app.api.auth"):
        async with LifespanManager(create_app(prod)):
            pass
    loud = [r for r in caplog.records if "AUTHENTICATION IS DISABLED" in r.getMessage()]
    assert loud and loud[0].levelname == "CRITICAL"


def test_bootstrap_key_must_be_long_enough() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="BOOTSTRAP_ADMIN_KEY"):
        Settings(bootstrap_admin_key=SecretStr("short"))  # type: ignore[call-arg]


async def test_legacy_graphql_ws_protocol_authenticates_the_same_way(settings: Settings, resources: Resources) -> None:
    from httpx_ws import WebSocketDisconnect, aconnect_ws
    from httpx_ws.transport import ASGIWebSocketTransport

    token = await insert_key(resources, [Scope.READ])
    transport = ASGIWebSocketTransport(app=create_app(settings, resources=resources), client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        async with aconnect_ws("/graphql", http, subprotocols=["graphql-ws"]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {"Authorization": "Bearer " + "z" * 40}})
            assert (await ws.receive_json(timeout=10))["type"] == "connection_error"
            with pytest.raises(WebSocketDisconnect):
                await ws.receive_json(timeout=10)
        async with aconnect_ws("/graphql", http, subprotocols=["graphql-ws"]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
            assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
