"""Helpers of the Marketo REST facade tests: a key as a client id/secret pair, and an ASGI client with a token."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx

from app.api.app import create_app
from app.domain import api_keys
from app.domain.access import ALL_SCOPES, Scope
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import insert_key

TYPE_BODY: dict[str, Any] = {
    "apiName": "attendConference", "name": "Attend Conference", "triggerName": "Attends Conference",
    "filterName": "Attended Conference", "description": "Went to a conference.",
    "primaryAttribute": {"apiName": "conferenceName", "name": "Conference Name", "dataType": "string"},
}


async def client_pair(resources: Resources, scopes: Iterable[Scope] = ALL_SCOPES) -> tuple[str, str]:
    """(client_id, client_secret) of a new key: the key's id and the key itself."""
    secret = api_keys.generate()
    await insert_key(resources, scopes, token=secret.token, key_id=secret.key_id)
    return str(secret.key_id), secret.token


@contextlib.asynccontextmanager
async def rest_client(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process HTTP client of the app, without credentials."""
    app = create_app(settings, resources=resources)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


async def token(http: httpx.AsyncClient, pair: tuple[str, str]) -> str:
    response = await http.get("/identity/oauth/token", params={
        "grant_type": "client_credentials", "client_id": pair[0], "client_secret": pair[1]})
    assert response.status_code == 200, response.text
    value: str = response.json()["access_token"]
    return value


def codes(body: dict[str, Any]) -> list[str]:
    assert body["success"] is False and body["requestId"], body
    return [e["code"] for e in body["errors"]]
