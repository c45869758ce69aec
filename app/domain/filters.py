"""Timeline and search filters: operators per data type, validation against activity types, matching."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from app.domain.activities import Activity
from app.domain.activity_types import PRIMARY, ActivityTypeDefinition, FieldDataType
from app.domain.errors import DomainError, ErrorCode, Issue
from app.domain.validators.temporal import utc_instant

MAX_ACTIVITY_TYPES = 100
MAX_CONDITIONS = 20
MAX_IN_VALUES = 1000
MAX_PERSONS = 1000


class FieldOperator(StrEnum):
    """Comparison operators of a field condition; which ones apply depends on the field's data type."""

    EQUALS = "EQUALS"
    NOT_EQUALS = "NOT_EQUALS"
    CONTAINS = "CONTAINS"
    STARTS_WITH = "STARTS_WITH"
    IN = "IN"
    GREATER_THAN = "GREATER_THAN"
    GREATER_THAN_OR_EQUAL = "GREATER_THAN_OR_EQUAL"
    LESS_THAN = "LESS_THAN"
    LESS_THAN_OR_EQUAL = "LESS_THAN_OR_EQUAL"
    BETWEEN = "BETWEEN"
    IS_EMPTY = "IS_EMPTY"
    IS_NOT_EMPTY = "IS_NOT_EMPTY"
    NOT_CONTAINS = "NOT_CONTAINS"
    NOT_STARTS_WITH = "NOT_STARTS_WITH"
    ENDS_WITH = "ENDS_WITH"
    NOT_IN = "NOT_IN"


class ValueKind(StrEnum):
    """How values of a data type compare: as case-insensitive text, numbers, booleans, dates or instants."""

    STRING = "STRING"
    NUMBER = "NUMBER"
    BOOLEAN = "BOOLEAN"
    DATE = "DATE"
    DATETIME = "DATETIME"


KIND_OF: dict[FieldDataType, ValueKind] = {
    FieldDataType.STRING: ValueKind.STRING,
    FieldDataType.TEXT: ValueKind.STRING,
    FieldDataType.EMAIL: ValueKind.STRING,
    FieldDataType.PHONE: ValueKind.STRING,
    FieldDataType.LINK: ValueKind.STRING,
    FieldDataType.INTEGER: ValueKind.NUMBER,
    FieldDataType.FLOAT: ValueKind.NUMBER,
    FieldDataType.CURRENCY: ValueKind.NUMBER,
    FieldDataType.BOOLEAN: ValueKind.BOOLEAN,
    FieldDataType.DATE: ValueKind.DATE,
    FieldDataType.DATETIME: ValueKind.DATETIME,
}

Op = FieldOperator
_ANY = frozenset({Op.EQUALS, Op.NOT_EQUALS, Op.IS_EMPTY, Op.IS_NOT_EMPTY})
_ORDERED = frozenset(
    {Op.IN, Op.NOT_IN, Op.GREATER_THAN, Op.GREATER_THAN_OR_EQUAL, Op.LESS_THAN, Op.LESS_THAN_OR_EQUAL, Op.BETWEEN}
)
_TEXT = frozenset({Op.CONTAINS, Op.NOT_CONTAINS, Op.STARTS_WITH, Op.NOT_STARTS_WITH, Op.ENDS_WITH, Op.IN, Op.NOT_IN})
OPERATORS: dict[ValueKind, frozenset[FieldOperator]] = {
    ValueKind.STRING: _ANY | _TEXT,
    ValueKind.NUMBER: _ANY | _ORDERED,
    ValueKind.DATE: _ANY | _ORDERED,
    ValueKind.DATETIME: _ANY | _ORDERED,
    ValueKind.BOOLEAN: _ANY,
}
NO_VALUE = frozenset({Op.IS_EMPTY, Op.IS_NOT_EMPTY})
NEGATED: dict[FieldOperator, FieldOperator] = {
    Op.NOT_EQUALS: Op.EQUALS,
    Op.NOT_CONTAINS: Op.CONTAINS,
    Op.NOT_STARTS_WITH: Op.STARTS_WITH,
    Op.NOT_IN: Op.IN,
}
"""Each negation and the operator it negates; a negation also matches empty values (as Marketo's "not" does)."""
SUBSTRING = frozenset({Op.CONTAINS, Op.NOT_CONTAINS, Op.STARTS_WITH, Op.NOT_STARTS_WITH, Op.ENDS_WITH})


def operators_for(data_type: FieldDataType) -> frozenset[FieldOperator]:
    """The operators a condition on a field of `data_type` may use."""
    return OPERATORS[KIND_OF[data_type]]


@dataclass(frozen=True, slots=True)
class FieldCondition:
    """`field op value`, as the client wrote it; `field` "primary" means the primary field."""

    field: str
    op: FieldOperator
    value: Any = None


@dataclass(frozen=True, slots=True)
class TimelineFilter:
    """A parsed timeline filter: type API names, a half-open occurred range, ingested since, conditions."""

    activity_types: tuple[str, ...] | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    ingested_after: datetime | None = None
    where: tuple[FieldCondition, ...] = ()


@dataclass(frozen=True, slots=True)
class ActivitySearch(TimelineFilter):
    """A timeline filter across persons, optionally restricted to some persons or to frequent ones."""

    person_ids: tuple[int, ...] = ()
    person_emails: tuple[str, ...] = ()
    person_external_ids: tuple[str, ...] = ()
    min_activities_per_person: int | None = None

    @property
    def selects_persons(self) -> bool:
        return bool(self.person_ids or self.person_emails or self.person_external_ids)


@dataclass(frozen=True, slots=True)
class ResolvedCondition:
    """A condition checked against the types it applies to, its value normalized for its kind."""

    field: str
    op: FieldOperator
    kind: ValueKind
    value: Any  # str (lower-cased), int|float, bool, date, datetime; a tuple for IN and BETWEEN

    def matches(self, activity: Activity) -> bool:
        if self.field == PRIMARY:
            return self.matches_value(activity.primary_value)
        assert isinstance(activity.fields, dict), "matched against decoded activities, never JSON text"
        return self.matches_value(activity.fields.get(self.field))

    def matches_value(self, raw: Any) -> bool:
        """Whether a stored JSON value (None when missing) passes; smart lists use it on person attributes too."""
        empty = raw is None or raw == ""
        if self.op is Op.IS_EMPTY:
            return empty
        if self.op is Op.IS_NOT_EMPTY:
            return not empty
        stored = None if empty else _stored(self.kind, raw)
        positive = NEGATED.get(self.op)
        if positive is not None:
            return stored is None or not _compare(positive, stored, self.value)
        if stored is None:
            return False
        return _compare(self.op, stored, self.value)


@dataclass(frozen=True, slots=True)
class ResolvedFilter:
    """A validated filter: type ids instead of names, conditions with their kinds. Pure `matches`."""

    type_ids: tuple[int, ...] | None
    occurred_after: datetime | None
    occurred_before: datetime | None
    ingested_after: datetime | None
    conditions: tuple[ResolvedCondition, ...]

    def matches(self, activity: Activity) -> bool:
        if self.type_ids is not None and activity.activity_type_id not in self.type_ids:
            return False
        if self.occurred_after is not None and activity.occurred_at < self.occurred_after:
            return False
        if self.occurred_before is not None and activity.occurred_at >= self.occurred_before:
            return False
        if self.ingested_after is not None and activity.ingested_at < self.ingested_after:
            return False
        return all(c.matches(activity) for c in self.conditions)


def validate(
    flt: TimelineFilter, definitions: Mapping[int, ActivityTypeDefinition], path: str = "filter"
) -> list[Issue]:
    """Every problem with `flt` against the live types (`definitions`: type id -> current definition)."""
    try:
        resolve(flt, definitions, path)
    except DomainError as error:
        return error.issues
    return []


def resolve(
    flt: TimelineFilter,
    definitions: Mapping[int, ActivityTypeDefinition],
    path: str = "filter",
    max_conditions: int = MAX_CONDITIONS,
) -> ResolvedFilter:
    """Check `flt` against the live types and normalize it; raises DomainError with every issue."""
    issues: list[Issue] = []
    by_name = {d.api_name.lower(): (type_id, d) for type_id, d in definitions.items()}
    selected: list[tuple[int, ActivityTypeDefinition]] = []
    type_ids: tuple[int, ...] | None = None
    if flt.activity_types is not None:
        if len(flt.activity_types) > MAX_ACTIVITY_TYPES:
            issues.append(_issue(ErrorCode.LIMIT_EXCEEDED, f"{path}.activityTypes", f"At most {MAX_ACTIVITY_TYPES}."))
        for i, name in enumerate(flt.activity_types):
            found = by_name.get(name.lower())
            if found is None:
                issues.append(
                    _issue(ErrorCode.UNKNOWN_ACTIVITY_TYPE, f"{path}.activityTypes.{i}", f"Unknown type '{name}'.")
                )
            elif found not in selected:
                selected.append(found)
        type_ids = tuple(type_id for type_id, _ in selected)
    if len(flt.where) > max_conditions:
        issues.append(_issue(ErrorCode.LIMIT_EXCEEDED, f"{path}.where", f"At most {max_conditions} conditions."))
    elif flt.where and not flt.activity_types:
        issues.append(
            _issue(
                ErrorCode.INVALID_FILTER,
                f"{path}.where",
                "Field conditions need activityTypes: a condition applies to the fields of the listed types.",
            )
        )
    conditions: list[ResolvedCondition] = []
    for i, cond in enumerate(flt.where if selected else ()):
        resolved = _resolve_condition(cond, selected, f"{path}.where.{i}", issues)
        if resolved is not None:
            conditions.append(resolved)
    if isinstance(flt, ActivitySearch):
        _check_search(flt, path, issues)
    occurred_after = _instant(flt.occurred_after, f"{path}.occurredAfter", issues)
    occurred_before = _instant(flt.occurred_before, f"{path}.occurredBefore", issues)
    ingested_after = _instant(flt.ingested_after, f"{path}.ingestedAfter", issues)
    if issues:
        raise DomainError(issues)
    return ResolvedFilter(
        type_ids=type_ids,
        occurred_after=occurred_after,
        occurred_before=occurred_before,
        ingested_after=ingested_after,
        conditions=tuple(conditions),
    )


def _instant(value: datetime | None, path: str, issues: list[Issue]) -> datetime | None:
    """A time bound in UTC (naive ones are taken as UTC); an issue when it has no UTC instant."""
    if value is None:
        return None
    instant = utc_instant(value if value.tzinfo is not None else value.replace(tzinfo=UTC))
    if instant is None:
        issues.append(_issue(ErrorCode.OUT_OF_RANGE, path, "The instant is outside years 1 to 9999 in UTC."))
    return instant


def matches(activity: Activity, flt: TimelineFilter, definitions: Mapping[int, ActivityTypeDefinition]) -> bool:
    """Whether `activity` passes `flt` (raises DomainError if `flt` is invalid). Resolve once for many calls."""
    return resolve(flt, definitions).matches(activity)


def _check_search(search: ActivitySearch, path: str, issues: list[Issue]) -> None:
    lists = {"personIds": search.person_ids, "personEmails": search.person_emails,
             "personExternalIds": search.person_external_ids}
    too_long = [name for name, values in lists.items() if len(values) > MAX_PERSONS]
    for name in too_long:  # the issue names the list to shorten
        message = f"At most {MAX_PERSONS} persons ({len(lists[name])} given)."
        issues.append(_issue(ErrorCode.LIMIT_EXCEEDED, f"{path}.{name}", message))
    total = sum(len(values) for values in lists.values())
    if not too_long and total > MAX_PERSONS:  # each list is short enough, together they are not
        message = f"At most {MAX_PERSONS} persons in personIds, personEmails and personExternalIds together ({total})."
        issues.append(_issue(ErrorCode.LIMIT_EXCEEDED, path, message))
    if search.min_activities_per_person is not None and search.min_activities_per_person < 1:
        issues.append(_issue(ErrorCode.OUT_OF_RANGE, f"{path}.minActivitiesPerPerson", "Must be at least 1."))


def _resolve_condition(
    cond: FieldCondition, selected: list[tuple[int, ActivityTypeDefinition]], path: str, issues: list[Issue]
) -> ResolvedCondition | None:
    kinds: set[ValueKind] = set()
    for _, definition in selected:
        spec = definition.field_named(cond.field)
        if spec is None:
            issues.append(
                _issue(
                    ErrorCode.UNKNOWN_FIELD,
                    f"{path}.field",
                    f"Type '{definition.api_name}' has no field '{cond.field}'.",
                )
            )
            return None
        kinds.add(KIND_OF[spec.data_type])
    if len(kinds) != 1:
        issues.append(
            _issue(ErrorCode.INVALID_FILTER, f"{path}.field", f"'{cond.field}' has different data types across types.")
        )
        return None
    kind = kinds.pop()
    if cond.op not in OPERATORS[kind]:
        allowed = ", ".join(sorted(OPERATORS[kind]))
        issues.append(
            _issue(
                ErrorCode.INVALID_OPERATOR,
                f"{path}.op",
                f"{cond.op.value} does not apply to {kind.value.lower()} field '{cond.field}'; use one of {allowed}.",
            )
        )
        return None
    try:
        value = _normalize_operand(cond.op, kind, cond.value)
    except _OutOfRange as exc:
        issues.append(_issue(ErrorCode.OUT_OF_RANGE, f"{path}.value", str(exc)))
        return None
    except ValueError as exc:
        issues.append(_issue(ErrorCode.WRONG_TYPE, f"{path}.value", str(exc)))
        return None
    return ResolvedCondition(field=cond.field, op=cond.op, kind=kind, value=value)


def _normalize_operand(op: FieldOperator, kind: ValueKind, value: Any) -> Any:
    if op in NO_VALUE:
        if value is not None:
            raise ValueError(f"{op.value} takes no value.")
        return None
    if op in (Op.IN, Op.NOT_IN, Op.BETWEEN):
        if not isinstance(value, list):
            raise ValueError(f"{op.value} needs a list of values.")
        if op is Op.BETWEEN:
            if len(value) != 2:
                raise ValueError("BETWEEN needs exactly two values: [low, high].")
            low, high = (_normalize_value(kind, v) for v in value)
            if low > high:
                raise ValueError("BETWEEN needs low <= high.")
            return (low, high)
        if not 1 <= len(value) <= MAX_IN_VALUES:
            raise ValueError(f"{op.value} needs 1 to {MAX_IN_VALUES} values.")
        return tuple(_normalize_value(kind, v) for v in value)
    if op in SUBSTRING and (not isinstance(value, str) or not value):
        raise ValueError(f"{op.value} needs a non-empty string.")
    return _normalize_value(kind, value)


def _normalize_value(kind: ValueKind, value: Any) -> Any:
    """A client's operand as a comparable Python value, or ValueError saying what was expected."""
    if value is None:
        raise ValueError("A value is required (use IS_EMPTY to find missing values).")
    if kind is ValueKind.STRING:
        if not isinstance(value, str):
            raise ValueError("Expected a string.")
        return value.lower()
    if kind is ValueKind.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError("Expected a number.")
        return value
    if kind is ValueKind.BOOLEAN:
        if not isinstance(value, bool):
            raise ValueError("Expected true or false.")
        return value
    if not isinstance(value, str):
        raise ValueError("Expected an ISO-8601 string.")
    parsed = _parse_date(value) if kind is ValueKind.DATE else _parse_datetime(value)
    if parsed is None:
        raise ValueError(f"Expected an ISO-8601 {'date' if kind is ValueKind.DATE else 'date-time'}.")
    if isinstance(parsed, datetime):
        instant = utc_instant(parsed)
        if instant is None:
            raise _OutOfRange(f"'{value[:40]}' is outside years 1 to 9999 in UTC.")
        return instant
    return parsed


class _OutOfRange(ValueError):
    """An operand that parses but has no UTC instant: OUT_OF_RANGE rather than WRONG_TYPE."""


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _parse_datetime(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _stored(kind: ValueKind, raw: Any) -> Any:
    """A stored (validated) value as comparable Python, or None when it does not fit the kind."""
    if kind is ValueKind.STRING:
        return raw.lower() if isinstance(raw, str) else None
    if kind is ValueKind.NUMBER:
        return raw if isinstance(raw, int | float) and not isinstance(raw, bool) else None
    if kind is ValueKind.BOOLEAN:
        return raw if isinstance(raw, bool) else None
    if not isinstance(raw, str):
        return None
    return _parse_date(raw) if kind is ValueKind.DATE else _parse_datetime(raw)


def _compare(op: FieldOperator, stored: Any, value: Any) -> bool:
    if op is Op.EQUALS:
        return bool(stored == value)
    if op is Op.IN:
        return stored in value
    if op is Op.CONTAINS:
        return bool(value in stored)
    if op is Op.STARTS_WITH:
        return bool(stored.startswith(value))
    if op is Op.ENDS_WITH:
        return bool(stored.endswith(value))
    if op is Op.GREATER_THAN:
        return bool(stored > value)
    if op is Op.GREATER_THAN_OR_EQUAL:
        return bool(stored >= value)
    if op is Op.LESS_THAN:
        return bool(stored < value)
    if op is Op.LESS_THAN_OR_EQUAL:
        return bool(stored <= value)
    if op is Op.BETWEEN:
        return bool(value[0] <= stored <= value[1])
    raise AssertionError(op)  # every operator is handled above


def _issue(code: ErrorCode, field: str, message: str) -> Issue:
    return Issue(code, field, message)
