"""Property tests of the validator: valid values pass and normalise idempotently, junk never raises."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.activity_types import ActivityTypeDefinition, FieldDataType, FieldSpec
from app.domain.errors import ErrorCode, Issue
from app.domain.validation import RecordValidator, ValidatedRecord, compile_validator

T = FieldDataType
ALL_TYPES = list(FieldDataType)


def validator_for(data_type: FieldDataType, **constraints: Any) -> RecordValidator:
    return compile_validator(
        ActivityTypeDefinition(
            api_name="t",
            name="T",
            trigger_name="Does T",
            filter_name="Did T",
            primary_field=FieldSpec("p", "P", data_type),
            fields=(FieldSpec("v", "V", data_type, **constraints),),
        )
    )


VALIDATORS = {t: validator_for(t) for t in ALL_TYPES}

offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
aware = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=offsets
)
VALID: dict[FieldDataType, st.SearchStrategy[Any]] = {
    T.STRING: st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=255),
    T.TEXT: st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=500),
    T.BOOLEAN: st.booleans(),
    T.INTEGER: st.integers(min_value=-(2**63), max_value=2**63 - 1),
    T.FLOAT: st.floats(allow_nan=False, allow_infinity=False),
    T.CURRENCY: st.decimals(
        min_value=Decimal("-99999999999.9999"), max_value=Decimal("99999999999.9999"), places=4
    ).flatmap(lambda d: st.sampled_from([str(d), float(d)])),
    T.DATE: st.dates().map(lambda d: d.isoformat()),
    T.DATETIME: aware.map(lambda d: d.isoformat()),
    T.EMAIL: st.from_regex(r"[a-z0-9._%+-]{1,20}@[a-z0-9]{1,20}\.[a-z]{2,6}", fullmatch=True).filter(
        lambda e: ".." not in e and not e.startswith(".") and ".@" not in e
    ),
    T.LINK: st.from_regex(r"https?://[a-z0-9]{1,20}(\.[a-z]{2,6})?(/[a-zA-Z0-9_\-]{0,20}){0,3}", fullmatch=True),
    T.PHONE: st.from_regex(r"\+?[0-9]{3,15}", fullmatch=True),
}

def to_cell(value: object) -> str:
    """How a CSV writer renders a normalised value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(),
    st.binary().map(lambda b: b.decode("latin-1")),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)),
    max_leaves=10,
)


# The machine runs several suites at once: timing health checks would fail on load, not on bugs.
RELAXED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("data_type", ALL_TYPES)
@RELAXED
@given(data=st.data())
def test_valid_values_pass_and_normalise_idempotently(data_type: FieldDataType, data: st.DataObject) -> None:
    value = data.draw(VALID[data_type])
    validator = VALIDATORS[data_type]
    first = validator.validate(value, {"v": value})
    assert isinstance(first, ValidatedRecord), (data_type, value, first)
    assert first.primary_value == first.fields["v"]
    again = validator.validate(first.primary_value, first.fields)
    assert again == first
    # CSV text of the normal form (as a writer would produce it) reads back the same.
    normal = first.fields["v"]
    cell = to_cell(normal)
    from_text = validator.validate(cell, {"v": cell}, from_text=True)
    if cell or data_type not in (T.STRING, T.TEXT):  # an empty CSV cell means "missing"
        assert isinstance(from_text, ValidatedRecord) and from_text.fields["v"] == normal, (cell, from_text)


@settings(RELAXED, max_examples=300)
@given(st.sampled_from(ALL_TYPES), json_values, st.booleans())
def test_junk_never_raises(data_type: FieldDataType, junk: Any, from_text: bool) -> None:
    validator = VALIDATORS[data_type]
    for fields in ({"v": junk}, junk, {"other": junk}):
        result = validator.validate(junk, fields, from_text=from_text)
        assert isinstance(result, ValidatedRecord) or (
            isinstance(result, list) and result and all(isinstance(i, Issue) for i in result)
        )


@RELAXED
@given(st.sampled_from([T.INTEGER, T.FLOAT, T.CURRENCY]), st.sampled_from([math.nan, math.inf, -math.inf]))
def test_nan_and_infinity_refused(data_type: FieldDataType, value: float) -> None:
    result = VALIDATORS[data_type].validate(None, {"v": value})
    assert isinstance(result, list) and result[0].code in (ErrorCode.INVALID_NUMBER, ErrorCode.INVALID_CURRENCY)
    text = VALIDATORS[data_type].validate(None, {"v": str(value)}, from_text=True)
    assert isinstance(text, list)


@RELAXED
@given(st.one_of(st.integers(min_value=2**63), st.integers(max_value=-(2**63) - 1)), st.booleans())
def test_out_of_range_integers_refused(value: int, as_text: bool) -> None:
    raw: object = str(value) if as_text else value
    result = VALIDATORS[T.INTEGER].validate(None, {"v": raw}, from_text=as_text)
    assert isinstance(result, list) and result[0].code is ErrorCode.OUT_OF_RANGE


@RELAXED
@given(aware)
def test_offsets_are_normalised_to_utc(moment: datetime) -> None:
    result = VALIDATORS[T.DATETIME].validate(None, {"v": moment.isoformat()})
    assert isinstance(result, ValidatedRecord)
    normal = result.fields["v"]
    assert normal.endswith("Z")
    assert datetime.fromisoformat(normal) == moment.astimezone(UTC)


@RELAXED
@given(st.integers(min_value=-(2**53), max_value=2**53), st.integers(min_value=-(2**53), max_value=2**53))
def test_integer_range_constraints(value: int, bound: int) -> None:
    result = validator_for(T.INTEGER, max_value=bound).validate(None, {"v": value})
    assert isinstance(result, ValidatedRecord) == (value <= bound)
