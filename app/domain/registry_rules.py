"""Registry rules: identifiers, definition constraints, lifecycle transitions and version compatibility."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import replace
from enum import StrEnum
from typing import Any

from app.domain.activity_types import ActivityTypeDefinition, FieldDataType, FieldSpec, TypeStatus
from app.domain.errors import DomainError, ErrorCode, Issue
from app.domain.validators.numbers import INT64_MAX, INT64_MIN
from app.domain.validators.strings import EMAIL_MAX, LINK_MAX, PHONE_MAX

IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
IDENTIFIER_RULE = "start with a letter, then letters, digits or '_', at most 64 characters"
NAME_MAX = 255
DESCRIPTION_MAX = 2000
ALLOWED_VALUES_MAX = 1000
# Field apiNames become CSV columns and filter names, so they must not shadow the record's own columns.
RESERVED_FIELD_NAMES = frozenset(
    n.lower()
    for n in (
        "primary",
        "primaryValue",
        "activityType",
        "occurredAt",
        "idempotencyKey",
        "person",
        "personId",
        "personEmail",
        "personExternalId",
        "fields",
        "id",
    )
)
STRING_TYPES = frozenset(
    {FieldDataType.STRING, FieldDataType.TEXT, FieldDataType.EMAIL, FieldDataType.PHONE, FieldDataType.LINK}
)
NUMERIC_TYPES = frozenset({FieldDataType.INTEGER, FieldDataType.FLOAT, FieldDataType.CURRENCY})


def check_identifier(value: str, path: str, what: str) -> list[Issue]:
    if IDENTIFIER.fullmatch(value) is None:
        return [Issue(ErrorCode.INVALID_IDENTIFIER, path, f"{what} {value[:80]!r} is invalid: {IDENTIFIER_RULE}.")]
    return []


def _check_text(value: str | None, path: str, what: str, *, required: bool, limit: int) -> list[Issue]:
    if value is None or not value.strip():
        return [Issue(ErrorCode.REQUIRED, path, f"{what} must not be empty.")] if required else []
    if len(value) > limit:
        return [Issue(ErrorCode.TOO_LONG, path, f"{what} has {len(value)} characters; at most {limit} allowed.")]
    if value != value.strip() or any(ord(c) < 32 for c in value):
        return [Issue(ErrorCode.INVALID, path, f"{what} must not have surrounding spaces or control characters.")]
    if required and not any(c.isalpha() for c in value):
        return [Issue(ErrorCode.INVALID, path, f"{what} must contain at least one letter.")]
    return []


def max_length_cap(data_type: FieldDataType, max_string_length: int, max_text_length: int) -> int:
    """The largest maxLength a field of this type may declare (and its default)."""
    return {
        FieldDataType.STRING: max_string_length,
        FieldDataType.TEXT: max_text_length,
        FieldDataType.EMAIL: EMAIL_MAX,
        FieldDataType.LINK: LINK_MAX,
        FieldDataType.PHONE: PHONE_MAX,
    }.get(data_type, 0)


def check_field(spec: FieldSpec, path: str, *, max_string_length: int, max_text_length: int) -> list[Issue]:
    """Identifier, names and constraints that fit the field's data type."""
    issues = check_identifier(spec.api_name, f"{path}.apiName", "Field apiName")
    if spec.api_name.lower() in RESERVED_FIELD_NAMES:
        issues.append(
            Issue(ErrorCode.INVALID_IDENTIFIER, f"{path}.apiName", f"'{spec.api_name}' is reserved; choose another.")
        )
    issues += _check_text(spec.name, f"{path}.name", "Field name", required=True, limit=NAME_MAX)
    issues += _check_text(spec.description, f"{path}.description", "Description", required=False, limit=DESCRIPTION_MAX)
    kind = spec.data_type
    if spec.max_length is not None:
        cap = max_length_cap(kind, max_string_length, max_text_length)
        if kind not in STRING_TYPES:
            issues.append(Issue(ErrorCode.INVALID, f"{path}.maxLength", f"maxLength does not apply to {kind}."))
        elif not 1 <= spec.max_length <= cap:
            issues.append(
                Issue(ErrorCode.OUT_OF_RANGE, f"{path}.maxLength", f"maxLength must be between 1 and {cap} for {kind}.")
            )
    issues += _check_range(spec, path)
    issues += _check_allowed(spec, path)
    return issues


def _check_range(spec: FieldSpec, path: str) -> list[Issue]:
    low, high = spec.min_value, spec.max_value
    if low is None and high is None:
        return []
    if spec.data_type not in NUMERIC_TYPES:
        return [Issue(ErrorCode.INVALID, f"{path}.minValue", f"minValue/maxValue do not apply to {spec.data_type}.")]
    issues = []
    for name, value in (("minValue", low), ("maxValue", high)):
        if value is None:
            continue
        if not math.isfinite(value):
            issues.append(Issue(ErrorCode.INVALID_NUMBER, f"{path}.{name}", f"{name} must be a finite number."))
        elif spec.data_type is FieldDataType.INTEGER and not (
            float(value).is_integer() and INT64_MIN <= value <= INT64_MAX
        ):
            issues.append(Issue(ErrorCode.INVALID_NUMBER, f"{path}.{name}", f"{name} must be a 64-bit whole number."))
    if not issues and low is not None and high is not None and low > high:
        issues.append(Issue(ErrorCode.OUT_OF_RANGE, f"{path}.minValue", "minValue must not exceed maxValue."))
    return issues


def _check_allowed(spec: FieldSpec, path: str) -> list[Issue]:
    values = spec.allowed_values
    if values is None:
        return []
    where = f"{path}.allowedValues"
    if spec.data_type not in STRING_TYPES:
        return [Issue(ErrorCode.INVALID, where, f"allowedValues apply to string types, not {spec.data_type}.")]
    if not values or len(values) > ALLOWED_VALUES_MAX:
        return [Issue(ErrorCode.OUT_OF_RANGE, where, f"Give between 1 and {ALLOWED_VALUES_MAX} allowed values.")]
    if len(set(values)) != len(values):
        return [Issue(ErrorCode.DUPLICATE, where, "allowedValues contains duplicates.")]
    limit = spec.max_length or NAME_MAX * 4
    if any(not v or len(v) > limit for v in values):
        return [Issue(ErrorCode.TOO_LONG, where, f"Each allowed value must have 1 to {limit} characters.")]
    return []


def check_definition(
    d: ActivityTypeDefinition, *, max_fields: int, max_string_length: int, max_text_length: int
) -> list[Issue]:
    """Every problem with a whole definition; paths are relative to it ("primaryField.name", "fields.x.maxLength")."""
    limits = {"max_string_length": max_string_length, "max_text_length": max_text_length}
    issues = check_identifier(d.api_name, "apiName", "apiName")
    issues += _check_text(d.name, "name", "name", required=True, limit=NAME_MAX)
    issues += _check_text(d.trigger_name, "triggerName", "triggerName", required=True, limit=NAME_MAX)
    issues += _check_text(d.filter_name, "filterName", "filterName", required=True, limit=NAME_MAX)
    issues += _check_text(d.description, "description", "Description", required=False, limit=DESCRIPTION_MAX)
    issues += check_field(d.primary_field, "primaryField", **limits)
    seen_api: dict[str, str] = {d.primary_field.api_name.lower(): "primaryField"}
    seen_names: set[str] = {d.primary_field.name.lower()}
    for spec in d.fields:
        path = f"fields.{spec.api_name}"
        issues += check_field(spec, path, **limits)
        if spec.api_name.lower() in seen_api:
            message = f"Field apiName '{spec.api_name}' is used twice."
            issues.append(Issue(ErrorCode.DUPLICATE, f"{path}.apiName", message))
        elif spec.name.lower() in seen_names:
            issues.append(Issue(ErrorCode.DUPLICATE, f"{path}.name", f"Field name '{spec.name}' is used twice."))
        seen_api[spec.api_name.lower()] = path
        seen_names.add(spec.name.lower())
    if len(d.fields) > max_fields:
        issues.append(
            Issue(
                ErrorCode.LIMIT_EXCEEDED,
                "fields",
                f"{len(d.fields)} additional fields; this deployment allows at most {max_fields} per type.",
            )
        )
    return issues


# ---- lifecycle ---------------------------------------------------------------------------------------------


class Action(StrEnum):
    """Things an admin does to a type."""

    CHANGE = "change"
    APPROVE = "approve"
    DISCARD = "discard"
    DELETE = "delete"


def transition(status: TypeStatus, action: Action, api_name: str) -> TypeStatus | Issue:
    """The status after `action`, or why it is not possible from `status`."""
    if status is TypeStatus.DELETED:
        return Issue(ErrorCode.NOT_FOUND, None, f"Activity type '{api_name}' was deleted.")
    if action is Action.CHANGE:
        return TypeStatus.DRAFT if status is TypeStatus.DRAFT else TypeStatus.APPROVED_WITH_DRAFT
    if action is Action.DELETE:
        return TypeStatus.DELETED
    if status is TypeStatus.APPROVED:
        verb = "approve" if action is Action.APPROVE else "discard"
        return Issue(ErrorCode.NO_DRAFT, None, f"'{api_name}' has no pending changes to {verb}; change it first.")
    if action is Action.APPROVE:
        return TypeStatus.APPROVED
    if status is TypeStatus.DRAFT:  # discard on a never-approved type
        return Issue(
            ErrorCode.INVALID_STATE,
            None,
            f"'{api_name}' has never been approved, so its draft is the whole type; delete it instead.",
        )
    return TypeStatus.APPROVED


# ---- draft edits -------------------------------------------------------------------------------------------

_RANGE_ATTRS = ("min_value", "max_value")


def _find_field(d: ActivityTypeDefinition, field: str, path: str = "field") -> FieldSpec:
    spec = d.field_named(field)
    if spec is None:
        lowered = field.lower()
        spec = next((f for f in (d.primary_field, *d.fields) if f.api_name.lower() == lowered), None)
    if spec is None:
        raise DomainError.of(ErrorCode.NOT_FOUND, f"'{d.api_name}' has no field '{field}'.", path)
    return spec


def apply_field_changes(d: ActivityTypeDefinition, field: str, changes: Mapping[str, Any]) -> ActivityTypeDefinition:
    """`d` with one field (the primary one too, by apiName or "primary") changed; None clears a constraint.

    When the data type changes, constraints that do not apply to the new type are dropped unless given."""
    old = _find_field(d, field)
    updates = dict(changes)
    new_type = updates.get("data_type")
    if new_type is not None and new_type is not old.data_type:
        if new_type not in STRING_TYPES:
            updates.setdefault("max_length", None)
            updates.setdefault("allowed_values", None)
        if new_type not in NUMERIC_TYPES:
            for attr in _RANGE_ATTRS:
                updates.setdefault(attr, None)
    for attr in ("api_name", "name", "data_type", "required"):
        if attr in updates and updates[attr] is None:
            del updates[attr]  # these cannot be cleared, only set
    new = replace(old, **updates)
    if old is d.primary_field:
        return d.with_changes(primary_field=new)
    return d.with_changes(fields=tuple(new if f is old else f for f in d.fields))


def promote_primary(d: ActivityTypeDefinition, field: str) -> ActivityTypeDefinition:
    """Make an additional field the primary one; the old primary takes its place among the fields."""
    spec = _find_field(d, field, "primaryField")
    if spec is d.primary_field:
        return d
    return d.with_changes(
        primary_field=spec, fields=tuple(d.primary_field if f is spec else f for f in d.fields)
    )
