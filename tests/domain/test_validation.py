"""The compiled validator, table-driven per data type: accepted inputs and their normal forms, refusals and codes."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.activity_types import ActivityTypeDefinition, FieldDataType, FieldSpec
from app.domain.errors import ErrorCode, Issue
from app.domain.validation import ValidatedRecord, compile_validator

T = FieldDataType


def one_field(data_type: FieldDataType, **constraints: Any) -> ActivityTypeDefinition:
    return ActivityTypeDefinition(
        api_name="t",
        name="T",
        trigger_name="Does T",
        filter_name="Did T",
        primary_field=FieldSpec("p", "P", T.STRING),
        fields=(FieldSpec("v", "V", data_type, **constraints),),
    )


def check(data_type: FieldDataType, value: object, *, from_text: bool = False, **constraints: Any) -> Any:
    """The normalised value, or the issue code."""
    result = compile_validator(one_field(data_type, **constraints)).validate(None, {"v": value}, from_text=from_text)
    if isinstance(result, list):
        assert len(result) == 1 and result[0].field == "fields.v", result
        return result[0].code
    return result.fields["v"]


ACCEPTED: list[tuple[FieldDataType, object, bool, object]] = [
    (T.STRING, "hello", False, "hello"),
    (T.STRING, " spaced ", True, " spaced "),
    (T.STRING, "é" * 255, False, "é" * 255),
    (T.TEXT, "x" * 10_000, False, "x" * 10_000),
    (T.BOOLEAN, True, False, True),
    (T.BOOLEAN, False, False, False),
    (T.BOOLEAN, "true", True, True),
    (T.BOOLEAN, "1", True, True),
    (T.BOOLEAN, " YES ", True, True),
    (T.BOOLEAN, "false", True, False),
    (T.BOOLEAN, "0", True, False),
    (T.BOOLEAN, True, True, True),
    (T.INTEGER, 42, False, 42),
    (T.INTEGER, -(2**63), False, -(2**63)),
    (T.INTEGER, 2**63 - 1, False, 2**63 - 1),
    (T.INTEGER, 42.0, False, 42),
    (T.INTEGER, "42", True, 42),
    (T.INTEGER, " -7 ", True, -7),
    (T.INTEGER, "+3", True, 3),
    (T.INTEGER, "9223372036854775807", True, 2**63 - 1),
    (T.FLOAT, 1.5, False, 1.5),
    (T.FLOAT, 3, False, 3.0),
    (T.FLOAT, "1e3", True, 1000.0),
    (T.FLOAT, "-.5", True, -0.5),
    (T.CURRENCY, 120.5, False, 120.5),
    (T.CURRENCY, 12, False, 12),
    (T.CURRENCY, "120.50", False, 120.5),
    (T.CURRENCY, "0.0001", True, 0.0001),
    (T.CURRENCY, "99999999999.9999", True, 99999999999.9999),
    (T.CURRENCY, "100.000000", True, 100),
    (T.CURRENCY, 1e10, False, 10_000_000_000),
    (T.DATE, "2024-02-29", False, "2024-02-29"),
    (T.DATE, "2026-11-02", True, "2026-11-02"),
    (T.DATETIME, "2026-11-02T10:00:00Z", False, "2026-11-02T10:00:00Z"),
    (T.DATETIME, "2026-11-02T11:00:00+01:00", False, "2026-11-02T10:00:00Z"),
    (T.DATETIME, "2026-11-02T05:30:00-04:30", False, "2026-11-02T10:00:00Z"),
    (T.DATETIME, "2026-11-02 10:00Z", True, "2026-11-02T10:00:00Z"),
    (T.DATETIME, "2026-11-02T10:00:00.5Z", False, "2026-11-02T10:00:00.500000Z"),
    (T.DATETIME, "2026-11-02T10:00:00.123456789+0000", False, "2026-11-02T10:00:00.123456Z"),
    (T.DATETIME, "2026-01-01T00:30:00+01:00", False, "2025-12-31T23:30:00Z"),
    (T.DATETIME, "2026-11-02T10:00:00.000000Z", False, "2026-11-02T10:00:00Z"),
    (T.EMAIL, "ann.o'neil+tag@mail.example.com", False, "ann.o'neil+tag@mail.example.com"),
    (T.LINK, "https://example.com/a?b=c#d", False, "https://example.com/a?b=c#d"),
    (T.LINK, "http://localhost:8000/x", False, "http://localhost:8000/x"),
    (T.PHONE, "+1 (555) 123-4567", False, "+1 (555) 123-4567"),
    (T.PHONE, "555.123.4567 ext 89", False, "555.123.4567 ext 89"),
]


@pytest.mark.parametrize(("data_type", "value", "from_text", "normal"), ACCEPTED)
def test_accepted_values_normalise(data_type: FieldDataType, value: object, from_text: bool, normal: object) -> None:
    result = check(data_type, value, from_text=from_text)
    assert result == normal and type(result) is type(normal)


REFUSED: list[tuple[FieldDataType, object, bool, ErrorCode]] = [
    (T.STRING, 42, False, ErrorCode.WRONG_TYPE),
    (T.STRING, "x" * 256, False, ErrorCode.TOO_LONG),
    (T.STRING, "a\x00b", False, ErrorCode.INVALID_VALUE),
    (T.STRING, "\ud800", False, ErrorCode.INVALID_VALUE),
    (T.STRING, ["a"], False, ErrorCode.WRONG_TYPE),
    (T.TEXT, "x" * 65_537, False, ErrorCode.TOO_LONG),
    (T.BOOLEAN, 1, False, ErrorCode.WRONG_TYPE),
    (T.BOOLEAN, "true", False, ErrorCode.WRONG_TYPE),
    (T.BOOLEAN, "maybe", True, ErrorCode.WRONG_TYPE),
    (T.INTEGER, True, False, ErrorCode.WRONG_TYPE),
    (T.INTEGER, "42", False, ErrorCode.WRONG_TYPE),
    (T.INTEGER, 2**63, False, ErrorCode.OUT_OF_RANGE),
    (T.INTEGER, -(2**63) - 1, False, ErrorCode.OUT_OF_RANGE),
    (T.INTEGER, "9223372036854775808", True, ErrorCode.OUT_OF_RANGE),
    (T.INTEGER, "9" * 5000, True, ErrorCode.OUT_OF_RANGE),
    (T.INTEGER, 1.5, False, ErrorCode.INVALID_NUMBER),
    (T.INTEGER, float("nan"), False, ErrorCode.INVALID_NUMBER),
    (T.INTEGER, 1e300, False, ErrorCode.OUT_OF_RANGE),
    (T.INTEGER, "4.0", True, ErrorCode.INVALID_NUMBER),
    (T.INTEGER, "1_000", True, ErrorCode.INVALID_NUMBER),
    (T.FLOAT, float("nan"), False, ErrorCode.INVALID_NUMBER),
    (T.FLOAT, float("inf"), False, ErrorCode.INVALID_NUMBER),
    (T.FLOAT, float("-inf"), False, ErrorCode.INVALID_NUMBER),
    (T.FLOAT, "NaN", True, ErrorCode.INVALID_NUMBER),
    (T.FLOAT, "Infinity", True, ErrorCode.INVALID_NUMBER),
    (T.FLOAT, "1e999", True, ErrorCode.OUT_OF_RANGE),
    (T.FLOAT, 10**400, False, ErrorCode.OUT_OF_RANGE),
    (T.FLOAT, False, False, ErrorCode.WRONG_TYPE),
    (T.FLOAT, "1.5", False, ErrorCode.WRONG_TYPE),
    (T.CURRENCY, 0.00001, False, ErrorCode.INVALID_CURRENCY),
    (T.CURRENCY, 0.1 + 0.2, False, ErrorCode.INVALID_CURRENCY),
    (T.CURRENCY, "$12", False, ErrorCode.INVALID_CURRENCY),
    (T.CURRENCY, "1,000.00", True, ErrorCode.INVALID_CURRENCY),
    (T.CURRENCY, "1e5", True, ErrorCode.INVALID_CURRENCY),
    (T.CURRENCY, float("nan"), False, ErrorCode.INVALID_CURRENCY),
    (T.CURRENCY, float("inf"), False, ErrorCode.INVALID_CURRENCY),
    (T.CURRENCY, 10**11, False, ErrorCode.OUT_OF_RANGE),
    (T.CURRENCY, "1" + "0" * 60, True, ErrorCode.OUT_OF_RANGE),
    (T.CURRENCY, True, False, ErrorCode.WRONG_TYPE),
    (T.DATE, "2023-02-29", False, ErrorCode.INVALID_DATE),
    (T.DATE, "2026-11-02T10:00:00Z", False, ErrorCode.INVALID_DATE),
    (T.DATE, "02/11/2026", True, ErrorCode.INVALID_DATE),
    (T.DATE, 20261102, False, ErrorCode.WRONG_TYPE),
    (T.DATETIME, "2026-11-02T10:00:00", False, ErrorCode.INVALID_DATE),
    (T.DATETIME, "2026-11-02", False, ErrorCode.INVALID_DATE),
    (T.DATETIME, "2026-13-02T10:00:00Z", False, ErrorCode.INVALID_DATE),
    (T.DATETIME, "2026-11-02T24:00:00Z", False, ErrorCode.INVALID_DATE),
    (T.DATETIME, "2026-11-02T10:00:60Z", False, ErrorCode.INVALID_DATE),
    (T.DATETIME, "2026-11-02T10:00:00+24:00", False, ErrorCode.INVALID_DATE),
    (T.DATETIME, "0001-01-01T00:30:00+01:00", False, ErrorCode.INVALID_DATE),
    (T.DATETIME, "9999-12-31T23:30:00-01:00", False, ErrorCode.INVALID_DATE),
    (T.DATETIME, 1_700_000_000, False, ErrorCode.WRONG_TYPE),
    (T.DATETIME, "yesterday", True, ErrorCode.INVALID_DATE),
    (T.EMAIL, "ann@example", False, ErrorCode.INVALID_EMAIL),
    (T.EMAIL, "ann example.com", False, ErrorCode.INVALID_EMAIL),
    (T.EMAIL, "a..b@example.com", False, ErrorCode.INVALID_EMAIL),
    (T.EMAIL, "x" * 65 + "@example.com", False, ErrorCode.INVALID_EMAIL),
    (T.EMAIL, "a@" + "b" * 250 + ".com", False, ErrorCode.TOO_LONG),
    (T.LINK, "example.com", False, ErrorCode.INVALID_URL),
    (T.LINK, "javascript:alert(1)", False, ErrorCode.INVALID_URL),
    (T.LINK, "ftp://example.com/x", False, ErrorCode.INVALID_URL),
    (T.LINK, "https://exa mple.com", False, ErrorCode.INVALID_URL),
    (T.LINK, "http://[::1", False, ErrorCode.INVALID_URL),
    (T.LINK, "https://e.com/" + "a" * 2048, False, ErrorCode.TOO_LONG),
    (T.PHONE, "12", False, ErrorCode.INVALID_PHONE),
    (T.PHONE, "call me", False, ErrorCode.INVALID_PHONE),
    (T.PHONE, "1" * 16, False, ErrorCode.INVALID_PHONE),
]


@pytest.mark.parametrize(("data_type", "value", "from_text", "code"), REFUSED)
def test_refused_values(data_type: FieldDataType, value: object, from_text: bool, code: ErrorCode) -> None:
    assert check(data_type, value, from_text=from_text) == code


@pytest.mark.parametrize(
    ("data_type", "constraints", "value", "expected"),
    [
        (T.STRING, {"max_length": 3}, "abc", "abc"),
        (T.STRING, {"max_length": 3}, "abcd", ErrorCode.TOO_LONG),
        (T.STRING, {"allowed_values": ("USD", "EUR")}, "EUR", "EUR"),
        (T.STRING, {"allowed_values": ("USD", "EUR")}, "usd", ErrorCode.NOT_ALLOWED),
        (T.INTEGER, {"min_value": 0, "max_value": 10}, 10, 10),
        (T.INTEGER, {"min_value": 0, "max_value": 10}, -1, ErrorCode.OUT_OF_RANGE),
        (T.FLOAT, {"max_value": 1.5}, 1.6, ErrorCode.OUT_OF_RANGE),
        (T.CURRENCY, {"min_value": 0}, "-0.01", ErrorCode.OUT_OF_RANGE),
        (T.TEXT, {"max_length": 5}, "abcdef", ErrorCode.TOO_LONG),
        (T.EMAIL, {"allowed_values": ("a@b.co",)}, "c@b.co", ErrorCode.NOT_ALLOWED),
    ],
)
def test_constraints(data_type: FieldDataType, constraints: dict[str, Any], value: object, expected: object) -> None:
    assert check(data_type, value, **constraints) == expected


def deposit() -> ActivityTypeDefinition:
    return ActivityTypeDefinition(
        api_name="depositCheck",
        name="Deposit Check",
        trigger_name="Deposits a Check",
        filter_name="Deposited a Check",
        primary_field=FieldSpec("branch", "Branch", T.STRING, required=True),
        fields=(
            FieldSpec("amount", "Amount", T.CURRENCY, required=True),
            FieldSpec("currency", "Currency", T.STRING),
            FieldSpec("cleared", "Cleared", T.BOOLEAN),
        ),
    )


def test_record_level_rules() -> None:
    validator = compile_validator(deposit())
    ok = validator.validate("Main St", {"amount": 120.5, "currency": "USD", "cleared": None})
    assert ok == ValidatedRecord("Main St", {"amount": 120.5, "currency": "USD"})
    issues = validator.validate(None, {"amount": None, "colour": "red", "branch": "x"})
    assert isinstance(issues, list)
    assert [(i.code, i.field) for i in issues] == [
        (ErrorCode.REQUIRED, "primaryValue"),
        (ErrorCode.UNKNOWN_FIELD, "fields.colour"),
        (ErrorCode.UNKNOWN_FIELD, "fields.branch"),
        (ErrorCode.REQUIRED, "fields.amount"),
    ]
    assert "primaryValue" in issues[2].message and "amount, currency, cleared" in issues[1].message
    assert validator.validate("x", ["amount"]) == [  # type: ignore[arg-type]
        Issue(ErrorCode.WRONG_TYPE, "fields", "Expected an object of field values."),
        Issue(ErrorCode.REQUIRED, "fields.amount", "Field 'amount' is required."),
    ]
    # A wrong value for a required field is reported once, as what it is, not also as missing.
    wrong = validator.validate("x", {"amount": "lots"})
    assert isinstance(wrong, list) and [i.code for i in wrong] == [ErrorCode.INVALID_CURRENCY]


def test_text_mode_treats_empty_cells_as_missing() -> None:
    validator = compile_validator(deposit())
    result = validator.validate("Main", {"amount": "10.25", "currency": "", "cleared": "yes"}, from_text=True)
    assert result == ValidatedRecord("Main", {"amount": 10.25, "cleared": True})
    missing = validator.validate("", {"amount": ""}, from_text=True)
    assert isinstance(missing, list) and [i.field for i in missing] == ["primaryValue", "fields.amount"]
    # In JSON an empty string is a value, checked as such.
    assert compile_validator(deposit()).validate("", {"amount": 1}) == ValidatedRecord("", {"amount": 1})


def test_limits_come_from_settings() -> None:
    strict = compile_validator(one_field(T.STRING), max_string_length=5)
    assert isinstance(strict.validate(None, {"v": "abcdef"}), list)
    text = compile_validator(one_field(T.TEXT), max_text_length=3)
    assert isinstance(text.validate(None, {"v": "abcd"}), list)


def test_field_names_match_case_insensitively() -> None:
    validator = compile_validator(deposit())
    result = validator.validate("Main", {"AMOUNT": 5, "Currency": "USD"})
    assert result == ValidatedRecord("Main", {"amount": 5, "currency": "USD"})
    twice = validator.validate("Main", {"amount": 5, "Amount": 6})
    assert isinstance(twice, list) and [(i.code, i.field) for i in twice] == [
        (ErrorCode.UNKNOWN_FIELD, "fields.Amount")
    ]
    assert "case-insensitive" in twice[0].message
    bad = validator.validate("Main", {"AMOUNT": "lots"})
    assert isinstance(bad, list) and [(i.code, i.field) for i in bad] == [(ErrorCode.INVALID_CURRENCY, "fields.amount")]
