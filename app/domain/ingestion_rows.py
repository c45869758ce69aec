"""Envelope parsing: one JSON object, JSONL line or CSV record -> an Envelope or a typed row failure.

The envelope is what every activity carries besides its typed values: activityType, a person reference
(id, email or externalId), occurredAt, primaryValue, fields and an optional idempotencyKey. The typed
values are checked later by the activity type's compiled validator; here we only check the shape.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from app.domain.emails import email_issue, plain_email
from app.domain.errors import ErrorCode, Issue
from app.domain.ingestion import RawRow, utc_isoformat
from app.domain.json_keys import may_repeat_keys, repeated_key_issue
from app.domain.text import storable, unstorable_issue, unstorable_path
from app.domain.validators.temporal import utc_instant

MAX_KEY_LENGTH = 255
ENVELOPE_KEYS = frozenset({"activityType", "person", "occurredAt", "primaryValue", "fields", "idempotencyKey"})
PERSON_KEYS = frozenset({"id", "email", "externalId"})
EXPORTED_KEYS = frozenset({"id", "personId", "typeVersion", "ingestedAt"})
"""Read-only keys of an exported activity (exportActivities JSONL): accepted and ignored, so an export imports as
it is; the new database gives its own ids, type version and ingestion time."""
CSV_COLUMNS = ("activityType", "personId", "personEmail", "personExternalId", "occurredAt", "primaryValue",
               "idempotencyKey")
_CSV_ENVELOPE = frozenset(CSV_COLUMNS)
_INT64_MAX = 2**63 - 1
MIN_PLAIN_YEAR, MAX_PLAIN_YEAR = 2, 9998  # any offset (< 1 day) keeps these years' instants within datetime's range


@dataclass(slots=True)  # not frozen: a frozen dataclass costs ~0.25 us more to build, once per row of an import
class PersonRef:
    """How a row names its person; at least one part is set. Emails match case-insensitively."""

    id: int | None = None
    email: str | None = None
    external_id: str | None = None


@dataclass(slots=True)
class Envelope:
    """A row whose envelope is well formed; its values still need the type's validator."""

    row_number: int
    activity_type: str
    person: PersonRef
    occurred_at: datetime
    primary_value: Any
    fields: Any
    idempotency_key: str | None
    from_text: bool
    raw: bytes


@dataclass(slots=True)
class RowFailure:
    """A row rejected before validation (or by it): every issue and the original record."""

    row_number: int
    issues: list[Issue]
    raw: bytes


def record_text(raw: bytes) -> str:
    """The original record as storable text, whole: a row is at most maxRowBytes (a longer one keeps only a
    prefix and is ROW_TOO_LARGE), so that bounds it. Invalid UTF-8 and NUL are shown as U+FFFD (such rows are
    INVALID_ENCODING / INVALID_VALUE: not replayable)."""
    return raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def oversize_failure(row: RawRow, max_row_bytes: int) -> RowFailure:
    message = f"The row is {row.oversize} bytes; the limit is {max_row_bytes} bytes (maxRowBytes)."
    return RowFailure(row.number, [Issue(ErrorCode.ROW_TOO_LARGE, None, message)], row.data)


def parse_occurred_at(value: object, path: str = "occurredAt") -> datetime | Issue:
    """ISO 8601 with a timezone (Z or offset), normalised to UTC."""
    if not isinstance(value, str) or not value.strip():
        if value is None or value == "":
            return Issue(ErrorCode.REQUIRED, path, "occurredAt is required.")
        return Issue(ErrorCode.WRONG_TYPE, path, "Expected an ISO 8601 date-time string.")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return Issue(ErrorCode.INVALID_DATE, path, f"'{value[:40]}' is not an ISO 8601 date-time.")
    if parsed.tzinfo is None:
        return Issue(ErrorCode.INVALID_DATE, path, "occurredAt needs a timezone, e.g. '2026-11-02T10:00:00Z'.")
    instant = utc_instant(parsed)
    if instant is None:
        return Issue(ErrorCode.OUT_OF_RANGE, path, f"'{value[:40]}' is outside years 1 to 9999 in UTC.")
    return instant


def _person_id(value: object, path: str) -> int | Issue:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if type(value) is not int or not 0 < value <= _INT64_MAX:
        return Issue(ErrorCode.INVALID, path, "A person id is a positive integer.")
    return value


def _email(value: object, path: str) -> str | Issue:
    if not isinstance(value, str):
        return Issue(ErrorCode.WRONG_TYPE, path, "Expected an email address string.")
    email = value.strip()
    return email_issue(email, path) or email


def _short_string(value: object, path: str, what: str) -> str | Issue | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return Issue(ErrorCode.WRONG_TYPE, path, f"Expected {what} as a string.")
    if len(value) > MAX_KEY_LENGTH:
        return Issue(ErrorCode.TOO_LONG, path, f"{what} is longer than {MAX_KEY_LENGTH} characters.")
    return value


def parse_person(
    pid: object, email: object, external_id: object, issues: list[Issue], prefix: str
) -> PersonRef | None:
    """A person reference from its parts; appends issues and returns None when unusable."""
    ref_id = ref_email = ref_ext = None
    if pid is not None and pid != "":
        checked = _person_id(pid, f"{prefix}id" if prefix else "personId")
        if isinstance(checked, Issue):
            issues.append(checked)
        else:
            ref_id = checked
    if email is not None and email != "":
        checked_email = _email(email, f"{prefix}email" if prefix else "personEmail")
        if isinstance(checked_email, Issue):
            issues.append(checked_email)
        else:
            ref_email = checked_email
    ext = _short_string(external_id, f"{prefix}externalId" if prefix else "personExternalId", "externalId")
    if isinstance(ext, Issue):
        issues.append(ext)
    else:
        ref_ext = ext
    if ref_id is None and ref_email is None and ref_ext is None:
        if not issues:
            issues.append(Issue(ErrorCode.REQUIRED, prefix.rstrip(".") or "person",
                                "A person reference (id, email or externalId) is required."))
        return None
    return PersonRef(ref_id, ref_email, ref_ext)


def parse_object(obj: object, row_number: int, raw: bytes, default_type: str | None) -> Envelope | RowFailure:
    """Check the envelope of one JSON object (an inline activity or a JSONL line)."""
    if not isinstance(obj, dict):
        return RowFailure(row_number, [Issue(ErrorCode.MALFORMED_ROW, None, "Expected a JSON object per row.")], raw)
    issues: list[Issue] = []
    unknown = () if ENVELOPE_KEYS.issuperset(obj) else obj.keys() - ENVELOPE_KEYS - EXPORTED_KEYS
    for name in sorted(map(str, unknown))[:5] if unknown else ():
        issues.append(Issue(ErrorCode.UNKNOWN_FIELD, name[:100],
                            f"Unknown key '{name[:100]}'; typed values go under 'fields'."))
    activity_type = obj.get("activityType") or default_type
    if not isinstance(activity_type, str) or not activity_type:
        issues.append(Issue(ErrorCode.REQUIRED, "activityType", "activityType is required."))
    person_obj = obj.get("person")
    person: PersonRef | None = None
    if not isinstance(person_obj, dict):
        issues.append(Issue(ErrorCode.REQUIRED, "person", "person must be an object with id, email or externalId."))
    else:
        extra = () if PERSON_KEYS.issuperset(person_obj) else person_obj.keys() - PERSON_KEYS
        for name in sorted(map(str, extra))[:3] if extra else ():
            issues.append(Issue(ErrorCode.UNKNOWN_FIELD, f"person.{name[:100]}", "Use id, email or externalId."))
        person = parse_person(person_obj.get("id"), person_obj.get("email"), person_obj.get("externalId"),
                              issues, "person.")
    occurred = parse_occurred_at(obj.get("occurredAt"))
    if isinstance(occurred, Issue):
        issues.append(occurred)
    key = _short_string(obj.get("idempotencyKey"), "idempotencyKey", "idempotencyKey")
    if isinstance(key, Issue):
        issues.append(key)
    fields = obj.get("fields")
    if fields is not None and not isinstance(fields, dict):
        issues.append(Issue(ErrorCode.WRONG_TYPE, "fields", "fields must be an object."))
    if issues or person is None or isinstance(occurred, Issue) or isinstance(key, Issue):
        return RowFailure(row_number, issues, raw)
    return Envelope(row_number, str(activity_type), person, occurred, obj.get("primaryValue"), fields or {},
                    key, False, raw)


PlainEnvelope = tuple[str, str | int, datetime, Any, dict[str, Any], str | None, str | None]


def plain_envelope(obj: object, default_type: str | None) -> PlainEnvelope | None:
    """(activityType, person's email or id, occurredAt, primaryValue, fields, idempotencyKey, occurredAt's
    isoformat() when the text gives it: see utc_isoformat) of a row in the common shape (a person by email
    alone or by an integer id alone, nothing unknown); None sends the row to `parse_object`. The person is
    PersonRef(email=email) or PersonRef(id=id).

    The bulk path of every import: the same result as `parse_object` with the branches and objects that only
    ill-formed or unusual rows need left out (tests/domain/test_plain_envelope.py compares the two)."""
    if type(obj) is not dict or not ENVELOPE_KEYS.issuperset(obj):
        return None
    activity_type = obj.get("activityType") or default_type
    person = obj.get("person")
    occurred = obj.get("occurredAt")
    key = obj.get("idempotencyKey")
    fields = obj.get("fields")
    if (type(activity_type) is not str or not activity_type or type(person) is not dict or len(person) != 1
            or type(occurred) is not str or (key is not None and (type(key) is not str or len(key) > MAX_KEY_LENGTH))
            or (fields is not None and type(fields) is not dict)):
        return None
    who = person.get("email")
    if type(who) is str:
        who = who.strip()
        if not plain_email(who):
            return None
    elif "id" not in person or type(who := person["id"]) is not int or not 0 < who <= _INT64_MAX:
        return None  # the Marketo facade and GraphQL name persons by id: integers take this path too
    text = occurred.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None or not MIN_PLAIN_YEAR <= moment.year <= MAX_PLAIN_YEAR:
        return None  # near years 1 and 9999 the UTC instant may not exist: parse_object says OUT_OF_RANGE
    return (activity_type, who, moment.astimezone(UTC), obj.get("primaryValue"),
            fields or {}, key or None, utc_isoformat(text) if key else None)


def parse_jsonl(row: RawRow, default_type: str | None) -> Envelope | RowFailure:
    """One JSONL line: malformed JSON and invalid UTF-8 are told apart; NUL anywhere is INVALID_VALUE."""
    if b"\x00" in row.data:  # never valid JSON, and the stored record could not show it
        return RowFailure(row.number, [unstorable_issue(None)], row.data)
    try:
        obj = orjson.loads(row.data)
    except orjson.JSONDecodeError as exc:
        try:
            row.data.decode("utf-8")
        except UnicodeDecodeError as bad:
            message = f"The row is not valid UTF-8 (byte {bad.start})."
            return RowFailure(row.number, [Issue(ErrorCode.INVALID_ENCODING, None, message)], row.data)
        return RowFailure(row.number, [Issue(ErrorCode.MALFORMED_ROW, None, f"Malformed JSON: {exc.msg}.")],
                          row.data)
    if b"\\u0000" in row.data:
        path = unstorable_path(obj)
        if path is not None:
            return RowFailure(row.number, [unstorable_issue(path)], row.data)
    if may_repeat_keys(row.data, obj):
        repeated = repeated_key_issue(row.data)
        if repeated is not None:
            return RowFailure(row.number, [repeated], row.data)
    return parse_object(obj, row.number, row.data, default_type)


def parse_csv_header(raw: bytes, default_type: str | None) -> list[str] | list[Issue]:
    """The column names of a CSV header, or why the header cannot be used."""
    try:
        text = raw.decode("utf-8")
        records = list(csv.reader(io.StringIO(text, newline="")))
    except (UnicodeDecodeError, csv.Error) as exc:
        return [Issue(ErrorCode.MALFORMED_ROW, "file", f"The CSV header cannot be read: {exc}.")]
    if len(records) != 1:
        return [Issue(ErrorCode.MALFORMED_ROW, "file", "The first row of a CSV file must be its header.")]
    header = [name.strip() for name in records[0]]
    if not all(map(storable, header)):
        return [unstorable_issue("file")]
    issues: list[Issue] = []
    seen: set[str] = set()
    for name in header:
        if not name:
            issues.append(Issue(ErrorCode.MALFORMED_ROW, "file", "A CSV header column has no name."))
        elif name in seen:
            issues.append(Issue(ErrorCode.DUPLICATE, "file", f"The CSV header repeats column '{name[:100]}'."))
        seen.add(name)
    if "occurredAt" not in seen:
        issues.append(Issue(ErrorCode.REQUIRED, "file", "The CSV header needs an occurredAt column."))
    if not seen & {"personId", "personEmail", "personExternalId"}:
        issues.append(Issue(ErrorCode.REQUIRED, "file",
                            "The CSV header needs personId, personEmail or personExternalId."))
    if "activityType" not in seen and not default_type:
        issues.append(Issue(ErrorCode.REQUIRED, "activityType",
                            "Give activityType for the whole file or as a CSV column."))
    return issues or header


def parse_csv(row: RawRow, header: list[str], default_type: str | None) -> Envelope | RowFailure:
    """One CSV record, mapped by the header; empty cells are missing values."""
    try:
        text = row.data.decode("utf-8")
    except UnicodeDecodeError as bad:
        message = f"The row is not valid UTF-8 (byte {bad.start})."
        return RowFailure(row.number, [Issue(ErrorCode.INVALID_ENCODING, None, message)], row.data)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        return RowFailure(row.number, [Issue(ErrorCode.MALFORMED_ROW, None, f"Malformed CSV: {exc}.")], row.data)
    if len(records) != 1:
        return RowFailure(row.number, [Issue(ErrorCode.MALFORMED_ROW, None, "Malformed CSV record.")], row.data)
    values = records[0]
    if len(values) != len(header):
        message = f"The row has {len(values)} columns; the header has {len(header)}."
        return RowFailure(row.number, [Issue(ErrorCode.WRONG_COLUMN_COUNT, None, message)], row.data)
    cells = dict(zip(header, values, strict=True))
    if "\x00" in text:
        name = next((name for name, value in cells.items() if "\x00" in value), None)
        path = name if name is None or name in _CSV_ENVELOPE else f"fields.{name[:100]}"
        return RowFailure(row.number, [unstorable_issue(path)], row.data)
    issues: list[Issue] = []
    activity_type = cells.get("activityType") or default_type
    if not activity_type:
        issues.append(Issue(ErrorCode.REQUIRED, "activityType", "activityType is required."))
    person = parse_person(cells.get("personId"), cells.get("personEmail"), cells.get("personExternalId"),
                          issues, "")
    occurred = parse_occurred_at(cells.get("occurredAt"))
    if isinstance(occurred, Issue):
        issues.append(occurred)
    key = _short_string(cells.get("idempotencyKey"), "idempotencyKey", "idempotencyKey")
    if isinstance(key, Issue):
        issues.append(key)
    if issues or person is None or isinstance(occurred, Issue) or isinstance(key, Issue):
        return RowFailure(row.number, issues, row.data)
    fields = {name: value for name, value in cells.items() if name not in _CSV_ENVELOPE and value != ""}
    primary = cells.get("primaryValue") or None
    return Envelope(row.number, str(activity_type), person, occurred, primary, fields, key, True, row.data)
