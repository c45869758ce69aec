"""Checks for BOOLEAN, INTEGER, FLOAT and CURRENCY, in JSON mode (strict) and text mode (CSV cells)."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from app.domain.activity_types import FieldDataType, FieldSpec
from app.domain.errors import ErrorCode, Issue
from app.domain.validators.base import MAX_NUMBER_TEXT, Check, with_range, wrong_type

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Largest exact integer a float holds; integral floats beyond it are refused for INTEGER (precision lost).
FLOAT_EXACT_MAX = 2**53
CURRENCY_DECIMALS = 4
# 11 integer digits + 4 decimals = 15 significant digits: every such amount round-trips exactly through
# a JSON number (IEEE double), so storing currency as a number loses nothing.
CURRENCY_LIMIT = Decimal(10) ** 11
_FLOAT_LIMIT = float(CURRENCY_LIMIT)
_QUANTUM = Decimal(1).scaleb(-CURRENCY_DECIMALS)

TRUE_WORDS = frozenset({"true", "1", "yes", "y", "t"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "f"})
_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_CURRENCY_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")


def _boolean(path: str, from_text: bool) -> Check:
    def check(value: Any) -> Any:
        if value is True or value is False:
            return value
        if from_text and type(value) is str:
            word = value.strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            return Issue(ErrorCode.WRONG_TYPE, path, f"{value[:40]!r} is not a boolean (true/false, 1/0, yes/no).")
        return wrong_type(path, "a boolean", value)

    return check


def _int_in_range(number: int, path: str) -> Any:
    if INT64_MIN <= number <= INT64_MAX:
        return number
    return Issue(ErrorCode.OUT_OF_RANGE, path, "Integer outside the signed 64-bit range.")


def _integer(path: str, from_text: bool) -> Check:
    def check(value: Any) -> Any:
        kind = type(value)
        if kind is int:
            return _int_in_range(value, path)
        if kind is float:
            if not math.isfinite(value):
                return Issue(ErrorCode.INVALID_NUMBER, path, "NaN and Infinity are not numbers.")
            if not value.is_integer():
                return Issue(ErrorCode.INVALID_NUMBER, path, f"{value!r} is not a whole number.")
            if abs(value) > FLOAT_EXACT_MAX:
                return Issue(ErrorCode.OUT_OF_RANGE, path, "Integer too large to be exact; send it without a '.0'.")
            return int(value)
        if from_text and kind is str:
            text = value.strip()
            if len(text) <= MAX_NUMBER_TEXT and _INT_TEXT.fullmatch(text):
                return _int_in_range(int(text), path)
            if _INT_TEXT.fullmatch(text):
                return Issue(ErrorCode.OUT_OF_RANGE, path, "Integer outside the signed 64-bit range.")
            return Issue(ErrorCode.INVALID_NUMBER, path, f"{value[:40]!r} is not an integer.")
        return wrong_type(path, "an integer", value)

    return check


def _float(path: str, from_text: bool) -> Check:
    def check(value: Any) -> Any:
        kind = type(value)
        if kind is float:
            if math.isfinite(value):
                return value
            return Issue(ErrorCode.INVALID_NUMBER, path, "NaN and Infinity are not numbers.")
        if kind is int:
            try:
                return float(value)
            except OverflowError:
                return Issue(ErrorCode.OUT_OF_RANGE, path, "Number too large for a float.")
        if from_text and kind is str:
            text = value.strip()
            if len(text) > MAX_NUMBER_TEXT or _DECIMAL_TEXT.fullmatch(text) is None:
                return Issue(ErrorCode.INVALID_NUMBER, path, f"{value[:40]!r} is not a number.")
            number = float(text)
            if not math.isfinite(number):
                return Issue(ErrorCode.OUT_OF_RANGE, path, "Number too large for a float.")
            return number
        return wrong_type(path, "a number", value)

    return check


def _currency_from_decimal(amount: Decimal, path: str) -> Any:
    exponent = amount.as_tuple().exponent
    if not isinstance(exponent, int):  # NaN / Infinity
        return Issue(ErrorCode.INVALID_CURRENCY, path, "NaN and Infinity are not amounts.")
    # Magnitude first: quantize() on a huge amount would exceed the decimal context's precision.
    if abs(amount) >= CURRENCY_LIMIT:
        return Issue(ErrorCode.OUT_OF_RANGE, path, "Amount must be below 100,000,000,000 in absolute value.")
    if exponent < -CURRENCY_DECIMALS and amount != amount.quantize(_QUANTUM):
        return Issue(ErrorCode.INVALID_CURRENCY, path, f"At most {CURRENCY_DECIMALS} decimal places allowed.")
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount)


def _currency(path: str) -> Check:
    # Strings are accepted in JSON too: money is commonly sent as a decimal string to avoid float noise.
    def check(value: Any) -> Any:
        kind = type(value)
        if kind is int:
            if abs(value) >= CURRENCY_LIMIT:
                return Issue(ErrorCode.OUT_OF_RANGE, path, "Amount must be below 100,000,000,000 in absolute value.")
            return value
        if kind is float:
            # Fast path: round() is correctly rounded, so equality means the value has <= 4 decimals.
            if -_FLOAT_LIMIT < value < _FLOAT_LIMIT and round(value, CURRENCY_DECIMALS) == value:
                return int(value) if value.is_integer() else value
            if not math.isfinite(value):
                return Issue(ErrorCode.INVALID_CURRENCY, path, "NaN and Infinity are not amounts.")
            return _currency_from_decimal(Decimal(repr(value)), path)
        if kind is str:
            text = value.strip()
            if len(text) > MAX_NUMBER_TEXT or _CURRENCY_TEXT.fullmatch(text) is None:
                return Issue(
                    ErrorCode.INVALID_CURRENCY, path, f"{value[:40]!r} is not an amount (digits, optional '.')."
                )
            # Fast path: few enough digits that a float holds the amount exactly.
            whole, _, fraction = text.lstrip("+-").partition(".")
            if len(fraction.rstrip("0")) <= CURRENCY_DECIMALS and len(whole.lstrip("0")) <= 11:
                number = float(text)
                return number if fraction.rstrip("0") else int(number)
            try:
                return _currency_from_decimal(Decimal(text), path)
            except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
                return Issue(ErrorCode.INVALID_CURRENCY, path, f"{value[:40]!r} is not an amount.")
        return wrong_type(path, "an amount (number or decimal string)", value)

    return check


def build_number_check(spec: FieldSpec, path: str, *, from_text: bool) -> Check:
    """The check for one BOOLEAN/INTEGER/FLOAT/CURRENCY field; min/max apply to the numeric kinds."""
    kind = spec.data_type
    if kind is FieldDataType.BOOLEAN:
        return _boolean(path, from_text)
    if kind is FieldDataType.INTEGER:
        check = _integer(path, from_text)
    elif kind is FieldDataType.FLOAT:
        check = _float(path, from_text)
    elif kind is FieldDataType.CURRENCY:
        check = _currency(path)
    else:  # pragma: no cover - dispatch in validation.py only sends numeric types here
        raise ValueError(f"not a numeric type: {kind}")
    return _with_fast_path(with_range(check, spec, path), spec)


def _with_fast_path(check: Check, spec: FieldSpec) -> Check:
    """One call for the common JSON value (an int, or a float already in normal form) inside the range;
    anything else goes through `check`, which gives the same answer for these (tests/domain compare them)."""
    low = -math.inf if spec.min_value is None else spec.min_value
    high = math.inf if spec.max_value is None else spec.max_value
    kind = spec.data_type
    if kind is FieldDataType.INTEGER:
        int_low, int_high = max(low, INT64_MIN), min(high, INT64_MAX)

        def integer(value: Any) -> Any:
            if type(value) is int and int_low <= value <= int_high:
                return value
            return check(value)

        return integer
    if kind is FieldDataType.FLOAT:

        def real(value: Any) -> Any:
            if type(value) is float and low <= value <= high and -math.inf < value < math.inf:
                return value
            return check(value)

        return real
    limit = int(CURRENCY_LIMIT)

    def currency(value: Any) -> Any:
        kind = type(value)
        if kind is int and -limit < value < limit and low <= value <= high:
            return value
        if (kind is float and low <= value <= high and -_FLOAT_LIMIT < value < _FLOAT_LIMIT
                and round(value, CURRENCY_DECIMALS) == value):
            return int(value) if value.is_integer() else value
        return check(value)

    return currency
