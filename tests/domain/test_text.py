"""The one rule for storable text: NUL and unpaired surrogates are refused, with the path of the first."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.errors import ErrorCode
from app.domain.ingestion import RawRow
from app.domain.ingestion_rows import RowFailure, parse_csv, parse_csv_header, parse_jsonl
from app.domain.text import storable, unstorable_issue, unstorable_path


def test_storable_text() -> None:
    assert storable("plain") and storable("café ☕") and storable("")
    assert not storable("a\x00b") and not storable("\ud800") and not storable("x\udfff")


def test_the_path_of_the_first_unstorable_string() -> None:
    assert unstorable_path({"a": 1, "b": ["ok", {"c": True}]}) is None
    assert unstorable_path({"person": {"email": "a\x00"}}) == "person.email"
    assert unstorable_path({"fields": {"tags": ["ok", "b\x00"]}}, "input") == "input.fields.tags.1"
    assert unstorable_path({"fields": {"k\x00": 1}}) == "fields"  # a key is reported at its object
    assert unstorable_path(["x", "\ud800"]) == "1"
    assert unstorable_path("\x00") == ""
    deep: object = "\x00"
    for _ in range(5000):  # deeper than Python's recursion limit
        deep = [deep]
    assert unstorable_path(deep) == ".".join(["0"] * 5000)
    assert unstorable_issue("x").code is ErrorCode.INVALID_VALUE and unstorable_issue("").field is None


def test_rows_holding_nul_are_invalid_value() -> None:
    row = {"activityType": "t", "person": {"externalId": "e\x00"}, "occurredAt": "2026-11-02T10:00:00Z"}
    failure = parse_jsonl(RawRow(1, orjson.dumps(row)), None)
    assert isinstance(failure, RowFailure) and failure.issues == [unstorable_issue("person.externalId")]
    raw_nul = parse_jsonl(RawRow(2, b'{"activityType": "t\x00"}'), None)
    assert isinstance(raw_nul, RowFailure) and raw_nul.issues == [unstorable_issue(None)]
    escaped_backslash = parse_jsonl(RawRow(3, b'{"activityType": "t\\\\u0000"}'), None)  # the text \u0000
    assert isinstance(escaped_backslash, RowFailure)
    assert [i.code for i in escaped_backslash.issues] == [ErrorCode.REQUIRED, ErrorCode.REQUIRED]
    header = ["personEmail", "occurredAt", "note"]
    cell = parse_csv(RawRow(2, b"a@b.io,2026-11-02T10:00:00Z,n\x00te"), header, "t")
    assert isinstance(cell, RowFailure) and cell.issues == [unstorable_issue("fields.note")]
    envelope = parse_csv(RawRow(2, b"a\x00@b.io,2026-11-02T10:00:00Z,x"), header, "t")
    assert isinstance(envelope, RowFailure) and envelope.issues == [unstorable_issue("personEmail")]
    assert parse_csv_header(b"personEmail,occurredAt,n\x00te", "t") == [unstorable_issue("file")]


def walked_path(value: object, path: str = "") -> str | None:
    """unstorable_path without its orjson shortcut: the walk alone."""
    from app.domain import text

    shortcut = text._plainly_storable
    text._plainly_storable = lambda _: False  # type: ignore[assignment]
    try:
        return unstorable_path(value, path)
    finally:
        text._plainly_storable = shortcut


TEXTS = st.text(st.characters(codec=None, exclude_categories=()), max_size=6) | st.sampled_from(
    ["\x00", "\\u0000", "a\\\\u0000", "\ud800", "é", ""])
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | TEXTS,
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(TEXTS, inner, max_size=4)
    | st.dictionaries(st.integers(), inner, max_size=2),
    max_leaves=20,
)


@given(JSONISH)
@settings(max_examples=500, deadline=None)
def test_the_shortcut_answers_as_the_walk(value: object) -> None:
    assert unstorable_path(value, "v") == walked_path(value, "v")
