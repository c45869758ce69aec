"""The `limits` query reports every configured limit, including the per-key ones that are top-level settings."""

from __future__ import annotations

import dataclasses

import httpx

from app.api.app import create_app
from app.domain.access import Scope
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import bearer, insert_key

LIMITS = """{ limits { maxPageSize maxRequestBytes chunkRows activitySearchTimeoutMs rateLimitPerMinute
    ingestionConcurrencyPerKey maxUploadBytes } }"""


async def test_limits_query_reports_the_configured_values(settings: Settings, resources: Resources) -> None:
    configured = settings.model_copy(
        update={
            "rate_limit_per_minute": 1234,
            "ingestion_concurrency_per_key": 7,
            "limits": settings.limits.model_copy(
                update={"max_request_bytes": 5_000_000_000, "activity_search_timeout_ms": 2500, "chunk_rows": 800}
            ),
        }
    )
    token = await insert_key(resources, [Scope.READ])
    # Resolvers read the settings the stores were opened with: same stores, configured settings.
    app = create_app(configured, resources=dataclasses.replace(resources, settings=configured))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        body = (await http.post("/graphql", json={"query": LIMITS}, headers=bearer(token))).json()
    assert body == {
        "data": {
            "limits": {
                "maxPageSize": settings.limits.max_page_size,
                "maxRequestBytes": 5_000_000_000,  # Float: may exceed a GraphQL Int
                "chunkRows": 800,
                "activitySearchTimeoutMs": 2500,
                "rateLimitPerMinute": 1234,
                "ingestionConcurrencyPerKey": 7,
                "maxUploadBytes": settings.limits.max_upload_bytes,
            }
        }
    }


def test_every_limit_setting_is_in_the_limits_type() -> None:
    from app.api.system import Limits
    from app.settings import Limits as LimitSettings

    exposed = set(Limits.__annotations__)
    assert set(LimitSettings.model_fields) <= exposed
    assert {"rate_limit_per_minute", "ingestion_concurrency_per_key"} <= exposed
