"""Upload readers for ingestion tests: hand a payload out in small pieces, pause at a point, or break off."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson

from app.services.runtime import Resources
from tests.ingestion_support import deposit


def deposit_lines(rows: int, *, tag: str = "k", persons: int = 20) -> list[bytes]:
    """`rows` distinct keyed, valid deposits as JSONL lines (newline included)."""
    return [orjson.dumps(deposit(email=f"p{i % persons}@x.io", key=f"{tag}{i}", amount=i % 1000)) + b"\n"
            for i in range(rows)]


def with_chunk_rows(resources: Resources, rows: int, **limits: int) -> Resources:
    """The same stores, with settings whose chunks hold `rows` rows (and any other limits given)."""
    changed = resources.settings.limits.model_copy(update={"chunk_rows": rows, **limits})
    return Resources(settings=resources.settings.model_copy(update={"limits": changed}), db=resources.db,
                     queue=resources.queue)


class SteppedReader:
    """An async reader of `data`, at most `step` bytes a read. Once `pause_at` bytes are out it awaits
    `gate()` before handing out more; once `fail_at` bytes are out it raises `error` (a client going away)."""

    def __init__(self, data: bytes, *, step: int = 4096, pause_at: int | None = None,
                 gate: Callable[[], Awaitable[None]] | None = None, fail_at: int | None = None,
                 error: Exception | None = None) -> None:
        self.data, self.step, self.pos = data, step, 0
        self.pause_at, self.gate = pause_at, gate
        self.fail_at, self.error = fail_at, error
        self.paused = False

    async def read(self, size: int = -1) -> bytes:
        if self.pause_at is not None and self.pos >= self.pause_at and not self.paused:
            self.paused = True
            assert self.gate is not None
            await self.gate()
        if self.fail_at is not None and self.pos >= self.fail_at:
            raise self.error or ConnectionResetError("the client went away")
        end = self.pos + (self.step if size < 0 else min(size, self.step))
        if self.pause_at is not None and self.pos < self.pause_at:
            end = min(end, self.pause_at)
        if self.fail_at is not None and self.pos < self.fail_at:
            end = min(end, self.fail_at)
        piece = self.data[self.pos:end]
        self.pos += len(piece)
        return piece
