"""The CPU half of a chunk: decode, parse envelopes, validate against live types, serialise and hash.

Pure Python with no I/O: the worker prepares the next chunk while Postgres writes this one, on the event loop
in short steps (prepare_chunk_stepwise) rather than on a thread, whose hold on the GIL would delay every reply
the chunk being written waits for.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgpack
import orjson

from app.domain.errors import ErrorCode, Issue
from app.domain.ingestion import RawRow, SourceFormat, payload_hash
from app.domain.ingestion_rows import (
    Envelope,
    PersonRef,
    RowFailure,
    oversize_failure,
    parse_csv,
    parse_jsonl,
    plain_envelope,
)
from app.domain.json_keys import string_tokens
from app.services.registry import LiveType

NULL_JSON = b"null"
STEP_ROWS = 128
_SORT_KEYS = orjson.OPT_SORT_KEYS

# A row that passed validation; only its person is left to resolve. A plain tuple (one allocation per row):
# (row_number, index of its person in Prepared.people, occurred_at, activity_type_id, type_version,
#  primary_value JSON or None, fields JSON, idempotency_key, payload_hash, raw record). The payload hash is set
# only with an idempotency key: only rows that carry one are ever compared.
Candidate = tuple[int, int, datetime, int, int, str | None, str, str | None, bytes | None, bytes]


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
    keys_stored: bool = False  # a chunk met idempotency keys stored before: look keys up first from then on
    distributed: bool = False  # Citus: chunks enlist the nodes they write (app/db/two_phase.py)


@dataclass
class Prepared:
    rows: int = 0
    candidates: list[Candidate] = field(default_factory=list)
    failures: list[RowFailure] = field(default_factory=list)
    # The persons the candidates name, each reference once: rows naming the same email (exactly as written) or
    # id share an entry, so a chunk resolves its few hundred persons rather than one reference per row.
    people: list[PersonRef] = field(default_factory=list)


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
    items = msgpack.unpackb(data, raw=False)  # [rowNumber, bytes] or [rowNumber, bytes, originalSize]
    out.rows = len(items)
    _prepare_rows(ctx, items, out, {})
    return out


async def prepare_chunk_stepwise(ctx: JobContext, data: bytes, step_rows: int = STEP_ROWS) -> Prepared:
    """`prepare_chunk` on the event loop, `step_rows` rows at a time (~0.7 ms for 128 bench rows), yielding
    between steps so replies for the chunk being written are handled within a step."""
    out = Prepared()
    items = msgpack.unpackb(data, raw=False)
    out.rows = len(items)
    by_ref: dict[str | int, int] = {}
    for start in range(0, len(items), step_rows):
        _prepare_rows(ctx, items[start:start + step_rows], out, by_ref)
        await asyncio.sleep(0)
    return out


def _prepare_rows(ctx: JobContext, items: list[list[Any]], out: Prepared, by_ref: dict[str | int, int]) -> None:
    """Rows of a chunk into `out`; `by_ref` is the index in out.people of each email-only or id-only reference."""
    candidates, failures, people = out.candidates, out.failures, out.people
    types, default_type, jsonl = ctx.types, ctx.activity_type, ctx.format is SourceFormat.JSONL
    loads, dumps = orjson.loads, orjson.dumps
    for item in items:
        number, raw = item[0], item[1]
        # The bulk path: one well-formed JSON row in the common shape. Anything else (and every failure) is
        # parsed again by the general functions, which give the same envelope or say what is wrong.
        plain = None
        # A JSON-escaped NUL goes the general way, which rejects it (a NUL byte is not JSON: loads fails).
        if jsonl and len(item) == 2 and b"\\u0000" not in raw:
            try:
                obj = loads(raw)
            except orjson.JSONDecodeError:
                pass
            else:
                plain = plain_envelope(obj, default_type)
                # A plain row's strings are its keys, the person's key (and email) and the fields' keys, plus
                # the string values: a row writing more (a repeated key, or objects deeper down) or holding a
                # backslash goes the general way, which looks for repeated keys.
                if plain is not None and string_tokens(raw) != (
                        len(obj) + [*map(type, obj.values())].count(str) + (type(plain[1]) is str) + 1
                        + len(plain[4]) + [*map(type, plain[4].values())].count(str)):
                    plain = None
        if plain is not None:
            type_name, ref, occurred_at, primary_value, fields, key, occurred_iso = plain
            from_text, person = False, None
        else:
            env = parse_row(ctx, RawRow(number, raw, item[2] if len(item) > 2 else None))
            if isinstance(env, RowFailure):
                failures.append(env)
                continue
            type_name, person, occurred_at, key = env.activity_type, env.person, env.occurred_at, env.idempotency_key
            primary_value, fields, from_text, occurred_iso = env.primary_value, env.fields, env.from_text, None
        live = types.get(type_name.lower())
        if live is None:
            failures.append(RowFailure(number, [_type_issue(ctx, type_name)], raw))
            continue
        record = live.validator.normalise(primary_value, fields, from_text)
        if type(record) is list:
            failures.append(RowFailure(number, record, raw))
            continue
        primary, values = record
        primary_json = NULL_JSON if primary is None else dumps(primary, option=_SORT_KEYS)
        fields_json = dumps(values, option=_SORT_KEYS)  # canonical_json(), inlined
        digest = None if key is None else payload_hash(occurred_at, primary_json, fields_json, occurred_iso)
        if person is None:
            who = by_ref.get(ref)
            if who is None:
                who = by_ref[ref] = len(people)
                people.append(PersonRef(None, ref, None) if isinstance(ref, str) else PersonRef(ref, None, None))
        else:
            who = len(people)
            people.append(person)
        candidates.append((number, who, occurred_at, live.id, live.version,
                           None if primary is None else primary_json.decode(), fields_json.decode(), key, digest,
                           raw))

