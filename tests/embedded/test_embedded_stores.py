"""Embedded PostgreSQL and Redis: data survives a restart; a killed run does not block the next start."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import asyncpg
import psutil
import redis

from app.embedded.postgres import EmbeddedPostgres
from app.embedded.redis import EmbeddedRedis


async def _query(url: str, sql: str) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def test_postgres_keeps_data_across_restarts_and_survives_a_killed_server(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path)
    url = pg.start()
    asyncio.run(_query(url, "CREATE TABLE kept AS SELECT 42 AS answer"))
    pg.stop()
    assert not (tmp_path / "postgres" / "postmaster.pid").exists()

    url = pg.start()
    assert asyncio.run(_query(url, "SELECT answer FROM kept")) == 42
    # A crash: the postmaster dies hard and leaves its pid file behind.
    pid = int((tmp_path / "postgres" / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    psutil.Process(pid).wait(10) if psutil.pid_exists(pid) else None
    time.sleep(0.5)
    pg.lease.release()
    again = EmbeddedPostgres(tmp_path)
    url = again.start()
    assert asyncio.run(_query(url, "SELECT answer FROM kept")) == 42
    again.stop()


def test_postgres_is_shared_by_concurrent_users_and_stopped_by_the_last(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path)
    url = pg.start()
    other_user = psutil.Popen(["sleep", "60"])  # another live process holding the server
    try:
        pg.lease.acquire(other_user.pid)
        assert EmbeddedPostgres(tmp_path).start() == url  # joining reuses the running server
        pg.stop()
        assert asyncio.run(_query(url, "SELECT 1")) == 1  # still up for the other user
    finally:
        other_user.kill()
        other_user.wait()
    pg.stop()  # the other user is gone: the last one out stops the server
    assert not (tmp_path / "postgres" / "postmaster.pid").exists()


def test_lease_ignores_pids_of_dead_processes(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path)
    pg.start()
    dead = psutil.Popen(["true"])
    dead.wait()
    pg.lease.acquire(dead.pid)  # a run that was killed without releasing
    pg.stop()
    assert not (tmp_path / "postgres" / "postmaster.pid").exists()


def test_redis_keeps_data_across_restarts_and_recovers_from_a_kill(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    client = redis.Redis.from_url(server.start())
    client.set("kept", "yes")
    client.close()
    server.stop()

    client = redis.Redis.from_url(server.start())
    assert client.get("kept") == b"yes"
    client.close()
    pid = int((tmp_path / "redis" / "server.json").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    psutil.Process(pid).wait(10)
    server.lease.release()
    restarted = EmbeddedRedis(tmp_path)
    client = redis.Redis.from_url(restarted.start())
    assert client.get("kept") == b"yes"
    client.close()
    restarted.stop()


def test_redis_start_waits_while_the_server_answers_loading() -> None:
    """A restarted redis opens its port before it has replayed the AOF; start() must not return then."""
    import socket
    import threading

    from app.embedded.redis import _answers_commands

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    loading_answers = 2  # connections answered LOADING before the server serves

    def serve() -> None:
        nonlocal loading_answers
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # listener closed: the test is over
            with conn:
                while data := conn.recv(4096):  # a port probe connects and sends nothing
                    commands = data.count(b"\r\n*") + 1  # pipelined RESP arrays in one read
                    reply = b"-LOADING Redis is loading the dataset in memory\r\n" if loading_answers else b"+PONG\r\n"
                    conn.sendall(reply * commands)
                    if loading_answers:
                        loading_answers -= 1
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        assert [_answers_commands(port) for _ in range(3)] == [False, False, True]
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() the thread is blocked in
        listener.close()
        thread.join(5)
    assert not thread.is_alive()
