"""`activities webhook-listen` as a real process: signed deliveries are printed and answered, others refused."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from app.domain.webhook_signing import headers, new_secret
from tests.stores import PROJECT_ROOT

SECRET = new_secret()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def listener() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "app.cli.main", "webhook-listen", "--port", str(port),
                             "--secret", SECRET], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"})
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "the listener did not start"
            time.sleep(0.05)
    try:
        yield port, proc
    finally:
        proc.terminate()
        proc.wait(10)


def test_prints_verified_deliveries_and_refuses_bad_signatures(listener: tuple[int, subprocess.Popen[bytes]]) -> None:
    port, proc = listener
    body = orjson.dumps({"trigger": {"id": "t", "name": "big deposits"}, "activities": [
        {"id": "812", "activityType": {"apiName": "depositCheck"}, "person": {"id": "17"},
         "occurredAt": "2026-11-02T10:00:00+00:00"}]})
    url = f"http://127.0.0.1:{port}/hooks"
    good = httpx.post(url, content=body, headers=headers([SECRET], "msg_abc_1", int(time.time()), body))
    assert good.status_code == 200
    forged = httpx.post(url, content=body, headers=headers([new_secret()], "msg_abc_2", int(time.time()), body))
    assert forged.status_code == 401
    unsigned = httpx.post(url, content=body)
    assert unsigned.status_code == 401
    proc.terminate()
    output = proc.communicate(timeout=10)[0].decode()
    assert "msg_abc_1 trigger='big deposits' activities=1 (signature ok)" in output
    assert "812 depositCheck person=17" in output
    assert "refused msg_abc_2: no signature matches" in output
