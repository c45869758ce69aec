"""Run the API in-process and the worker as a child process that dies with its parent."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

from app.settings import Settings

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
def worker_process(settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    """Start `activities worker` against the resolved stores; stop it (SIGTERM, then SIGKILL) on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli.main", "worker"],
        env=child_env(settings),
        preexec_fn=_die_with_parent,
        start_new_session=True,  # Ctrl-C goes to us; we stop the worker in order
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def serve_api(settings: Settings) -> None:
    """Run uvicorn in this process until Ctrl-C or SIGTERM."""
    import uvicorn

    from app.api.app import create_app

    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run()
