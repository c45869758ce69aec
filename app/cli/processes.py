"""Run the API in-process and the workers as child processes that die with their parent."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from app.settings import Settings

if TYPE_CHECKING:
    import uvicorn

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Linux: the kernel sends SIGTERM to the worker if `activities dev` is killed, even with SIGKILL.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["ACTIVITIES_DATABASE_URL"] = settings.database_url or ""
    env["ACTIVITIES_REDIS_URL"] = settings.redis_url or ""
    return env


@contextlib.contextmanager
def worker_processes(settings: Settings, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start `count` `activities worker` processes against the resolved stores; stop them (SIGTERM, then SIGKILL)
    on exit. Several, because a large import is prepared in every worker process at once (helper runs)."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(count):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "app.cli.main", "worker"],
                env=child_env(settings),
                preexec_fn=_die_with_parent,
                start_new_session=True,  # Ctrl-C goes to us; we stop the workers in order
            ))
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def serve_api(settings: Settings, on_ready: Callable[[], None] | None = None, probe_url: str = "") -> None:
    """Run uvicorn in this process until Ctrl-C or SIGTERM; call `on_ready` once `probe_url` answers 200."""
    import uvicorn

    from app.api.app import create_app
    from app.api.header_timeout import with_header_timeout

    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        loop="uvloop",
        http=with_header_timeout(settings.header_timeout_seconds),  # httptools, with a deadline for headers
        ws="websockets-sansio",
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    if on_ready is not None:
        threading.Thread(target=_when_ready, args=(server, probe_url, on_ready), name="ready", daemon=True).start()
    server.run()


def _when_ready(server: uvicorn.Server, probe_url: str, on_ready: Callable[[], None]) -> None:
    """Poll until this server has started and `probe_url` answers 200 (so a server already on the port, or
    one that failed to bind, is never announced); give up when the server is stopping."""
    import httpx

    while not server.should_exit:
        if server.started:
            try:
                if httpx.get(probe_url, timeout=2).status_code == 200:
                    on_ready()
                    return
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
