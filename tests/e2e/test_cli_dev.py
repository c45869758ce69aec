"""`activities dev` from nothing: embedded stores, migrations, API + worker, GraphiQL URL once it answers, Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from app.embedded.lease import free_port
from tests.stores import PROJECT_ROOT


def _dev_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACTIVITIES_")}
    env.update(ACTIVITIES_DATA_DIR=str(data_dir), ACTIVITIES_LOG_LEVEL="WARNING", ACTIVITIES_WORKER_PROCESSES="2")
    return env


def _start_dev(data_dir: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli.main", "dev", "--host", "127.0.0.1", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=_dev_env(data_dir),
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
        graphiql, seen = _read_until(proc, r"Ready: GraphiQL at (http://\S+/graphql)")
        assert graphiql.group(1) == f"http://127.0.0.1:{port}/graphql"
        # The URL is printed only once the API answers: no waiting here.
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        key = re.search(r"admin key (ak_\S+)", seen)
        assert key is not None, seen
        _wait_ready(f"http://127.0.0.1:{port}/readyz")
        workers = _workers(proc)
        assert len(workers) == 2, [w.cmdline() for w in workers]  # ACTIVITIES_WORKER_PROCESSES, see _dev_env
        response = httpx.post(
            graphiql.group(1), json={"query": query}, headers={"authorization": f"Bearer {key.group(1)}"}, timeout=30
        )
        body: dict[str, object] = response.json()
        return body
    finally:
        started = _workers(proc)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) in (0, 130)  # 130: the conventional exit status after Ctrl-C
        assert not [w for w in started if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]


def _workers(proc: subprocess.Popen[str]) -> list[psutil.Process]:
    """The `activities worker` processes `activities dev` started."""
    return [c for c in psutil.Process(proc.pid).children(recursive=True) if c.cmdline()[1:] == [
        "-m", "app.cli.main", "worker"]]


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


def test_dev_refuses_a_port_in_use_before_starting_anything(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "app.cli.main", "dev", "--port", str(port)],
            cwd=PROJECT_ROOT, env=_dev_env(tmp_path / "data"), capture_output=True, text=True, timeout=60,
        )
    assert done.returncode == 1, done
    assert f"port {port} on 127.0.0.1 is in use" in " ".join(done.stdout.split()), done.stdout
    assert not (tmp_path / "data" / "postgres").exists()  # no embedded server was started for nothing


def test_scripts_dev_passes_its_arguments_to_activities_dev(tmp_path: Path) -> None:
    env = _dev_env(tmp_path / "data") | {"ACTIVITIES_VENV": sys.prefix}  # the venv running these tests
    for bad in ("0", "70000", "http"):
        done = subprocess.run([str(PROJECT_ROOT / "scripts" / "dev"), "--port", bad], cwd=PROJECT_ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 2, done  # argparse's usage error: the flag reached `activities dev`
        assert "--port: must be a TCP port, 1-65535" in done.stderr, done.stderr
