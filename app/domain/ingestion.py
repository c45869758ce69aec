"""Ingestion jobs as domain objects: statuses, counts, rejections, payload hashing and chunk encoding."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import msgpack
import orjson

from app.domain.errors import ErrorCode, Issue


class JobStatus(StrEnum):
    """Lifecycle of an ingestion job: QUEUED -> RUNNING -> one of the terminal statuses."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self not in (JobStatus.QUEUED, JobStatus.RUNNING)


UNFINISHED = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


class SourceFormat(StrEnum):
    """How a job's payload rows are encoded."""

    JSONL = "JSONL"
    CSV = "CSV"


class JobSource(StrEnum):
    """Where a job's rows came from."""

    INLINE = "INLINE"
    UPLOAD = "UPLOAD"
    REPLAY = "REPLAY"


def infer_format(filename: str | None) -> SourceFormat | None:
    """JSONL or CSV from a file name such as `events.csv.gz`; None when the name says neither."""
    name = (filename or "").lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return SourceFormat.JSONL
    if name.endswith(".csv"):
        return SourceFormat.CSV
    return None


@dataclass(frozen=True, slots=True)
class JobCounts:
    """Row counts; processed = accepted + rejected + duplicates once a job ends normally."""

    total: int = 0
    processed: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0

    @property
    def progress(self) -> float:
        if self.total <= 0:
            return 0.0
        return min(1.0, self.processed / self.total)

    def mismatch(self) -> str | None:
        """Why the counts of a job that processed all its chunks do not add up (rows were lost on the way),
        or None when every row received was processed and counted once."""
        counted = self.accepted + self.rejected + self.duplicates
        if self.processed == self.total and counted == self.processed:
            return None
        return (f"Processed {self.processed:,} of {self.total:,} rows ({self.accepted:,} accepted, "
                f"{self.rejected:,} rejected, {self.duplicates:,} duplicates): the counts do not add up, so rows "
                "were lost; the rows counted as accepted are stored.")

    def final_status(self, *, interrupted: bool = False) -> JobStatus:
        """How a job whose chunks are all processed ends: FAILED when its counts do not add up (`mismatch`) or its
        upload was interrupted, else SUCCEEDED, or COMPLETED_WITH_ERRORS when rows were rejected."""
        if interrupted or self.mismatch() is not None:
            return JobStatus.FAILED
        return JobStatus.SUCCEEDED if self.rejected == 0 else JobStatus.COMPLETED_WITH_ERRORS


@dataclass(frozen=True, slots=True)
class IngestionJob:
    """A snapshot of one ingestion job, as the API shows it."""

    id: uuid.UUID
    status: JobStatus
    source: JobSource
    format: SourceFormat
    activity_type: str | None
    dry_run: bool
    create_missing_persons: bool
    idempotency_key: str | None
    filename: str | None
    replay_of: uuid.UUID | None
    counts: JobCounts
    total_bytes: int
    attempts: int
    cancel_requested: bool
    error: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    receiving: bool = False  # an upload still streaming in: counts.total is the rows received so far
    error_code: ErrorCode | None = None  # why it FAILED, when the reason has a code (UPLOAD_INTERRUPTED)
    received_through: int | None = None  # an upload: row number of the last row of its committed chunks
    resume_from: int | None = None  # an upload sent with resumeFrom: rows numbered before it were skipped

    @property
    def resume_at(self) -> int | None:
        """An interrupted upload: the first row of the file it did not take (send the file again from there)."""
        if self.error_code is not ErrorCode.UPLOAD_INTERRUPTED or self.received_through is None:
            return None
        return self.received_through + 1

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or self.updated_at
        return max(0.0, (end - self.started_at).total_seconds())

    @property
    def rows_per_second(self) -> float | None:
        duration = self.duration_seconds
        if not duration:
            return None
        return self.counts.processed / duration


@dataclass(frozen=True, slots=True)
class Rejection:
    """One rejected row: where it was, why (first issue + all issues) and the original record."""

    job_id: uuid.UUID
    row_number: int
    issues: tuple[Issue, ...]
    record: str
    replayed_by: uuid.UUID | None = None

    @property
    def first(self) -> Issue:
        return self.issues[0]


@dataclass(slots=True)
class RawRow:
    """One row of a payload as stored in a chunk: its row number and bytes, or only the size if too large."""

    number: int
    data: bytes
    oversize: int | None = None  # original size in bytes when the row exceeded the row limit

    def encode(self) -> list[Any]:
        return [self.number, self.data] if self.oversize is None else [self.number, self.data, self.oversize]


def encode_chunk(rows: list[RawRow]) -> bytes:
    """Chunk payload: msgpack list of [rowNumber, bytes] (plus size for rows cut at the row limit)."""
    # Tuples pack as the same msgpack arrays as RawRow.encode's lists, and cost less to build and collect.
    packed: bytes = msgpack.packb(
        [(r.number, r.data) if r.oversize is None else (r.number, r.data, r.oversize) for r in rows],
        use_bin_type=True)
    return packed


def decode_chunk(data: bytes) -> list[RawRow]:
    items = msgpack.unpackb(data, raw=False)
    return [RawRow(item[0], item[1], item[2] if len(item) > 2 else None) for item in items]


def canonical_json(value: Any) -> bytes:
    """JSON with sorted keys: the same value always gives the same bytes (stored as jsonb, hashed)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def payload_hash(
    occurred_at: datetime, primary_json: bytes, fields_json: bytes, occurred_iso: str | None = None
) -> bytes:
    """What "the same activity" means for idempotency: same time, primary value and fields (normalised,
    as canonical JSON). `occurred_iso` is `occurred_at.isoformat()` when the caller has it already
    (see `utc_isoformat`): formatting costs more than the hash."""
    iso = occurred_at.isoformat() if occurred_iso is None else occurred_iso
    return hashlib.sha256(b"\x00".join((iso.encode(), primary_json, fields_json))).digest()


def utc_isoformat(text: str) -> str | None:
    """`datetime.fromisoformat(text).isoformat()` for an ISO 8601 UTC time written as isoformat writes it, with
    'Z' for '+00:00' ("2026-11-02T10:00:00.123000Z", "2026-11-02T10:00:00Z"), taken from the text itself;
    None for any other form. Only for a `text` that fromisoformat accepted: the fixed positions of the
    separators then leave ASCII digits in every other place."""
    size = len(text)
    if size == 27:
        if text[26] != "Z" or text[19] != ".":
            return None
    elif size != 20 or text[19] != "Z":
        return None
    if (text[10] != "T" or text[4] != "-" or text[7] != "-" or text[13] != ":" or text[16] != ":"
            or not text.isascii()):
        return None
    if size == 20 or text[20:26] == "000000":  # isoformat leaves out a zero fraction
        return text[:19] + "+00:00"
    return text[:26] + "+00:00"


@dataclass(slots=True)
class ChunkTally:
    """Counts of one chunk, added to the job's counters in the chunk's transaction."""

    processed: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    rejections: list[Rejection] = field(default_factory=list)
