"""The timeline baseline: a minimal Starlette + asyncpg endpoint returning the same JSON as the GraphQL query."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.bench.queries import decode_cursor, encode_cursor
from app.settings import Settings, get_settings, to_asyncpg_dsn

PERSON_SQL = "SELECT id FROM person WHERE id = $1"
PAGE_SQL = """
SELECT a.id, a.occurred_at, a.ingested_at, a.type_version, a.primary_value::text AS primary_value,
       a.fields::text AS fields, a.idempotency_key, t.api_name
  FROM activity a JOIN activity_type t ON t.id = a.activity_type_id
 WHERE a.person_id = $1 {after}
 ORDER BY a.occurred_at DESC, a.id DESC
 LIMIT $2"""
FIRST_PAGE = PAGE_SQL.format(after="")
NEXT_PAGE = PAGE_SQL.format(after="AND (a.occurred_at, a.id) < ($3, $4)")


def _json_response(payload: Any) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")


def _edge(row: asyncpg.Record, person_id: int) -> dict[str, Any]:
    primary = row["primary_value"]
    return {
        "cursor": encode_cursor(row["occurred_at"], row["id"]),
        "node": {
            # The API's Relay global id (base64 of "Activity:<personId>:<id>"), so both sides do the same work.
            "id": base64.b64encode(f"Activity:{person_id}:{row['id']}".encode()).decode(),
            "activityType": {"apiName": row["api_name"]},
            "typeVersion": row["type_version"],
            "occurredAt": row["occurred_at"].isoformat(),
            "ingestedAt": row["ingested_at"].isoformat(),
            # JSONB arrives as text; embedding it verbatim is what a hand-written endpoint would do.
            "primaryValue": orjson.Fragment(primary) if primary is not None else None,
            "fields": orjson.Fragment(row["fields"]),
            "idempotencyKey": row["idempotency_key"],
        },
    }


def create_baseline_app(dsn: str, pool_size: int = 10) -> Starlette:
    """POST /graphql takes the same body as the real API (variables id, first, after) and answers the same JSON."""
    state: dict[str, asyncpg.Pool] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(to_asyncpg_dsn(dsn), min_size=pool_size, max_size=pool_size)
        try:
            yield
        finally:
            await state["pool"].close()

    async def timeline(request: Request) -> Response:
        variables = orjson.loads(await request.body()).get("variables") or {}
        person_id, first, after = int(variables["id"]), int(variables["first"]), variables.get("after")
        async with state["pool"].acquire() as conn:
            if await conn.fetchval(PERSON_SQL, person_id) is None:
                return _json_response({"data": {"person": None}})
            if after:
                rows = await conn.fetch(NEXT_PAGE, person_id, first + 1, *decode_cursor(after))
            else:
                rows = await conn.fetch(FIRST_PAGE, person_id, first + 1)
        edges = [_edge(r, person_id) for r in rows[:first]]
        page_info = {"hasNextPage": len(rows) > first, "endCursor": edges[-1]["cursor"] if edges else None}
        return _json_response({"data": {"person": {"timeline": {"edges": edges, "pageInfo": page_info}}}})

    async def healthz(request: Request) -> Response:
        return _json_response({"status": "ok"})

    return Starlette(
        routes=[Route("/graphql", timeline, methods=["POST"]), Route("/healthz", healthz)], lifespan=lifespan
    )


def main(settings: Settings | None = None) -> None:
    """Serve the baseline with uvicorn configured exactly like `activities serve` (uvloop, httptools)."""
    import uvicorn

    from app.logs import configure_logging

    settings = settings or get_settings()
    configure_logging(settings)
    assert settings.database_url
    config = uvicorn.Config(
        create_baseline_app(settings.database_url, settings.db_pool_size),
        host=settings.host,
        port=settings.port,
        log_config=None,
        loop="uvloop",
        http="httptools",
        lifespan="on",
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
