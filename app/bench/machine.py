"""Facts about the machine and stores a run used, printed under the table and kept in BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime

import asyncpg
import psutil

from app.settings import Settings, to_asyncpg_dsn


async def _postgres_version(url: str) -> str:
    conn = await asyncpg.connect(to_asyncpg_dsn(url))
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


async def machine_facts(settings: Settings, embedded: bool) -> dict[str, str]:
    """Date, commit, CPU, memory, Python and PostgreSQL version (and whether PostgreSQL/Redis are embedded)."""
    assert settings.database_url
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "cpu": f"{os.cpu_count()} cores ({platform.machine()}), load average {os.getloadavg()[0]:.1f} at the end",
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "python": platform.python_version(),
        "postgres": await _postgres_version(settings.database_url) + (" (embedded)" if embedded else ""),
        "redis": "embedded" if embedded else "configured",
    }
