"""The validator compiler: an activity-type definition -> a fast function from raw record to normalised row.

Normalised forms (what `ValidatedRecord` holds; all JSON-serialisable and stable under re-validation):

- STRING / TEXT: the string unchanged; at most `maxLength` (default `max_string_length` / `max_text_length`)
  characters (code points). NUL characters and unencodable Unicode are refused (Postgres JSONB cannot store them).
- EMAIL: unchanged string, `local@domain.tld` (ASCII, local part <= 64, total <= 254).
- LINK: unchanged string, an absolute http(s) URL with a host, no whitespace, <= 2048 characters by default.
- PHONE: unchanged string of digits, spaces and `+ ( ) - . /` with 3 to 15 digits, optional `x123`/`ext 123`.
- BOOLEAN: `true`/`false`. JSON input must be a boolean; CSV text accepts true/false, 1/0, yes/no, y/n, t/f.
- INTEGER: int within signed 64-bit. JSON accepts integers and integral floats (42.0, up to 2**53); never
  booleans or strings. CSV text accepts "42", " -7 ", "+3".
- FLOAT: finite float; NaN and +-Infinity are refused. CSV text accepts decimal and exponent notation only
  (no "nan", "inf" or "1_000").
- CURRENCY: a JSON number (int when whole, else float) with at most 4 decimal places and an absolute value
  below 10**11. Within those bounds a double represents every amount exactly, so storing a number (which the
  timeline filters can compare numerically) loses nothing. Numbers and decimal strings ("120.50") are both
  accepted, in JSON as well as CSV; currency symbols, thousands separators and exponents are refused.
- DATE: "YYYY-MM-DD" (a valid calendar date).
- DATETIME: "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" in UTC. Input is ISO 8601 with `Z` or an offset (converted to
  UTC); fractions beyond microseconds are truncated; times without a timezone are refused.

Missing means absent or null (and "" for CSV cells). Missing required fields give REQUIRED; missing optional
fields are left out of `fields`. Field names match case-insensitively (a type cannot have two names that differ
only in case) and come out spelled as defined; unknown ones give UNKNOWN_FIELD. Issue paths are "primaryValue" and
"fields.<apiName>"; every issue of a record is reported, not only the first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.domain.activity_types import ActivityTypeDefinition, FieldDataType, FieldSpec
from app.domain.errors import ErrorCode, Issue
from app.domain.validators.base import Check
from app.domain.validators.numbers import build_number_check
from app.domain.validators.strings import build_string_check
from app.domain.validators.temporal import build_temporal_check

PRIMARY_PATH = "primaryValue"
_STRING_TYPES = frozenset(
    {FieldDataType.STRING, FieldDataType.TEXT, FieldDataType.EMAIL, FieldDataType.LINK, FieldDataType.PHONE}
)
_NUMBER_TYPES = frozenset({FieldDataType.BOOLEAN, FieldDataType.INTEGER, FieldDataType.FLOAT, FieldDataType.CURRENCY})


@dataclass(frozen=True, slots=True)
class ValidatedRecord:
    """A record that passed validation: normalised primary value and fields (only those present)."""

    primary_value: Any
    fields: dict[str, Any]


def field_path(api_name: object) -> str:
    return f"fields.{str(api_name)[:100]}"


def build_check(
    spec: FieldSpec, path: str, *, from_text: bool, max_string_length: int = 255, max_text_length: int = 65_536
) -> Check:
    """The check for one field: raw present value -> normalised value or Issue."""
    if spec.data_type in _STRING_TYPES:
        return build_string_check(spec, path, max_string_length=max_string_length, max_text_length=max_text_length)
    if spec.data_type in _NUMBER_TYPES:
        return build_number_check(spec, path, from_text=from_text)
    return build_temporal_check(spec, path)


class RecordValidator:
    """Validates records of one definition; built once per approved version, reused for millions of rows."""

    __slots__ = (
        "_folded",
        "_json_checks",
        "_primary_json",
        "_primary_name",
        "_primary_required",
        "_primary_text",
        "_required",
        "_text_checks",
        "definition",
    )

    def __init__(self, definition: ActivityTypeDefinition, *, max_string_length: int, max_text_length: int) -> None:
        self.definition = definition
        limits = {"max_string_length": max_string_length, "max_text_length": max_text_length}
        primary = definition.primary_field
        self._primary_json = build_check(primary, PRIMARY_PATH, from_text=False, **limits)
        self._primary_text = build_check(primary, PRIMARY_PATH, from_text=True, **limits)
        self._primary_required = primary.required
        self._primary_name = primary.api_name
        self._json_checks = {
            f.api_name: build_check(f, field_path(f.api_name), from_text=False, **limits) for f in definition.fields
        }
        self._text_checks = {
            f.api_name: build_check(f, field_path(f.api_name), from_text=True, **limits) for f in definition.fields
        }
        self._required = tuple(f.api_name for f in definition.fields if f.required)
        self._folded = {f.api_name.lower(): f.api_name for f in definition.fields}

    def validate(
        self, primary_value: object, fields: Mapping[str, object] | None, *, from_text: bool = False
    ) -> ValidatedRecord | list[Issue]:
        """The normalised record, or every issue found. Never raises on any input."""
        checked = self.normalise(primary_value, fields, from_text)
        return checked if type(checked) is list else ValidatedRecord(*checked)

    def normalise(
        self, primary_value: object, fields: Mapping[str, object] | None, from_text: bool = False
    ) -> tuple[Any, dict[str, Any]] | list[Issue]:
        """`validate` as a plain (primary value, fields) pair: no record object for the bulk path."""
        issues: list[Issue] = []
        primary: Any = None
        if primary_value is None or (from_text and primary_value == ""):
            if self._primary_required:
                issues.append(Issue(ErrorCode.REQUIRED, PRIMARY_PATH, "The primary value is required."))
        else:
            primary = (self._primary_text if from_text else self._primary_json)(primary_value)
            if type(primary) is Issue:
                issues.append(primary)
        out: dict[str, Any] = {}
        if fields is not None and type(fields) is not dict and not isinstance(fields, Mapping):
            issues.append(Issue(ErrorCode.WRONG_TYPE, "fields", "Expected an object of field values."))
            fields = None
        failed: set[str] = set()
        if fields:
            checks = self._text_checks if from_text else self._json_checks
            for name, value in fields.items():
                check = checks.get(name)
                if check is None:  # slow path: names match case-insensitively, like the type's uniqueness rule
                    canonical = self._folded.get(name.lower()) if type(name) is str else None
                    if canonical is None or canonical in out or canonical in failed:
                        issues.append(self._unknown(name, canonical))
                        continue
                    name, check = canonical, checks[canonical]
                if value is not None and not (from_text and value == ""):
                    result = check(value)
                    if type(result) is Issue:
                        issues.append(result)
                        failed.add(name)
                    else:
                        out[name] = result
        for name in self._required:
            if name not in out and name not in failed:
                issues.append(Issue(ErrorCode.REQUIRED, field_path(name), f"Field '{name}' is required."))
        if issues:
            return issues
        return primary, out

    def _unknown(self, name: object, duplicate_of: str | None = None) -> Issue:
        if duplicate_of is not None:
            message = f"'{name}' repeats field '{duplicate_of}' (field names are case-insensitive)."
        elif isinstance(name, str) and name.lower() == self._primary_name.lower():
            message = f"'{name}' is the primary field; send its value as primaryValue."
        else:
            names = list(self._json_checks)
            known = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "") if names else "none"
            message = f"Unknown field '{str(name)[:100]}' for type '{self.definition.api_name}' (fields: {known})."
        return Issue(ErrorCode.UNKNOWN_FIELD, field_path(name), message)


def compile_validator(
    definition: ActivityTypeDefinition, *, max_string_length: int = 255, max_text_length: int = 65_536
) -> RecordValidator:
    """Precompute one check closure per field (JSON and CSV-text flavours) so validation does no reflection."""
    return RecordValidator(definition, max_string_length=max_string_length, max_text_length=max_text_length)
