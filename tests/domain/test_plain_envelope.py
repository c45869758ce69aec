"""The bulk path's shortcuts give the general path's answers: plain envelopes, numeric and allowed-value checks."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.activity_types import FieldDataType, FieldSpec
from app.domain.errors import ErrorCode, Issue
from app.domain.ingestion import utc_isoformat
from app.domain.ingestion_rows import Envelope, PersonRef, parse_object, plain_envelope
from app.domain.validators.base import _short, with_range
from app.domain.validators.numbers import _currency, _float, _integer, build_number_check
from app.domain.validators.strings import build_string_check

RELAXED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=400)
PLAIN = {"activityType": "depositCheck", "person": {"email": "ann@example.com"},
         "occurredAt": "2026-11-02T11:00:00.123+01:00", "primaryValue": "Main", "fields": {"amount": 1.5},
         "idempotencyKey": "chk-1"}

ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
odd_text = st.sampled_from(["", " ", "\t", "x", "é", "\x00", "a b", "@", "a@", "@b", " a@b.io ", "a@b.io\n"])
type_names = st.one_of(st.none(), st.just(""), st.just("depositCheck"), ints, st.booleans(), odd_text)
emails = st.one_of(
    odd_text, st.sampled_from(["ann@example.com", " Ann@Example.com ", "a" * 250 + "@b.io", "@b.io", "a@", "a\x7f@b"]),
    st.none(), ints, st.text(max_size=12), st.from_regex(r"[a-zA-Z0-9.+ é\t@-]{0,6}@[a-z.@]{0,6}", fullmatch=True),
)
persons = st.one_of(
    st.fixed_dictionaries({"email": emails}), st.none(), st.just("ann@example.com"), st.lists(ints, max_size=1),
    st.fixed_dictionaries({"id": st.one_of(ints, odd_text, st.booleans(), st.just("12"), st.floats())}),
    st.fixed_dictionaries({"email": emails}, optional={"id": st.one_of(st.none(), ints, odd_text),
                                                       "externalId": st.one_of(st.none(), ints, odd_text),
                                                       "name": st.just("x")}),
)
moments = st.one_of(
    st.none(), ints, odd_text, st.just("2026-11-02T10:00:00Z"), st.just(" 2026-11-02T10:00:00+05:30 "),
    st.just("2026-11-02T10:00:00"), st.just("2026-11-02"), st.just("2026-13-02T10:00:00Z"),
    st.datetimes().map(lambda d: d.isoformat()), st.datetimes().map(lambda d: d.isoformat() + "Z"),
)
keys = st.one_of(st.none(), st.just(""), ints, st.booleans(), st.text(max_size=5), st.just("k" * 256),
                 st.just("k" * 255), st.floats(allow_nan=False))
field_values = st.one_of(st.none(), st.just({}), st.just({"amount": 1}), st.lists(ints, max_size=2),
                         st.just("x"))
PARTS: dict[str, st.SearchStrategy[Any]] = {
    "activityType": type_names, "person": persons, "occurredAt": moments, "primaryValue": st.just("Main"),
    "fields": field_values, "idempotencyKey": keys, "unexpected": st.just(1),
}
MISSING = object()
# A plain row with up to two parts replaced (or dropped): most stay plain, every shortcut's edge gets hit.
envelopes = st.lists(
    st.sampled_from(list(PARTS)).flatmap(lambda k: st.tuples(st.just(k), st.one_of(PARTS[k], st.just(MISSING)))),
    max_size=2,
).map(lambda changes: {k: v for k, v in {**PLAIN, **dict(changes)}.items() if v is not MISSING})


def _ref(person: str | int) -> PersonRef:
    return PersonRef(email=person) if isinstance(person, str) else PersonRef(id=person)


@RELAXED
@given(envelopes, st.sampled_from([None, "attendWebinar"]))
def test_a_plain_envelope_is_what_parse_object_gives(obj: dict[str, Any], default_type: str | None) -> None:
    obj = orjson.loads(orjson.dumps(obj))  # what the worker sees: JSON's own types
    plain = plain_envelope(obj, default_type)
    if plain is None:
        return
    general = parse_object(obj, 7, b"raw", default_type)
    assert isinstance(general, Envelope), (obj, plain, general)
    expected = (general.activity_type, general.person, general.occurred_at, general.primary_value, general.fields,
                general.idempotency_key)
    assert (plain[0], _ref(plain[1]), *plain[2:6]) == expected and not general.from_text
    assert plain[6] is None or plain[6] == general.occurred_at.isoformat()
    assert plain[2].tzinfo is not None and plain[2].utcoffset() == general.occurred_at.utcoffset()


EDGES: dict[str, list[Any]] = {
    "activityType": [None, "", 0, False, 7, "x", "depositCheck", "é"],
    "person": [None, "a@b.io", {}, {"email": None}, {"email": ""}, {"email": " "}, {"email": "@b.io"},
               {"email": "a@"}, {"email": "ab"}, {"email": "a\x7f@b"}, {"email": "a\t@b"}, {"email": "a b@c"},
               {"email": "é@b.io"}, {"email": " a@b.io "}, {"email": "a" * 250 + "@b.io"},
               {"email": "a" * 249 + "@b.io"},
               {"email": 5}, {"id": 5}, {"externalId": "x"}, {"email": "a@b.io", "id": None}, {"mail": "a@b.io"},
               {"id": 0}, {"id": -1}, {"id": 2**63 - 1}, {"id": 2**63}, {"id": "5"}, {"id": True}, {"id": 5.0},
               {"id": None}],
    "occurredAt": [None, "", " ", 5, "2026-11-02T10:00:00", "2026-11-02", " 2026-11-02T10:00:00Z ",
                   "2026-11-02T10:00:00-03:30", "2026-11-02T10:00:00.5Z", "2026-02-30T10:00:00Z", "nope"],
    "idempotencyKey": [None, "", 0, 7, True, 1.5, "k", "k" * 255, "k" * 256, [], {}],
    "fields": [None, {}, [], "x", 0, {"a": None}],
    "primaryValue": [None, "", 0, [], {"x": 1}],
    "unexpected": [1],
}


@pytest.mark.parametrize(("part", "value"), [(k, v) for k, vs in EDGES.items() for v in [*vs, MISSING]])
@pytest.mark.parametrize("default_type", [None, "attendWebinar"])
def test_each_edge_of_one_part_is_answered_alike(part: str, value: Any, default_type: str | None) -> None:
    obj = {k: v for k, v in {**PLAIN, part: value}.items() if v is not MISSING}
    plain = plain_envelope(obj, default_type)
    general = parse_object(obj, 7, b"raw", default_type)
    if plain is None:
        return
    assert isinstance(general, Envelope), (obj, plain, general)
    assert (plain[0], _ref(plain[1]), *plain[2:6]) == (
        general.activity_type, general.person, general.occurred_at, general.primary_value, general.fields,
        general.idempotency_key)
    assert plain[6] is None or plain[6] == general.occurred_at.isoformat()


def test_the_common_rows_take_the_plain_path() -> None:
    plain = plain_envelope(PLAIN, None)
    assert plain is not None and plain[1] == "ann@example.com" and plain[5] == "chk-1"
    zulu = plain_envelope({**PLAIN, "occurredAt": "2026-11-02T10:00:00.123000Z"}, None)
    assert zulu is not None and zulu[6] == "2026-11-02T10:00:00.123000+00:00"
    assert plain_envelope({**PLAIN, "idempotencyKey": None, "fields": None}, None) is not None
    by_id = plain_envelope({**PLAIN, "person": {"id": 5}}, None)  # the Marketo facade's and GraphQL's shape
    assert by_id is not None and by_id[1] == 5
    assert plain_envelope({**PLAIN, "person": {"externalId": "x"}}, None) is None  # externalIds: general path
    assert plain_envelope([PLAIN], None) is None


def _spec(kind: FieldDataType, low: float | None, high: float | None) -> FieldSpec:
    return FieldSpec("v", "V", kind, min_value=low, max_value=high)


GENERAL = {FieldDataType.INTEGER: lambda: _integer("p", False), FieldDataType.FLOAT: lambda: _float("p", False),
           FieldDataType.CURRENCY: lambda: _currency("p")}
bounds = st.one_of(st.none(), st.integers(min_value=-(2**64), max_value=2**64),
                   st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0, 0.5, -0.5, 2**63, 1e11]))
numbers = st.one_of(
    st.integers(), st.integers(min_value=-(2**64), max_value=2**64), st.floats(), st.booleans(), st.none(),
    st.sampled_from([0.1, 1e11, -1e11, 99999999999.9999, 2.0**53, 2**63 - 1, 2**63, 1e-5, 12.34567, math.inf]),
    st.text(max_size=4), st.decimals(places=4, allow_nan=False, allow_infinity=False).map(float),
)


@RELAXED
@given(st.sampled_from(list(GENERAL)), bounds, bounds, numbers)
def test_numeric_fast_paths_answer_like_the_full_check(
    kind: FieldDataType, low: float | None, high: float | None, value: Any
) -> None:
    spec = _spec(kind, low, high)
    full = with_range(GENERAL[kind](), spec, "p")
    fast = build_number_check(spec, "p", from_text=False)
    expected, got = full(value), fast(value)
    assert got == expected and type(got) is type(expected), (value, expected, got)


EDGE_NUMBERS = [0, 1, -1, 7, 2.0, -0.0, 0.5, 12.34567, 12.3456, 1e-5, 99999999999.9999, 1e11, -1e11, 10**11 - 1,
                10**11, 2**53, 2.0**53 + 2, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, math.inf, -math.inf, math.nan,
                True, False, None, "1", "1.5", [1]]
EDGE_BOUNDS = [(None, None), (0, None), (None, 100), (0.5, 10.5), (-(2**63), 2**63), (1e11, None), (None, -1)]


@pytest.mark.parametrize("kind", list(GENERAL))
@pytest.mark.parametrize(("low", "high"), EDGE_BOUNDS)
def test_numeric_fast_paths_on_edges(kind: FieldDataType, low: float | None, high: float | None) -> None:
    spec = _spec(kind, low, high)
    full = with_range(GENERAL[kind](), spec, "p")
    fast = build_number_check(spec, "p", from_text=False)
    for value in EDGE_NUMBERS:
        expected, got = full(value), fast(value)
        assert got == expected and type(got) is type(expected), (value, expected, got)


@pytest.mark.parametrize("kind", [FieldDataType.STRING, FieldDataType.EMAIL, FieldDataType.LINK])
@RELAXED
@given(data=st.data())
def test_allowed_values_shortcut_answers_like_the_full_check(kind: FieldDataType, data: st.DataObject) -> None:
    allowed = data.draw(st.lists(st.sampled_from(["USD", "a@b.io", "https://x.io", "x" * 300, "a\x00b", "é", " "]),
                                 min_size=1, max_size=4, unique=True))
    spec = FieldSpec("v", "V", kind, allowed_values=tuple(allowed), max_length=10 if kind is FieldDataType.STRING
                     else None)
    check = build_string_check(spec, "p", max_string_length=255, max_text_length=1000)
    base = build_string_check(FieldSpec("v", "V", kind, max_length=spec.max_length), "p", max_string_length=255,
                              max_text_length=1000)
    reference = _allowed_reference(base, spec)
    value = data.draw(st.one_of(st.sampled_from(allowed), st.text(max_size=4), st.integers(), st.none()))
    assert check(value) == reference(value)


def _allowed_reference(base: Any, spec: FieldSpec) -> Any:
    """with_allowed as it was before its shortcut: the full check on every value, then membership."""
    allowed = frozenset(spec.allowed_values or ())
    shown = ", ".join(sorted(allowed)[:10]) + (", ..." if len(allowed) > 10 else "")

    def check(value: Any) -> Any:
        result = base(value)
        if type(result) is Issue or result in allowed:
            return result
        return Issue(ErrorCode.NOT_ALLOWED, "p", f"{_short(result)!r} is not one of the allowed values: {shown}.")

    return check


utc_moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC))


def _spellings(moment: datetime) -> list[str]:
    iso = moment.isoformat().replace("+00:00", "Z")
    whole = moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return [iso, whole, whole[:19] + ".000000Z", iso.replace("T", "t"), iso.replace("T", " "), iso.replace(".", ","),
            iso.replace("Z", "+00:00"), iso.replace("Z", "+01:00"), iso[:-1], iso.replace("-", "", 1),
            moment.strftime("%G-W%V-%uT%H:%M:%S.%fZ"), iso[:23] + "Z", iso.lower()]


@RELAXED
@given(utc_moments, st.text(alphabet="0123456789-:TZ.+ tzW", max_size=28))
def test_utc_isoformat_is_what_isoformat_writes(moment: datetime, noise: str) -> None:
    hits = 0
    for text in [*_spellings(moment), noise]:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            continue
        derived = utc_isoformat(text)
        if derived is not None:
            hits += 1
            assert parsed.tzinfo is not None and derived == parsed.astimezone(UTC).isoformat(), text
    assert hits >= 2  # the Z forms isoformat writes (with and without a fraction) are always derived
