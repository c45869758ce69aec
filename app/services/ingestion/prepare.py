"""The CPU half of a chunk: decode, parse envelopes, validate against live types, serialise and hash.

Pure Python with no I/O, so the worker runs it on a thread for the next chunk while Postgres writes this one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from app.domain.errors import ErrorCode, Issue
from app.domain.ingestion import RawRow, SourceFormat, canonical_json, decode_chunk, payload_hash
from app.domain.ingestion_rows import Envelope, RowFailure, oversize_failure, parse_csv, parse_jsonl
from app.services.registry import LiveType

NULL_JSON = b"null"


@dataclass
class JobContext:
    """What every chunk of a job needs, loaded once per run."""

    id: uuid.UUID
    format: SourceFormat
    activity_type: str | None
    header: list[str] | None
    dry_run: bool
    create_missing_persons: bool
    live: bool
    types: dict[str, LiveType]
    known_names: set[str]
    max_row_bytes: int


@dataclass(slots=True)
class Candidate:
    """A row that passed validation; only its person is left to resolve."""

    env: Envelope
    type_id: int
    version: int
    primary_json: str | None
    fields_json: str
    payload_hash: bytes | None  # only rows with an idempotency key are ever compared


@dataclass
class Prepared:
    rows: int = 0
    candidates: list[Candidate] = field(default_factory=list)
    failures: list[RowFailure] = field(default_factory=list)


def parse_row(ctx: JobContext, row: RawRow) -> Envelope | RowFailure:
    if row.oversize is not None:
        return oversize_failure(row, ctx.max_row_bytes)
    if ctx.format is SourceFormat.CSV:
        assert ctx.header is not None
        return parse_csv(row, ctx.header, ctx.activity_type)
    return parse_jsonl(row, ctx.activity_type)


def _type_issue(ctx: JobContext, name: str) -> Issue:
    shown = name[:100]
    if name.lower() in ctx.known_names:
        return Issue(ErrorCode.TYPE_NOT_APPROVED, "activityType", f"Activity type '{shown}' is not approved.")
    return Issue(ErrorCode.UNKNOWN_ACTIVITY_TYPE, "activityType", f"No activity type '{shown}'.")


def prepare_chunk(ctx: JobContext, data: bytes) -> Prepared:
    """Every row of a stored chunk, validated: candidates to write and failures to record."""
    out = Prepared()
    rows = decode_chunk(data)
    out.rows = len(rows)
    types = ctx.types
    for raw in rows:
        env = parse_row(ctx, raw)
        if isinstance(env, RowFailure):
            out.failures.append(env)
            continue
        live = types.get(env.activity_type.lower())
        if live is None:
            out.failures.append(RowFailure(env.row_number, [_type_issue(ctx, env.activity_type)], env.raw))
            continue
        record = live.validator.validate(env.primary_value, env.fields, from_text=env.from_text)
        if isinstance(record, list):
            out.failures.append(RowFailure(env.row_number, record, env.raw))
            continue
        primary = NULL_JSON if record.primary_value is None else canonical_json(record.primary_value)
        fields = canonical_json(record.fields)
        out.candidates.append(Candidate(
            env, live.id, live.version, None if primary is NULL_JSON else primary.decode(), fields.decode(),
            None if env.idempotency_key is None else payload_hash(env.occurred_at, primary, fields)))
    return out
