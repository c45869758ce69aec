"""Readiness checks and the ping job's work."""

from __future__ import annotations

import asyncio
import socket

from sqlalchemy import text

from app.services.runtime import Resources


async def reach_database(resources: Resources) -> None:
    """One round trip to PostgreSQL; raises what connecting or the query raised (OSError, SQLAlchemyError)."""
    async with resources.db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def check_database(resources: Resources) -> bool:
    try:
        await asyncio.wait_for(reach_database(resources), timeout=2)
        return True
    except Exception:
        return False


async def check_redis(resources: Resources) -> bool:
    try:
        return bool(await asyncio.wait_for(resources.queue.ping(), timeout=2))
    except Exception:
        return False


async def ping(resources: Resources, token: str) -> dict[str, str | bool]:
    """What the worker answers to a ping: proof it is alive and can reach Postgres."""
    return {"token": token, "host": socket.gethostname(), "database": await check_database(resources)}
