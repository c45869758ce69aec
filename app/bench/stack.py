"""The system under test: a private database and Redis prefix, and the real API, worker and baseline processes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import redis

from app.db.distribution import create_database, drop_database
from app.db.migrate import upgrade
from app.domain.sealing import new_key
from app.embedded.lease import free_port
from app.embedded.stores import resolved_stores
from app.settings import Settings, to_asyncpg_dsn

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def with_database(url: str, name: str) -> str:
    base, _, query = to_asyncpg_dsn(url).partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@contextlib.contextmanager
def private_stores(settings: Settings, label: str = "bench") -> Iterator[Settings]:
    """Configured or embedded servers, with a database and Redis prefix of our own, dropped on exit."""
    token = uuid.uuid4().hex[:10]
    prefix = f"activities-{label}-{token}"
    with resolved_stores(settings, database="postgres") as resolved:
        assert resolved.database_url and resolved.redis_url
        database = f"activities_{label}_{token}"
        admin = with_database(resolved.database_url, "postgres")
        asyncio.run(create_database(admin, database))  # on a Citus coordinator: on its workers too
        try:
            url = with_database(resolved.database_url, database)
            upgrade(url, shard_count=settings.citus_shard_count)
            yield resolved.model_copy(update={"database_url": url, "redis_prefix": prefix})
        finally:
            asyncio.run(drop_database(admin, database))
            client = redis.Redis.from_url(resolved.redis_url)
            for key in client.scan_iter(match=f"{prefix}*", count=1000):
                client.delete(key)
            client.close()


def service_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ACTIVITIES_DATABASE_URL=settings.database_url or "",
        ACTIVITIES_REDIS_URL=settings.redis_url or "",
        ACTIVITIES_REDIS_PREFIX=settings.redis_prefix,
        ACTIVITIES_LOG_LEVEL=os.environ.get("ACTIVITIES_BENCH_LOG_LEVEL", "WARNING"),
        ACTIVITIES_TRIGGERS__ALLOW_LOOPBACK="true",  # the trigger figures deliver to a receiver on 127.0.0.1
        **extra,
    )
    return env


@dataclass
class Service:
    """One process we started (API, worker or baseline), with an RSS sampler covering its children."""

    name: str
    proc: subprocess.Popen[bytes]
    url: str | None = None
    peak_rss: int = 0
    _sampling: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def rss(self) -> int:
        try:
            parent = psutil.Process(self.proc.pid)
            procs = [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        total = 0
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process and its children so far."""
        try:
            parent = psutil.Process(self.proc.pid)
            procs = [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = p.cpu_times()
                total += times.user + times.system
        return total

    def start_sampling(self, interval: float = 0.05) -> None:
        """Track the peak RSS from now on, until `stop_sampling()`."""
        self.peak_rss = self.rss()
        self._sampling.set()

        def run() -> None:
            while self._sampling.is_set():
                self.peak_rss = max(self.peak_rss, self.rss())
                time.sleep(interval)

        self._thread = threading.Thread(target=run, name=f"rss-{self.name}", daemon=True)
        self._thread.start()

    def stop_sampling(self) -> int:
        self._sampling.clear()
        if self._thread is not None:
            self._thread.join()
        return self.peak_rss

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _spawn(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    log = (log_dir / f"{name}.log").open("wb")
    return subprocess.Popen([sys.executable, *args], env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)


def wait_http(service: Service, path: str = "/healthz", timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    assert service.url
    while time.monotonic() < deadline:
        if service.proc.poll() is not None:
            raise RuntimeError(f"{service.name} exited with code {service.proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(service.url + path, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{service.name} did not answer {path} within {timeout}s")


@dataclass
class Stack:
    """API + worker (+ baseline) processes against one private database; `api_key` authenticates requests."""

    settings: Settings
    log_dir: Path
    api_key: str = field(default_factory=lambda: "ak_bench_" + secrets.token_urlsafe(24))
    secret_key: str = field(default_factory=new_key)  # seals the trigger figures' signing secrets
    services: dict[str, Service] = field(default_factory=dict)
    workers: int = 1  # worker processes ("worker", "worker-2", ...): one large import may use several

    def env(self) -> dict[str, str]:
        # Production settings, authenticated with a bootstrap key. The per-key rate limit stays on (its Redis
        # round trip is part of every request) but with a ceiling the load generator cannot reach.
        return service_env(
            self.settings,
            ACTIVITIES_ENVIRONMENT="prod",
            ACTIVITIES_BOOTSTRAP_ADMIN_KEY=self.api_key,
            ACTIVITIES_RATE_LIMIT_PER_MINUTE=str(10**9),
            # The inline figure's 8 clients share one key: its cap on unfinished jobs (4) would refuse half the calls.
            ACTIVITIES_INGESTION_CONCURRENCY_PER_KEY="16",
            ACTIVITIES_INTROSPECTION="true",  # off by default in prod; the bench reads the schema to plan its queries
            ACTIVITIES_SECRET_KEYS=self.secret_key,
        )

    def start_api(self) -> Service:
        port = free_port()
        env = self.env() | {"ACTIVITIES_HOST": "127.0.0.1", "ACTIVITIES_PORT": str(port)}
        proc = _spawn("api", ["-m", "app.cli.main", "serve", "--no-migrate"], env, self.log_dir)
        return self._started(Service("api", proc, f"http://127.0.0.1:{port}"), "/readyz")

    def start_worker(self) -> Service:
        """The worker processes; returns the first."""
        for n in range(self.workers):
            name = "worker" if n == 0 else f"worker-{n + 1}"
            proc = _spawn(name, ["-m", "app.cli.main", "worker"], self.env(), self.log_dir)
            self.services[name] = Service(name, proc)
        return self.services["worker"]

    def worker_cpu_seconds(self) -> float:
        """CPU time of every worker process so far."""
        return sum(s.cpu_seconds() for name, s in self.services.items() if name.startswith("worker"))

    def start_baseline(self) -> Service:
        port = free_port()
        env = self.env() | {"ACTIVITIES_HOST": "127.0.0.1", "ACTIVITIES_PORT": str(port)}
        proc = _spawn("baseline", ["-m", "app.bench.baseline_app"], env, self.log_dir)
        return self._started(Service("baseline", proc, f"http://127.0.0.1:{port}"), "/healthz")

    def restart_api_and_worker(self) -> None:
        """Fresh API and worker processes, so a peak RSS belongs to one workload only."""
        for name in [n for n in self.services if n == "api" or n.startswith("worker")]:
            self.services.pop(name).stop()
        self.start_api()
        self.start_worker()

    def _started(self, service: Service, ready_path: str) -> Service:
        self.services[service.name] = service
        wait_http(service, ready_path)
        return service

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()
        self.services.clear()
