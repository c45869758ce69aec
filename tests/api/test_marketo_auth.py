"""The Marketo facade's identity endpoint, tokens and envelope-level error codes (601, 602, 603, 606, 609, 610, 612)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid

from sqlalchemy import text

from app.api.rest.routes import ENDPOINTS
from app.domain.access import ALL_SCOPES, Scope
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import bearer
from tests.api.marketo_support import TYPE_BODY, client_pair, codes, rest_client, token
from tests.conftest import child_env
from tests.stores import PROJECT_ROOT


async def test_token_is_issued_for_a_key_pair_and_accepted_both_ways(settings: Settings, resources: Resources) -> None:
    pair = await client_pair(resources)
    async with rest_client(settings, resources) as http:
        response = await http.get("/identity/oauth/token", params={
            "grant_type": "client_credentials", "client_id": pair[0], "client_secret": pair[1]})
        body = response.json()
        assert response.status_code == 200
        assert body["token_type"] == "bearer" and body["expires_in"] == 3600
        assert set(body["scope"].split()) == {s.value for s in Scope}
        access = body["access_token"]
        by_header = await http.get("/rest/v1/activities/types.json", headers=bearer(access))
        by_param = await http.get("/rest/v1/activities/types.json", params={"access_token": access})
        for answer in (by_header, by_param):
            assert answer.status_code == 200 and answer.json()["success"] is True
            assert {"requestId", "result", "success", "warnings"} <= set(answer.json())
        # The standard types are listed with their integer ids.
        assert {t["apiName"] for t in by_header.json()["result"]} >= {"visitWebpage", "fillOutForm"}
        assert all(isinstance(t["id"], int) for t in by_header.json()["result"])


async def test_bad_credentials_get_the_oauth_error(settings: Settings, resources: Resources) -> None:
    client_id, secret = await client_pair(resources)
    other_id, _ = await client_pair(resources)
    async with rest_client(settings, resources) as http:
        for params in ({"client_id": client_id, "client_secret": secret[:-1] + "x"},
                       {"client_id": other_id, "client_secret": secret}):
            response = await http.get("/identity/oauth/token", params={"grant_type": "client_credentials", **params})
            assert response.status_code == 401
            assert response.json() == {"error": "invalid_client", "error_description": "Bad client credentials"}
        response = await http.get("/identity/oauth/token", params={"grant_type": "password"})
        assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


async def test_missing_forged_expired_and_revoked_tokens(settings: Settings, resources: Resources) -> None:
    pair = await client_pair(resources)
    path = "/rest/v1/activities/external/types.json"
    async with rest_client(settings, resources) as http:
        assert codes((await http.get(path)).json()) == ["600"]
        forged = f"mt_{int(time.time()) + 3600}_forgedforgedforged"
        assert codes((await http.get(path, headers=bearer(forged))).json()) == ["601"]
        expired = f"mt_{int(time.time()) - 10}_itwasonceissued"
        assert codes((await http.get(path, headers=bearer(expired))).json()) == ["602"]
        live = await token(http, pair)
        assert (await http.get(path, headers=bearer(live))).json()["success"] is True
        async with resources.db.engine.begin() as conn:  # revoked elsewhere (another process): tokens die at once
            await conn.execute(text("UPDATE api_key SET revoked_at = now()"))
        assert codes((await http.get(path, headers=bearer(live))).json()) == ["601"]


async def test_scopes_apply_as_in_graphql(settings: Settings, resources: Resources) -> None:
    reader = await client_pair(resources, [Scope.READ])
    async with rest_client(settings, resources) as http:
        access = await token(http, reader)
        assert (await http.get("/rest/v1/activities/external/types.json", headers=bearer(access))).json()["success"]
        denied = await http.post("/rest/v1/activities/external/type.json", json=TYPE_BODY, headers=bearer(access))
        assert codes(denied.json()) == ["603"]
        denied = await http.post("/rest/v1/activities/external.json", json={"input": []}, headers=bearer(access))
        assert codes(denied.json()) == ["603"]


async def test_envelope_errors(settings: Settings, resources: Resources) -> None:
    pair = await client_pair(resources)
    async with rest_client(settings, resources) as http:
        auth = bearer(await token(http, pair))
        path = "/rest/v1/activities/external/type.json"
        bad_json = await http.post(path, content=b"{not json", headers={**auth, "content-type": "application/json"})
        assert bad_json.status_code == 200 and codes(bad_json.json()) == ["609"]
        xml = await http.post(path, content=b"<a/>", headers={**auth, "content-type": "text/xml"})
        assert codes(xml.json()) == ["612"]
        assert codes((await http.get("/rest/v1/nothing/here.json", headers=auth)).json()) == ["610"]
        missing = await http.post(path, json={"apiName": "x"}, headers=auth)
        assert codes(missing.json()) == ["1002"]
        assert "name" in missing.json()["errors"][0]["message"]


async def test_rate_limit_is_606(settings: Settings, resources: Resources) -> None:
    limited = settings.model_copy(update={"rate_limit_per_minute": 2})
    pair = await client_pair(resources)
    async with rest_client(limited, resources) as http:
        auth = bearer(await token(http, pair))
        answers = [(await http.get("/rest/v1/activities/types.json", headers=auth)) for _ in range(4)]
        assert answers[0].json()["success"] is True
        assert codes(answers[-1].json()) == ["606"] and answers[-1].status_code == 200
    with_429 = limited.model_copy(update={"marketo": limited.marketo.model_copy(update={"http_429": True})})
    async with rest_client(with_429, resources) as http:
        auth = bearer(await token(http, pair))
        answer = await http.get("/rest/v1/activities/types.json", headers=auth)
        assert answer.status_code == 429 and int(answer.headers["retry-after"]) >= 1
        assert codes(answer.json()) == ["606"]


async def test_every_endpoint_checks_its_scope_first(settings: Settings, resources: Resources) -> None:
    """The REST scope matrix: each route refuses (603) a key holding every scope but its own, before anything runs;
    the route's own scope alone gets past the check."""
    async with rest_client(settings, resources) as http:
        for method, path, scope, _ in ENDPOINTS:
            url = path.replace("{apiName}", "someType").replace("{leadId}", "1")
            url = url.replace("{exportId}", str(uuid.uuid4()))
            without = bearer(await token(http, await client_pair(resources, ALL_SCOPES - {scope})))
            answer = await http.request(method, url, headers=without, json={})
            assert codes(answer.json()) == ["603"], (method, path)
            only = bearer(await token(http, await client_pair(resources, [scope])))
            answer = await http.request(method, url, headers=only, json={})
            assert "603" not in [e["code"] for e in answer.json().get("errors", [])], (method, path)


async def test_keys_create_marketo_prints_a_working_pair(settings: Settings, resources: Resources) -> None:
    created = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app.cli.main", "keys", "create", "--name", "marketo sync", "--scope", "read",
         "--marketo"], env=child_env(settings) | {"COLUMNS": "300"}, cwd=PROJECT_ROOT, capture_output=True,
        text=True, timeout=60, check=False)
    assert created.returncode == 0, created.stderr
    lines = dict(line.split(":", 1) for line in created.stdout.splitlines() if line.startswith("Client "))
    pair = (lines["Client ID"].strip(), lines["Client Secret"].strip())
    async with rest_client(settings, resources) as http:
        access = await token(http, pair)
        assert (await http.get("/rest/v1/activities/types.json", headers=bearer(access))).json()["success"] is True
