"""`activities worker --check`, the container healthcheck: true while a worker on this host runs, false after."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import redis

from app.settings import Settings
from tests.conftest import child_env
from tests.stores import PROJECT_ROOT
from workers.settings import health_key


def check(env: dict[str, str]) -> int:
    return subprocess.run([sys.executable, "-m", "app.cli.main", "worker", "--check"], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, timeout=60, check=False).returncode


def test_check_follows_a_real_worker_process(settings: Settings) -> None:
    prefix = f"{settings.redis_prefix}-health-{uuid.uuid4().hex[:8]}"  # a queue of its own: no stale key
    env = child_env(settings) | {"ACTIVITIES_REDIS_PREFIX": prefix}
    assert check(env) == 1  # no worker yet
    worker = subprocess.Popen([sys.executable, "-m", "app.cli.main", "worker"], env=env, cwd=PROJECT_ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while check(env) != 0:
            assert worker.poll() is None and time.monotonic() < deadline, "the worker never reported healthy"
            time.sleep(0.5)
    finally:
        worker.kill()
        worker.wait()
    assert settings.redis_url
    with redis.Redis.from_url(settings.redis_url) as client:
        ttl_ms = client.pttl(health_key(settings.model_copy(update={"redis_prefix": prefix})))
    assert 0 < ttl_ms <= 6000  # a killed worker stops looking healthy within seconds, not arq's default hour
