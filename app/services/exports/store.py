"""Where export files live: a small interface, and a local directory behind it (an object store can be added)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO, Protocol

from app.settings import Settings

READ_CHUNK = 256 * 1024
# zlib level 3: the bench's 100k activities (43 MB of JSONL) took 0.28 s of CPU to 6.3 MB, where level 6 took
# 0.64 s (more than PostgreSQL spends formatting them) to 5.2 MB and level 1 0.23 s to 6.9 MB.
GZIP_LEVEL = 3


class PartWriter(Protocol):
    """A file being written: bytes in (compressed on the way if asked), sha256 and size of what is stored."""

    async def write(self, data: bytes) -> None: ...
    async def commit(self) -> tuple[int, str]: ...  # (stored bytes, sha256 hex); the file becomes readable
    async def abort(self) -> None: ...


class FileStore(Protocol):
    """The operations exports need; keys are relative names chosen by the service."""

    def open_part(self, key: str, *, gzip: bool) -> PartWriter: ...
    async def size(self, key: str) -> int | None: ...
    def read(self, key: str, start: int, end: int) -> AsyncIterator[bytes]: ...  # bytes start..end inclusive
    async def delete(self, key: str) -> None: ...  # the file and any part of it


class _LocalPart:
    """Writes `<key>.part`, renamed to `<key>` at commit (a reader never sees a half-written file)."""

    def __init__(self, path: Path, gzip: bool) -> None:
        self._path = path
        self._part = path.with_name(path.name + ".part")
        self._gzip = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31) if gzip else None
        self._hash = hashlib.sha256()
        self._size = 0
        self._file: BinaryIO | None = None

    def _put(self, data: bytes) -> None:
        if self._file is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self._part, "wb")  # closed in commit/abort
        if self._gzip is not None:
            data = self._gzip.compress(data)
        if data:
            self._hash.update(data)
            self._size += len(data)
            self._file.write(data)

    async def write(self, data: bytes) -> None:
        # Compression, hashing and disk writes run off the event loop (the worker serves other jobs meanwhile).
        await asyncio.to_thread(self._put, data)

    def _commit(self) -> tuple[int, str]:
        self._put(b"")
        if self._gzip is not None:
            tail = self._gzip.flush()
            self._hash.update(tail)
            self._size += len(tail)
            assert self._file is not None
            self._file.write(tail)
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._part, self._path)
        return self._size, self._hash.hexdigest()

    async def commit(self) -> tuple[int, str]:
        return await asyncio.to_thread(self._commit)

    async def abort(self) -> None:
        if self._file is not None:
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self._part.unlink()


class LocalFileStore:
    """Files in one directory (ACTIVITIES_EXPORT_DIR, by default `exports/` under the data dir)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise ValueError(f"bad file key {key!r}")
        return self.root / key

    def open_part(self, key: str, *, gzip: bool) -> PartWriter:
        return _LocalPart(self._path(key), gzip)

    async def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    async def read(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(open, self._path(key), "rb")
        try:
            await asyncio.to_thread(handle.seek, start)
            left = end - start + 1
            while left > 0:
                data = await asyncio.to_thread(handle.read, min(READ_CHUNK, left))
                if not data:
                    return
                left -= len(data)
                yield data
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()
        with contextlib.suppress(FileNotFoundError):
            self._path(key).with_name(key + ".part").unlink()


def export_dir(settings: Settings) -> Path:
    return settings.export_dir if settings.export_dir is not None else settings.data_dir / "exports"


def file_store(settings: Settings) -> FileStore:
    """The deployment's store (only the local directory so far)."""
    return LocalFileStore(export_dir(settings))
