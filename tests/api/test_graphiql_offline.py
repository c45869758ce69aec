"""GraphiQL without internet: every script and style the page loads comes from this service, byte for byte."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx

from app.api.app import create_app
from app.services.runtime import Resources
from app.settings import Settings

ASSET = re.compile(r'(?:src|href)="([^"]+)"\s+integrity="(sha384-[^"]+)"')


async def test_every_asset_is_local_and_matches_its_integrity_hash(client: httpx.AsyncClient) -> None:
    html = (await client.get("/graphql", headers={"accept": "text/html"})).text
    assets = ASSET.findall(html)
    assert len(assets) == 7  # react, react-dom, js-cookie, graphiql js+css, explorer js+css
    assert "unpkg.com" not in html and "https://" not in " ".join(url for url, _ in assets)
    for url, integrity in assets:
        served = await client.get(url)
        assert served.status_code == 200, url
        digest = "sha384-" + base64.b64encode(hashlib.sha384(served.content).digest()).decode()
        assert digest == integrity, url
        assert "etag" in served.headers


async def test_graphiql_is_off_in_production_unless_turned_on(settings: Settings, resources: Resources) -> None:
    prod = settings.model_copy(update={"environment": "prod", "auth_disabled": True})
    app = create_app(prod, resources=resources)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assert "GraphiQL" not in page.text
        assert (await client.get("/graphiql-assets/graphiql@3.8.3/graphiql.min.js")).status_code == 404
    assert prod.model_copy(update={"graphiql": True}).graphiql_enabled
    assert settings.graphiql_enabled  # tests run as dev/test: on by default
