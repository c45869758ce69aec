"""`activities dev` from nothing: embedded stores, migrations, API + worker, GraphiQL URL, clean Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.embedded.lease import free_port
from tests.stores import PROJECT_ROOT


def _start_dev(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACTIVITIES_")}
    env.update(ACTIVITIES_DATA_DIR=str(data_dir), ACTIVITIES_PORT=str(port), ACTIVITIES_LOG_LEVEL="WARNING")
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli.main", "dev"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _read_until(proc: subprocess.Popen[str], pattern: str, timeout: float = 120) -> tuple[re.Match[str], str]:
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen += line
        if found := re.search(pattern, seen):
            return found, seen
    raise AssertionError(f"`activities dev` never printed {pattern!r}:\n{seen}")


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never became ready")


def _run_once(data_dir: Path, port: int, query: str) -> dict[str, object]:
    proc = _start_dev(data_dir, port)
    try:
        graphiql, _ = _read_until(proc, r"GraphiQL at (http://\S+/graphql)")
        key, _ = _read_until(proc, r"admin key (ak_\S+)")
        assert graphiql.group(1) == f"http://127.0.0.1:{port}/graphql"
        _wait_ready(f"http://127.0.0.1:{port}/readyz")
        response = httpx.post(
            graphiql.group(1), json={"query": query}, headers={"authorization": f"Bearer {key.group(1)}"}, timeout=30
        )
        body: dict[str, object] = response.json()
        return body
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) in (0, 130)  # 130: the conventional exit status after Ctrl-C


def test_dev_runs_everything_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    create = """mutation { upsertPersons(persons: [{email: "kept@example.com"}]) { errors { code } } }"""
    first = _run_once(data_dir, free_port(), create)
    assert first == {"data": {"upsertPersons": {"errors": []}}}, first
    # Ctrl-C stopped PostgreSQL and Redis cleanly: no server left behind, no stale pid file.
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
    assert not (data_dir / "redis" / "server.json").exists()

    second = _run_once(data_dir, free_port(), '{ person(email: "KEPT@example.com") { email } }')
    assert second == {"data": {"person": {"email": "kept@example.com"}}}
