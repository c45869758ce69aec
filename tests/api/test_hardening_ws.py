"""GraphQL limits and the fuzz corpus over WebSocket (graphql-transport-ws `subscribe`): typed errors, no leaks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from app.api.app import create_app
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import ADMIN_KEY_ID, ADMIN_TOKEN, insert_key, ws_connect, ws_rejection
from tests.api.test_fuzz_schema import FUZZ, LEAKS, NAMES, PUNCTUATION, schema_operation
from tests.api.test_hardening import KEYS_PAGE, with_limits

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
WS_FUZZ = hypothesis_settings(parent=FUZZ, max_examples=40)  # a connection per example: a sample, not the full pass


@pytest.fixture
async def admin(resources: Resources) -> str:
    return await insert_key(resources, token=ADMIN_TOKEN, key_id=ADMIN_KEY_ID, name="test admin")


async def outcome(ws: AsyncWebSocketSession, payload: Any, op_id: str = "1") -> dict[str, Any]:
    """Send one `subscribe`; return {"next": ...}, {"error": ...} or {"closed": code, "reason": ...}, leak-checked."""
    await ws.send_json({"type": "subscribe", "id": op_id, "payload": payload})
    try:
        raw = await ws.receive_text(timeout=30)
    except WebSocketDisconnect as closed:
        assert not LEAKS.search(closed.reason or ""), closed.reason
        assert 4000 <= closed.code < 5000 or closed.code == 1000, (closed.code, closed.reason)  # never 1011
        return {"closed": closed.code, "reason": closed.reason}
    assert not LEAKS.search(raw), raw[:2000]
    message = json.loads(raw)
    assert message["id"] == op_id, message
    if message["type"] == "error":
        errors = message["payload"]
        assert isinstance(errors, list) and errors, message
        for error in errors:
            assert isinstance(error["message"], str)
            assert "stacktrace" not in json.dumps(error.get("extensions") or {}).lower()
        return {"error": errors}
    assert message["type"] == "next", message
    done = await ws.receive_json(timeout=30)
    assert done == {"id": op_id, "type": "complete"}, done
    for error in message["payload"].get("errors") or []:
        assert isinstance(error["message"], str)
    return {"next": message["payload"]}


async def run_ws(app: Starlette, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    async with ws_connect(app, AUTH) as ws:
        assert await ws_rejection(ws) is None
        return await outcome(ws, {"query": document, "variables": variables or {}})


def too_complex(result: dict[str, Any]) -> str:
    """The message of the single QUERY_TOO_COMPLEX error the server answered with."""
    errors = result.get("error") or (result.get("next") or {}).get("errors")
    assert errors and [e["extensions"]["code"] for e in errors] == ["QUERY_TOO_COMPLEX"], result
    assert "data" not in result.get("next", {}) or result["next"]["data"] is None
    message: str = errors[0]["message"]
    return message


def fine(result: dict[str, Any]) -> dict[str, Any]:
    assert "next" in result and "errors" not in result["next"], result
    data: dict[str, Any] = result["next"]["data"]
    return data


@pytest.mark.usefixtures("admin")
async def test_depth_limit_over_websocket(settings: Settings, resources: Resources) -> None:
    fine(await run_ws(create_app(with_limits(settings, max_query_depth=3), resources=resources), KEYS_PAGE))
    tight = create_app(with_limits(settings, max_query_depth=2), resources=resources)
    assert "depth" in too_complex(await run_ws(tight, KEYS_PAGE))
    fragment = "{ ...K } fragment K on Query { apiKeys { edges { node { id } } } }"
    too_complex(await run_ws(tight, fragment))


@pytest.mark.usefixtures("admin")
async def test_token_and_alias_limits_over_websocket(settings: Settings, resources: Resources) -> None:
    tokens = create_app(with_limits(settings, max_query_tokens=40), resources=resources)
    assert fine(await run_ws(tokens, "{ version viewer { id } }"))["version"]
    # The token cap stops the parser: an `error` message coded QUERY_TOO_COMPLEX, not the 4400 close a syntax
    # error gets (test_connection_keeps_serving_after_refusals: the socket stays open).
    assert "more than 40 tokens" in too_complex(await run_ws(tokens, "{ " + " ".join(["version"] * 60) + " }"))
    closed = await run_ws(tokens, "{ version")
    assert closed["closed"] == 4400 and "Syntax Error" in closed["reason"], closed
    aliases = create_app(with_limits(settings, max_query_aliases=2), resources=resources)
    assert fine(await run_ws(aliases, "{ a: version b: version }"))["a"]
    assert "3 aliases" in too_complex(await run_ws(aliases, "{ a: version b: version c: version }"))


@pytest.mark.usefixtures("admin")
async def test_cost_limit_with_a_big_first_over_websocket(settings: Settings, resources: Resources) -> None:
    app = create_app(settings, resources=resources)
    page = "query($n: Int) { apiKeys(first: $n) { edges { node { id name } } } }"
    assert fine(await run_ws(app, page, {"n": 100}))["apiKeys"]["edges"]
    too_complex(await run_ws(app, page, {"n": 1_000_000}))
    too_complex(await run_ws(app, "{ apiKeys(first: 1000000) { edges { node { id } } } }"))
    nested = """query($outer: Int, $inner: Int) { persons(first: $outer) { edges { node {
        timeline(first: $inner) { edges { node { id occurredAt fields primaryValue } } } } } } }"""
    fine(await run_ws(app, nested, {"outer": 10, "inner": 100}))
    too_complex(await run_ws(app, nested, {"outer": 100, "inner": 100}))
    # The limit also applies to subscriptions: a costly selection is refused before anything streams.
    subscription = "subscription { activityRecorded { id " + " ".join(f"a{i}: id" for i in range(25)) + " } }"
    too_complex(await run_ws(create_app(with_limits(settings, max_query_cost=10), resources=resources), subscription))


@pytest.mark.usefixtures("admin")
async def test_connection_keeps_serving_after_refusals(settings: Settings, resources: Resources) -> None:
    limits = {"max_query_depth": 2, "max_query_aliases": 2, "max_query_tokens": 40}
    app = create_app(with_limits(settings, **limits), resources=resources)
    async with ws_connect(app, AUTH) as ws:
        assert await ws_rejection(ws) is None
        too_complex(await outcome(ws, {"query": KEYS_PAGE}, "1"))
        too_complex(await outcome(ws, {"query": "{ a: version b: version c: version }"}, "2"))
        too_complex(await outcome(ws, {"query": "{ " + " ".join(["version"] * 60) + " }"}, "3"))
        assert fine(await outcome(ws, {"query": "{ version }"}, "4"))["version"]


# --- a sample of the fuzz corpus (tests/api/test_fuzz_schema.py), each document in a `subscribe` message ------


@pytest.fixture
async def app(settings: Settings, resources: Resources) -> Starlette:
    await insert_key(resources, token=ADMIN_TOKEN, key_id=ADMIN_KEY_ID, name="fuzzer")
    return create_app(settings, resources=resources)


@WS_FUZZ
@given(document=schema_operation())
async def test_fuzz_schema_operations_over_websocket(app: Starlette, document: str) -> None:
    await run_ws(app, document)


@WS_FUZZ
@given(document=st.text(max_size=300) | st.lists(NAMES | PUNCTUATION, max_size=80).map(" ".join))
async def test_fuzz_garbage_documents_over_websocket(app: Starlette, document: str) -> None:
    await run_ws(app, document)


@WS_FUZZ
@given(
    depth=st.integers(min_value=1, max_value=3000),
    count=st.integers(min_value=1, max_value=3000),
    field=st.sampled_from(["viewer", "person", "nope", ""]),
)
async def test_fuzz_deep_and_wide_documents_over_websocket(app: Starlette, depth: int, count: int, field: str) -> None:
    await run_ws(app, "{ " + f"{field} {{ " * depth + "id" + " }" * depth + " }")
    await run_ws(app, "{ " + " ".join(f"a{i}: version" for i in range(count)) + " }")


INVALID_PAYLOADS: list[Any] = [
    None,
    [],
    "{ version }",
    {},
    {"query": None},
    {"query": 42},
    {"query": ["{ version }"]},
    {"query": "{ version }", "variables": "nope"},
    {"query": "{ version }", "operationName": 7},
    {"query": "{ version }", "extensions": []},
]
ODD_PAYLOADS: list[Any] = [
    {"query": ""},
    {"query": "query A { version } query B { version }"},
    {"query": "query A { version }", "operationName": "Z"},
    {"query": "{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }"},
    {"query": "subscription { ingestionJobUpdated(id: 1) { id } }"},
    {"query": 'subscription { activityRecorded(filter: {where: [{field: "x"}]}) { id } }'},
    {"query": "subscription { a: activityRecorded { id } b: activityRecorded { id } }"},
]


@pytest.mark.parametrize("payload", INVALID_PAYLOADS, ids=range(len(INVALID_PAYLOADS)))
async def test_invalid_subscribe_payloads_close_with_4400(app: Starlette, payload: Any) -> None:
    # Not a protocol-valid payload: the connection closes as graphql-transport-ws prescribes, nothing crashes.
    async with ws_connect(app, AUTH) as ws:
        assert await ws_rejection(ws) is None
        assert (await outcome(ws, payload))["closed"] == 4400


@pytest.mark.parametrize("payload", ODD_PAYLOADS, ids=range(len(ODD_PAYLOADS)))
async def test_odd_documents_answer_with_errors(app: Starlette, payload: Any) -> None:
    async with ws_connect(app, AUTH) as ws:
        assert await ws_rejection(ws) is None
        result = await outcome(ws, payload)
    assert set(result) in ({"next"}, {"error"}, {"closed", "reason"})
    assert "next" not in result or result["next"].get("errors") or result["next"]["data"]


@pytest.mark.usefixtures("app")
async def test_malformed_protocol_messages_close_cleanly(app: Starlette) -> None:
    for message in (
        {"type": "subscribe"},
        {"type": "subscribe", "id": 7, "payload": {"query": "{ version }"}},
        {"type": "nonsense", "id": "1"},
        {"id": "1", "payload": {"query": "{ version }"}},
    ):
        async with ws_connect(app, AUTH) as ws:
            assert await ws_rejection(ws) is None
            await ws.send_json(message)
            with pytest.raises(WebSocketDisconnect) as closed:
                await ws.receive_text(timeout=30)
            assert closed.value.code == 4400, (message, closed.value.code)
            assert not LEAKS.search(closed.value.reason or "")
    async with ws_connect(app, AUTH) as ws:
        assert await ws_rejection(ws) is None
        await ws.send_text("{not json")
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_text(timeout=30)
        assert closed.value.code == 4400
    # Reusing the id of a running operation is refused with 4409, per the protocol.
    async with ws_connect(app, AUTH) as ws:
        assert await ws_rejection(ws) is None
        listen = {"type": "subscribe", "id": "s", "payload": {"query": "subscription { activityRecorded { id } }"}}
        await ws.send_json(listen)
        await ws.send_json(listen)
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_text(timeout=30)
        assert closed.value.code == 4409


@pytest.mark.usefixtures("admin")
async def test_no_field_suggestions_over_websocket_outside_dev(settings: Settings, resources: Resources) -> None:
    typo = "subscription { ingestionJobUpdatd(id: \"x\") { status } }"
    dev = await run_ws(create_app(settings.model_copy(update={"environment": "dev"}), resources=resources), typo)
    assert "Did you mean" in dev["error"][0]["message"]
    for environment in ("test", "prod"):
        hidden = await run_ws(create_app(settings.model_copy(update={"environment": environment}),
                                         resources=resources), typo)
        message = hidden["error"][0]["message"]
        assert message == "Cannot query field 'ingestionJobUpdatd' on type 'Subscription'.", (environment, message)
