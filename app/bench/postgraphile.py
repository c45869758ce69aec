"""PostGraphile v5 (Grafast) on the bench's own database: the same timeline pages, served by the field's best server.

`activities bench --postgraphile DIR` where DIR holds `npm install node@22 postgraphile@5`: the bench starts
`postgraphile -P postgraphile/presets/amber` on the private database (no auth, no rate limit; it cannot join the
activity's type, which has no foreign key, so it sends `activityTypeId` where the service sends
`activityType { apiName }`) and loads it exactly as the API: same persons, page size, cursors' depth, clients.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from app.bench.stack import Service, Stack
from app.embedded.lease import free_port

QUERY = """query Timeline($id: BigInt!, $first: Int!, $after: Cursor) {
  allActivities(condition: {personId: $id}, orderBy: [OCCURRED_AT_DESC, ROW_ID_DESC], first: $first, after: $after) {
    edges { cursor node {
        id
        rowId
        activityTypeId
        typeVersion
        occurredAt
        ingestedAt
        primaryValue
        fields
        idempotencyKey
    } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def executable(folder: Path) -> Path:
    """The postgraphile command in `folder`; a clear error when it is not installed there."""
    command = folder / "node_modules" / ".bin" / "postgraphile"
    if not command.exists():
        raise ValueError(f"no PostGraphile in {folder}: run `npm install node@22 postgraphile@5` there first")
    return command


def start(stack: Stack, folder: Path, dsn: str, timeout: float = 60) -> Service:
    """PostGraphile on `dsn`, registered in `stack` (stopped with it), once it answers a query."""
    port = free_port()
    bin_dir = folder / "node_modules" / ".bin"  # node@22 from the same folder: PostGraphile 5 needs node >= 22
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "GRAPHILE_ENV": "production"}
    log = (stack.log_dir / "postgraphile.log").open("wb")
    proc = subprocess.Popen(
        [str(executable(folder)), "-P", "postgraphile/presets/amber", "-c", dsn, "-s", "public",
         "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT,
    )
    service = Service("postgraphile", proc, f"http://127.0.0.1:{port}")
    stack.services[service.name] = service
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"postgraphile exited with code {proc.returncode} (see postgraphile.log)")
        try:
            if httpx.post(f"{service.url}/graphql", json={"query": "{ __typename }"}, timeout=1).status_code == 200:
                return service
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"postgraphile did not answer within {timeout}s")


def end_cursor(data: dict[str, Any]) -> str | None:
    cursor: str | None = data["allActivities"]["pageInfo"]["endCursor"]
    return cursor


def ok(content: bytes) -> bool:
    return content.startswith(b'{"data":{"allActivities"') and b'"errors"' not in content
