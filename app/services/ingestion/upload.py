"""Stream an uploaded JSONL or CSV file (optionally gzip) into job chunks without holding it in memory."""

from __future__ import annotations

import zlib
from typing import Protocol

from app.domain.errors import DomainError, ErrorCode
from app.domain.ingestion import IngestionJob, RawRow, SourceFormat
from app.domain.ingestion_rows import parse_csv_header
from app.domain.ingestion_split import RecordSplitter
from app.services.ingestion.submit import JobDraft, JobSpec, created_job, new_job
from app.services.runtime import Resources

READ_BLOCK = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"


class Readable(Protocol):
    """What we need of an upload: Starlette's UploadFile, or any async reader."""

    async def read(self, size: int = -1) -> bytes: ...


class _Inflater:
    """Gzip detected by its magic bytes; output capped so a small bomb cannot exhaust memory."""

    def __init__(self, first: bytes) -> None:
        self.gzip = first.startswith(GZIP_MAGIC)
        self._z = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS) if self.gzip else None

    def blocks(self, data: bytes) -> list[bytes]:
        if self._z is None:
            return [data]
        out = [self._z.decompress(data, READ_BLOCK)]
        while self._z.unconsumed_tail:
            out.append(self._z.decompress(self._z.unconsumed_tail, READ_BLOCK))
        return out

    def flush(self) -> bytes:
        return self._z.flush() if self._z is not None else b""


async def import_file(resources: Resources, spec: JobSpec, upload: Readable) -> IngestionJob:
    """Create a job from an uploaded file; a reused idempotency key returns the existing job if the file and
    options are the same (the file is then only hashed), else CONFLICT."""
    async with new_job(resources, spec) as draft:
        if draft.existing is None:
            await _stream(resources, spec, upload, draft)
    if draft.existing is not None:  # only hashed (outside the transaction): a retry, or another file?
        while block := await upload.read(READ_BLOCK):
            draft.digest.update(block)
    return await created_job(resources, draft)


async def _stream(resources: Resources, spec: JobSpec, upload: Readable, draft: JobDraft) -> None:
    limits = resources.settings.limits
    splitter = RecordSplitter(csv=spec.format is SourceFormat.CSV, max_row_bytes=limits.max_row_bytes)
    inflater: _Inflater | None = None
    while True:
        block = await upload.read(READ_BLOCK)
        if not block:
            break
        draft.digest.update(block)  # the bytes as sent (gzip or not): cheap next to parsing them
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
        raise DomainError.of(ErrorCode.REQUIRED, "The file contains no rows.", "file")


async def _add_rows(spec: JobSpec, draft: JobDraft, rows: list[RawRow]) -> None:
    for row in rows:
        if spec.format is SourceFormat.CSV and draft.header is None:
            if row.oversize is not None:
                raise DomainError.of(ErrorCode.ROW_TOO_LARGE, "The CSV header row is too large.", "file")
            header = parse_csv_header(row.data, spec.activity_type)
            if header and not isinstance(header[0], str):
                raise DomainError([i for i in header if not isinstance(i, str)])
            draft.header = [h for h in header if isinstance(h, str)]
            continue
        await draft.add(row)
