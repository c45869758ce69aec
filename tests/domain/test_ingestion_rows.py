"""Envelope parsing of JSONL lines and CSV records into envelopes or typed row failures."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from app.domain.errors import ErrorCode, Issue
from app.domain.ingestion import JobCounts, RawRow, canonical_json, infer_format, payload_hash
from app.domain.ingestion_rows import (
    Envelope,
    PersonRef,
    RowFailure,
    oversize_failure,
    parse_csv,
    parse_csv_header,
    parse_jsonl,
    plain_envelope,
    record_text,
)

LINE = {"activityType": "depositCheck", "person": {"email": "Ann@Example.com"},
        "occurredAt": "2026-11-02T11:00:00+01:00", "primaryValue": "Main", "fields": {"amount": 1},
        "idempotencyKey": "chk-1"}


def codes(result: Envelope | RowFailure) -> list[ErrorCode]:
    assert isinstance(result, RowFailure)
    return [i.code for i in result.issues]


def test_a_jsonl_line_becomes_an_envelope_in_utc() -> None:
    env = parse_jsonl(RawRow(3, orjson.dumps(LINE)), None)
    assert isinstance(env, Envelope)
    assert env.row_number == 3 and env.person == PersonRef(email="Ann@Example.com")
    assert env.occurred_at == datetime(2026, 11, 2, 10, tzinfo=UTC) and env.idempotency_key == "chk-1"
    assert env.fields == {"amount": 1} and not env.from_text


def test_malformed_json_and_invalid_utf8_are_told_apart() -> None:
    assert codes(parse_jsonl(RawRow(1, b'{"a": '), None)) == [ErrorCode.MALFORMED_ROW]
    assert codes(parse_jsonl(RawRow(1, b'{"a": "caf\xe9"}'), None)) == [ErrorCode.INVALID_ENCODING]
    assert codes(parse_jsonl(RawRow(1, b"[1, 2]"), None)) == [ErrorCode.MALFORMED_ROW]


def test_every_envelope_problem_is_reported() -> None:
    bad = {"person": {"phone": "1"}, "occurredAt": "2026-11-02T10:00:00", "idempotencyKey": "k" * 300, "x": 1}
    assert set(codes(parse_jsonl(RawRow(1, orjson.dumps(bad)), None))) == {
        ErrorCode.UNKNOWN_FIELD, ErrorCode.REQUIRED, ErrorCode.INVALID_DATE, ErrorCode.TOO_LONG}


def test_the_job_type_applies_when_a_row_has_none() -> None:
    line = {k: v for k, v in LINE.items() if k != "activityType"}
    env = parse_jsonl(RawRow(1, orjson.dumps(line)), "webinar")
    assert isinstance(env, Envelope) and env.activity_type == "webinar"


def test_person_references_are_checked() -> None:
    for person, code in [({"id": -3}, ErrorCode.INVALID), ({"email": "nope"}, ErrorCode.INVALID_EMAIL),
                         ({}, ErrorCode.REQUIRED)]:
        assert codes(parse_jsonl(RawRow(1, orjson.dumps({**LINE, "person": person})), None)) == [code]
    env = parse_jsonl(RawRow(1, orjson.dumps({**LINE, "person": {"id": "42", "externalId": 7}})), None)
    assert isinstance(env, Envelope) and env.person == PersonRef(id=42, external_id="7")


HEADER = ["personEmail", "occurredAt", "primaryValue", "idempotencyKey", "amount", "note"]


def test_csv_header_and_record() -> None:
    assert parse_csv_header(",".join(HEADER).encode(), "depositCheck") == HEADER
    env = parse_csv(RawRow(2, b'a@x.io,2026-11-02T10:00:00Z,"Main, St",k1,12.5,'), HEADER, "depositCheck")
    assert isinstance(env, Envelope) and env.from_text
    assert env.primary_value == "Main, St" and env.fields == {"amount": "12.5"}  # empty cells are missing


def test_csv_problems() -> None:
    assert codes(parse_csv(RawRow(2, b"a@x.io,2026-11-02T10:00:00Z"), HEADER, "t")) == [ErrorCode.WRONG_COLUMN_COUNT]
    assert codes(parse_csv(RawRow(2, b"\xff,b,c,d,e,f"), HEADER, "t")) == [ErrorCode.INVALID_ENCODING]
    assert codes(parse_csv(RawRow(2, b'"unclosed,b,c,d,e,f'), HEADER, "t")) == [ErrorCode.MALFORMED_ROW]
    header_issues = parse_csv_header(b"a,a,personEmail", None)
    assert {i.code for i in header_issues if isinstance(i, Issue)} == {ErrorCode.DUPLICATE, ErrorCode.REQUIRED}


def test_oversize_rows_and_record_text() -> None:
    failure = oversize_failure(RawRow(9, b"abc", oversize=10_000_000), 1_000_000)
    assert failure.issues[0].code is ErrorCode.ROW_TOO_LARGE and "10000000" in failure.issues[0].message
    assert record_text(b"caf\xe9\x00") == "caf\ufffd\ufffd"


def test_payload_hash_ignores_key_order_and_counts_progress() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    x, y = canonical_json("x"), canonical_json("y")
    ab, ba = canonical_json({"a": 1, "b": 2}), canonical_json({"b": 2, "a": 1})
    assert payload_hash(at, x, ab) == payload_hash(at, x, ba)
    assert payload_hash(at, x, canonical_json({"a": 1})) != payload_hash(at, y, canonical_json({"a": 1}))
    assert JobCounts(total=4, processed=1).progress == 0.25 and JobCounts().progress == 0
    assert infer_format("x.CSV.gz") is not None and infer_format("x.txt") is None


def test_an_instant_outside_the_utc_range_is_rejected_alone() -> None:
    # Valid ISO 8601 whose UTC instant falls before year 1 or after 9999: one row's OUT_OF_RANGE, never an
    # OverflowError that fails the whole job.
    for moment in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        line = {**LINE, "occurredAt": moment}
        assert plain_envelope(line, None) is None
        failure = parse_jsonl(RawRow(4, orjson.dumps(line)), None)
        assert codes(failure) == [ErrorCode.OUT_OF_RANGE]
        assert isinstance(failure, RowFailure) and failure.issues[0].field == "occurredAt"
        record = parse_csv(RawRow(2, f"a@b.io,{moment}".encode()), ["personEmail", "occurredAt"], "t")
        assert codes(record) == [ErrorCode.OUT_OF_RANGE]
    for moment in ("0001-01-01T01:00:00+01:00", "9999-12-31T22:59:59-01:00", "0001-01-01T00:00:00Z"):
        assert isinstance(parse_jsonl(RawRow(1, orjson.dumps({**LINE, "occurredAt": moment})), None), Envelope)


def test_counts_that_do_not_add_up_are_a_mismatch() -> None:
    assert JobCounts(6, 6, 3, 2, 1).mismatch() is None
    assert JobCounts(0, 0).mismatch() is None
    short = JobCounts(6, 4, 4, 0, 0).mismatch()
    assert short is not None and "4 of 6 rows" in short
    assert JobCounts(6, 6, 3, 2, 0).mismatch() is not None  # a processed row counted nowhere
    assert JobCounts(6, 7, 7, 0, 0).mismatch() is not None
