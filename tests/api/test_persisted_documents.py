"""Persisted documents over HTTP: Apollo's APQ protocol (POST and GET) and the trusted-document allow-list."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx

from app.api.app import create_app
from app.services.runtime import Resources
from app.settings import PersistedDocuments, Settings
from tests.access_helpers import bearer, insert_key

QUERY = "query Limits { limits { maxPageSize } }"
HASH = hashlib.sha256(QUERY.encode()).hexdigest()
APQ = {"persistedQuery": {"version": 1, "sha256Hash": HASH}}


async def client_for(settings: Settings, resources: Resources, **persisted: Any) -> httpx.AsyncClient:
    token = await insert_key(resources)
    configured = settings.model_copy(update={"persisted": PersistedDocuments(**persisted)})
    app = create_app(configured, resources=resources)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=bearer(token))


async def test_apq_round_trip_over_post_and_get(settings: Settings, resources: Resources) -> None:
    async with await client_for(settings, resources) as client:
        missing = (await client.post("/graphql", json={"extensions": APQ})).json()
        assert missing["errors"][0]["message"] == "PersistedQueryNotFound"
        assert missing["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        registered = (await client.post("/graphql", json={"query": QUERY, "extensions": APQ})).json()
        assert registered == {"data": {"limits": {"maxPageSize": 100}}}
        by_hash = (await client.post("/graphql", json={"extensions": APQ, "operationName": "Limits"})).json()
        assert by_hash == registered
        get = await client.get("/graphql", params={"extensions": json.dumps(APQ)}, headers={"accept": "*/*"})
        assert get.status_code == 200 and get.json() == registered  # not the GraphiQL page


async def test_a_hash_that_is_not_the_query_is_refused_and_nothing_is_stored(
    settings: Settings, resources: Resources
) -> None:
    wrong = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    async with await client_for(settings, resources) as client:
        refused = await client.post("/graphql", json={"query": QUERY, "extensions": wrong})
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
        later = (await client.post("/graphql", json={"extensions": wrong})).json()
        assert later["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_stored_documents_expire(settings: Settings, resources: Resources) -> None:
    async with await client_for(settings, resources, ttl_seconds=3600) as client:
        await client.post("/graphql", json={"query": QUERY, "extensions": APQ})
    ttl = await resources.queue.ttl(f"{settings.redis_prefix}:apq:{HASH}")
    assert 0 < ttl <= 3600


async def test_trusted_only_runs_just_the_allow_list(settings: Settings, resources: Resources, tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": [
        {"id": HASH, "name": "Limits", "type": "query", "body": QUERY}]}))
    async with await client_for(settings, resources, documents_file=manifest, trusted_only=True) as client:
        by_id = await client.post("/graphql", json={"documentId": f"sha256:{HASH}"})
        assert by_id.json() == {"data": {"limits": {"maxPageSize": 100}}}
        by_apq_hash = await client.post("/graphql", json={"extensions": APQ})
        assert by_apq_hash.json() == by_id.json()
        same_text = await client.post("/graphql", json={"query": QUERY})
        assert same_text.json() == by_id.json()  # the allowed document, sent in full
        other = await client.post("/graphql", json={"query": "{ version }"})
        assert other.status_code == 400
        assert other.json()["errors"][0]["extensions"]["code"] == "PERSISTED_DOCUMENT_REQUIRED"
        registered = await client.post("/graphql", json={"query": "{ version }", "extensions": {
            "persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(b"{ version }").hexdigest()}}})
        assert registered.json()["errors"][0]["extensions"]["code"] == "PERSISTED_DOCUMENT_REQUIRED"
        unknown = await client.post("/graphql", json={"documentId": "sha256:" + "1" * 64})
        assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_DOCUMENT_NOT_FOUND"


def test_an_allow_list_with_a_wrong_id_is_refused(tmp_path: Path) -> None:
    import pytest

    from app.api.persisted import load_allow_list

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"0" * 64: QUERY}))
    with pytest.raises(ValueError, match="not the sha256"):
        load_allow_list(bad)


async def test_trusted_only_applies_to_subscriptions(settings: Settings, resources: Resources, tmp_path: Path) -> None:
    from tests.access_helpers import ADMIN_KEY_ID, ADMIN_TOKEN, ws_connect, ws_rejection

    allowed = "subscription Jobs($id: ID!) { ingestionJobUpdated(id: $id) { id } }"
    manifest = tmp_path / "allowed.json"
    manifest.write_text(json.dumps({hashlib.sha256(allowed.encode()).hexdigest(): allowed}))
    await insert_key(resources, token=ADMIN_TOKEN, key_id=ADMIN_KEY_ID, name="admin")
    configured = settings.model_copy(update={"persisted": PersistedDocuments(documents_file=manifest,
                                                                               trusted_only=True)})
    app = create_app(configured, resources=resources)
    async with ws_connect(app, {"Authorization": f"Bearer {ADMIN_TOKEN}"}) as ws:
        assert await ws_rejection(ws) is None
        other = "subscription { activityRecorded { id } }"
        await ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": other}})
        refused = await ws.receive_json(timeout=30)
        assert refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_DOCUMENT_REQUIRED"


async def test_trusted_only_applies_to_the_legacy_graphql_ws_protocol(
    settings: Settings, resources: Resources, tmp_path: Path
) -> None:
    """subscriptions-transport-ws's `start` passes the same admission: before, it ran any document in trusted-only."""
    from httpx_ws import aconnect_ws
    from httpx_ws.transport import ASGIWebSocketTransport

    from tests.access_helpers import ADMIN_KEY_ID, ADMIN_TOKEN

    allowed = "subscription Job($id: ID!) { ingestionJobUpdated(id: $id) { id } }"
    manifest = tmp_path / "allowed.json"
    manifest.write_text(json.dumps({hashlib.sha256(allowed.encode()).hexdigest(): allowed}))
    await insert_key(resources, token=ADMIN_TOKEN, key_id=ADMIN_KEY_ID, name="admin")
    configured = settings.model_copy(update={"persisted": PersistedDocuments(documents_file=manifest,
                                                                               trusted_only=True)})
    transport = ASGIWebSocketTransport(app=create_app(configured, resources=resources), client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http, \
            aconnect_ws("/graphql", http, subprotocols=["graphql-ws"]) as ws:
        await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {ADMIN_TOKEN}"}})

        async def receive() -> dict[str, Any]:
            while (message := await ws.receive_json(timeout=30))["type"] == "ka":  # the protocol's keep-alives
                pass
            return dict(message)

        assert (await receive())["type"] == "connection_ack"
        await ws.send_json({"type": "start", "id": "1", "payload": {"query": "{ limits { maxPageSize } }"}})
        refused = await receive()
        assert refused == {"type": "error", "id": "1", "payload": {
            "message": "This server only runs trusted documents.",
            "extensions": {"code": "PERSISTED_DOCUMENT_REQUIRED"}}}
        job = "00000000-0000-0000-0000-000000000000"
        await ws.send_json({"type": "start", "id": "2", "payload": {"query": allowed, "variables": {"id": job}}})
        answered = await receive()  # admitted: it runs (and finds no such job)
        assert answered["id"] == "2" and "PERSISTED_DOCUMENT_REQUIRED" not in json.dumps(answered)
        await ws.send_json({"type": "start", "id": "3", "payload": {"query": 5}})  # malformed: refused, not a 1011
        while (message := await receive())["id"] != "3":  # operation 2's own `complete` may come first
            pass
        assert message["type"] == "error"
