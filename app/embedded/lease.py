"""A file-locked list of processes using an embedded server, so the last one out stops it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import psutil


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock; released by the kernel if the holder dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Lease:
    """Pids of live processes that use one embedded server; dead pids are pruned on every read."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> list[int]:
        try:
            pids = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return []
        return [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]

    def _write(self, pids: list[int]) -> None:
        self.path.write_text(json.dumps(sorted(set(pids))))

    def acquire(self, pid: int | None = None) -> None:
        self._write([*self._read(), pid or os.getpid()])

    def release(self, pid: int | None = None) -> list[int]:
        """Drop this pid; return the holders left."""
        remaining = [p for p in self._read() if p != (pid or os.getpid())]
        self._write(remaining)
        return remaining


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a free TCP port on host."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
