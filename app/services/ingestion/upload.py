"""Stream an uploaded JSONL or CSV file (optionally gzip) into committed job chunks without holding it in memory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

from app.domain.errors import DomainError, ErrorCode, Issue
from app.domain.ingestion import IngestionJob, RawRow, SourceFormat
from app.domain.ingestion_rows import parse_csv_header
from app.domain.ingestion_split import RecordSplitter
from app.services.ingestion.receive import Receiver, UploadInterrupted
from app.services.ingestion.reconnect import Reconnecting
from app.services.ingestion.submit import JobSpec
from app.services.runtime import Resources
from app.services.transient import is_transient

logger = logging.getLogger(__name__)

READ_BLOCK = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer around the deflate stream


class Readable(Protocol):
    """What we need of an upload: Starlette's UploadFile, or any async reader."""

    async def read(self, size: int = -1) -> bytes: ...


class _Inflater:
    """Gzip detected by its magic bytes; output capped so a small bomb cannot exhaust memory. Concatenated
    members (`cat a.gz b.gz`) are all read, as gzip -d does; a stream that ends before its member's end marker
    (and CRC) is truncated, not a short file."""

    def __init__(self, first: bytes) -> None:
        self.gzip = first.startswith(GZIP_MAGIC)
        self._z: Any = zlib.decompressobj(wbits=GZIP_WBITS) if self.gzip else None

    def blocks(self, data: bytes) -> list[bytes]:
        if self._z is None:
            return [data]
        out: list[bytes] = []
        while data:
            if self._z.eof:  # the previous member ended: this data starts the next one
                self._z = zlib.decompressobj(wbits=GZIP_WBITS)
            z = self._z
            out.append(z.decompress(data, READ_BLOCK))
            while z.unconsumed_tail:
                out.append(z.decompress(z.unconsumed_tail, READ_BLOCK))
            data = z.unused_data if z.eof else b""
        return out

    def flush(self) -> bytes:
        """The output still held back; raises TRUNCATED_FILE if the last member never reached its end."""
        if self._z is None:
            return b""
        tail: bytes = self._z.flush()
        if not self._z.eof:
            raise DomainError.of(ErrorCode.TRUNCATED_FILE, "The gzip stream ends early (the file is cut short): "
                                 "its last rows are missing.", "file")
        return tail


async def import_file(resources: Resources, spec: JobSpec, upload: Readable) -> IngestionJob:
    """Create a job from an uploaded file, committing it chunk by chunk while it is read (see receive): the
    job is enqueued with its first chunk, so a worker starts on it before the upload ends. A failure after
    that raises UploadInterrupted with the job (FAILED once its committed chunks are processed). A reused
    idempotency key returns the existing job if the file and options are the same (the file is then only
    hashed), else CONFLICT. With `spec.resume_from` the rows numbered before it are read but not taken."""
    if spec.resume_from is not None and spec.resume_from < 1:
        raise DomainError.of(ErrorCode.INVALID, "resumeFrom is a row number (line, or CSV record with the header "
                             "as 1), from 1.", "input.resumeFrom")
    async with Reconnecting(resources, resources.settings.upload_retry_seconds) as link:
        receiver = Receiver(resources, link, spec)
        try:
            await receiver.find_key()
        except Exception as exc:
            _raise_nothing_kept(exc)
            raise
        if receiver.existing is None:
            try:
                await _stream(spec, upload, receiver)
            except UploadInterrupted:
                raise
            except DomainError as error:
                if not receiver.created:
                    raise  # nothing was committed: all or nothing, as for a file smaller than one chunk
                job = await receiver.interrupt("; ".join(i.message for i in error.issues))
                kept = receiver.kept()
                raise UploadInterrupted(job, [Issue(i.code, i.field, f"{i.message} {kept}") for i in error.issues]) \
                    from error
            except asyncio.CancelledError:
                if receiver.created:  # the request was dropped: end the job now, not after upload_stall_seconds
                    with contextlib.suppress(Exception):
                        await asyncio.shield(receiver.interrupt("the request was cancelled"))
                raise
            except Exception as exc:  # the client went away, or the database did (for longer than we retried)
                if not receiver.created:
                    _raise_nothing_kept(exc)
                    raise
                job = await _interrupt_or_raise(receiver, exc)
                raise UploadInterrupted(job, [Issue(ErrorCode.UPLOAD_INTERRUPTED, "file", job.error or "")]) from exc
        if receiver.existing is None:
            return await receiver.job()
    while block := await upload.read(READ_BLOCK):  # a reused key: only hashed (outside any transaction)
        receiver.digest.update(block)
    return await receiver.reused()


def _raise_nothing_kept(exc: Exception) -> None:
    """A failure before the first chunk was committed: a typed error if the client or the database went away
    (for longer than we retried); other errors are left to the caller to re-raise."""
    if not isinstance(exc, DomainError) and is_transient(exc):
        cause = f"{type(exc).__name__}: {exc}"[:200]
        raise DomainError.of(ErrorCode.UPLOAD_INTERRUPTED, f"The upload stopped before its first rows were "
                             f"committed ({cause}); nothing was kept: send the file again.", "file") from exc


async def _interrupt_or_raise(receiver: Receiver, exc: Exception) -> IngestionJob:
    reason = f"{type(exc).__name__}: {exc}"[:200]
    try:
        return await receiver.interrupt(reason)
    except DomainError:  # the job is gone (cancelled and deleted): say so
        raise
    except Exception as again:
        if not is_transient(again):
            raise
        # The database is still away: answer now with the job as it will be, and end it once the database is back.
        logger.warning("could not mark interrupted upload of job %s yet (%s)", receiver.id, again)
        return receiver.interrupt_later(reason)


async def _stream(spec: JobSpec, upload: Readable, draft: Receiver) -> None:
    """Read, split and commit the file; returns early if its job key turns out to be taken meanwhile."""
    limits = draft.resources.settings.limits
    splitter = RecordSplitter(csv=spec.format is SourceFormat.CSV, max_row_bytes=limits.max_row_bytes)
    inflater: _Inflater | None = None
    async for block in _blocks(upload, draft):
        if inflater is None:
            inflater = _Inflater(block)
        try:
            pieces = inflater.blocks(block)
        except zlib.error as exc:
            raise DomainError.of(ErrorCode.MALFORMED_ROW, f"The gzip stream is corrupt: {exc}.", "file") from exc
        for piece in pieces:
            draft.total_bytes += len(piece)
            if draft.total_bytes > limits.max_upload_bytes:
                raise DomainError.of(ErrorCode.PAYLOAD_TOO_LARGE,
                                     f"The file is larger than {limits.max_upload_bytes} bytes (maxUploadBytes).",
                                     "file")
            await _add_rows(spec, draft, splitter.feed(piece))
        if draft.existing is not None:
            return
    if inflater is not None:
        try:
            tail = inflater.flush()
        except zlib.error as exc:
            raise DomainError.of(ErrorCode.MALFORMED_ROW, f"The gzip stream is corrupt: {exc}.", "file") from exc
        await _add_rows(spec, draft, splitter.feed(tail) if tail else [])
    await _add_rows(spec, draft, splitter.finish())
    if spec.format is SourceFormat.CSV and draft.header is None:
        raise DomainError.of(ErrorCode.REQUIRED, "The CSV file has no header row.", "file")
    if draft.rows == 0:
        raise DomainError.of(ErrorCode.REQUIRED, "The file contains no rows." if spec.resume_from is None else
                             f"The file has no rows from resumeFrom ({spec.resume_from}) on.", "file")
    await draft.finish()


async def _blocks(upload: Readable, draft: Receiver) -> AsyncIterator[bytes]:
    """The upload's blocks as read, hashed as sent; a stream may hand out a byte or two at a time, so bytes are
    held back until the first block is long enough to recognise gzip by its magic."""
    head = b""
    while block := await upload.read(READ_BLOCK):
        draft.digest.update(block)  # the bytes as sent (gzip or not): cheap next to parsing them
        if head or len(block) < len(GZIP_MAGIC):
            head += block
            if len(head) < len(GZIP_MAGIC):
                continue
            block, head = head, b""
        yield block
    if head:
        yield head


async def _add_rows(spec: JobSpec, draft: Receiver, rows: list[RawRow]) -> None:
    if rows and spec.format is SourceFormat.CSV and draft.header is None:
        row = rows[0]
        if row.oversize is not None:
            raise DomainError.of(ErrorCode.ROW_TOO_LARGE, "The CSV header row is too large.", "file")
        header = parse_csv_header(row.data, spec.activity_type)
        if header and not isinstance(header[0], str):
            raise DomainError([i for i in header if not isinstance(i, str)])
        draft.header = [h for h in header if isinstance(h, str)]
        rows = rows[1:]
    start = spec.resume_from
    if start is not None and rows and rows[0].number < start:  # rows come in order: only the first blocks skip
        rows = [r for r in rows if r.number >= start]
    await draft.add_many(rows)
