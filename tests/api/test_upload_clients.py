"""Uploads from the stock Python client (gql's multipart support), with only the Authorization header it sends."""

from __future__ import annotations

import io
from typing import Any

import httpx
from gql import Client, FileVar, gql
from gql.transport.httpx import HTTPXAsyncTransport

from app.api.app import create_app
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import bearer, insert_key

IMPORT = gql("""mutation($input: ImportActivitiesInput!) {
  importActivities(input: $input) { job { id status counts { total } } errors { code field message } } }""")


async def test_gql_uploads_a_file_with_just_its_authorization_header(settings: Settings, resources: Resources) -> None:
    token = await insert_key(resources)
    app = create_app(settings, resources=resources)
    transport = HTTPXAsyncTransport(url="http://testserver/graphql", headers=bearer(token),
                                    transport=httpx.ASGITransport(app=app))
    rows = b'{"activityType": "visitWebpage", "personEmail": "a@example.com", "occurredAt": "2026-01-01T00:00:00Z"}\n'
    IMPORT.variable_values = {"input": {"file": FileVar(io.BytesIO(rows), filename="rows.jsonl"),
                                        "createMissingPersons": True}}
    async with Client(transport=transport) as session:
        result: dict[str, Any] = await session.execute(IMPORT, upload_files=True)
    payload = result["importActivities"]
    assert payload["errors"] == [] and payload["job"]["id"]


async def test_a_forged_form_post_without_credentials_is_refused(settings: Settings, resources: Resources) -> None:
    dev = settings.model_copy(update={"environment": "dev"})  # where loopback callers without a key are admin
    app = create_app(dev, resources=resources)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 5000)),
                                 base_url="http://testserver") as browser:
        forged = await browser.post("/graphql", files={"0": ("a.jsonl", b"{}\n")},
                                    data={"operations": '{"query": "{ version }"}', "map": "{}"})
    assert forged.status_code == 400, forged.text
    assert forged.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
