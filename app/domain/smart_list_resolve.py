"""Smart lists checked against the live types and limits, with relative windows fixed at one `now`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain import smart_list_logic as logic
from app.domain.activities import Activity, Person
from app.domain.activity_types import PRIMARY, ActivityTypeDefinition, FieldDataType, FieldSpec
from app.domain.errors import DomainError, ErrorCode, Issue
from app.domain.filters import ResolvedCondition, TimelineFilter, resolve
from app.domain.smart_lists import ActivityFilter, Logic, PersonFilter, RelativeWindow, SmartListDefinition

MAX_TIMES = 1_000_000_000  # minTimes/maxTimes beyond this are refused (they stay well inside a bigint)
MAX_WINDOW = timedelta(days=365 * 200)
MAX_EXPRESSION_LENGTH = 10_000

PERSON_ATTRIBUTES = ActivityTypeDefinition(
    api_name="person",
    name="Person",
    trigger_name="Person",
    filter_name="Person",
    primary_field=FieldSpec("email", "Email", FieldDataType.EMAIL),
    fields=(
        FieldSpec("email", "Email", FieldDataType.EMAIL),
        FieldSpec("externalId", "External id", FieldDataType.STRING),
        FieldSpec("firstName", "First name", FieldDataType.STRING),
        FieldSpec("lastName", "Last name", FieldDataType.STRING),
        FieldSpec("createdAt", "Created at", FieldDataType.DATETIME),
    ),
)
"""What a person filter's conditions may name, as if a person row were an activity type (so person conditions
use the same operators, values and checks as activity fields)."""


@dataclass(frozen=True, slots=True)
class SmartListLimits:
    """The limits a definition must respect (settings.limits in the service)."""

    max_filters: int = 50
    max_conditions: int = 20
    max_logic_depth: int = 10


@dataclass(frozen=True, slots=True)
class ResolvedActivityFilter:
    """One activity filter, ready to evaluate: type id, fixed window, counts with min_times >= 0."""

    type_id: int
    did: bool
    conditions: tuple[ResolvedCondition, ...]
    occurred_after: datetime | None
    occurred_before: datetime | None
    min_times: int
    max_times: int | None
    type_versions: tuple[int, ...] | None

    def matches(self, activity: Activity) -> bool:
        """Whether `activity` counts towards this filter."""
        if activity.activity_type_id != self.type_id:
            return False
        if self.type_versions is not None and activity.type_version not in self.type_versions:
            return False
        if self.occurred_after is not None and activity.occurred_at < self.occurred_after:
            return False
        if self.occurred_before is not None and activity.occurred_at >= self.occurred_before:
            return False
        return all(c.matches(activity) for c in self.conditions)

    def holds(self, times: int) -> bool:
        """Whether a person with `times` matching activities passes (`did: false` negates the whole test)."""
        inside = times >= self.min_times and (self.max_times is None or times <= self.max_times)
        return inside if self.did else not inside


@dataclass(frozen=True, slots=True)
class ResolvedPersonFilter:
    """Person conditions (fields named as in PERSON_ATTRIBUTES) and a fixed creation window."""

    conditions: tuple[ResolvedCondition, ...]
    created_after: datetime | None
    created_before: datetime | None

    def holds(self, person: Person) -> bool:
        if self.created_after is not None and person.created_at < self.created_after:
            return False
        if self.created_before is not None and person.created_at >= self.created_before:
            return False
        return all(c.matches_value(person_value(person, c.field)) for c in self.conditions)


ResolvedFilter = ResolvedActivityFilter | ResolvedPersonFilter


@dataclass(frozen=True, slots=True)
class ResolvedSmartList:
    filters: tuple[ResolvedFilter, ...]
    logic: logic.Node


def person_value(person: Person, field: str) -> object:
    """A person attribute as the JSON value person conditions compare (instants as ISO-8601 text)."""
    if field == "createdAt":
        return person.created_at.isoformat()
    return {"email": person.email, "externalId": person.external_id, "firstName": person.first_name,
            "lastName": person.last_name}[field]


def resolve_definition(
    definition: SmartListDefinition,
    definitions: Mapping[int, ActivityTypeDefinition],
    now: datetime,
    limits: SmartListLimits = SmartListLimits(),
    path: str = "definition",
) -> ResolvedSmartList:
    """Check `definition` against the live types (`definitions`: type id -> current definition) and the limits;
    relative windows end at `now`. Raises DomainError with every issue, each with its field path."""
    issues: list[Issue] = []
    count = len(definition.filters)
    if count == 0:
        issues.append(Issue(ErrorCode.REQUIRED, f"{path}.filters", "A smart list needs at least one filter."))
    elif count > limits.max_filters:
        issues.append(Issue(ErrorCode.LIMIT_EXCEEDED, f"{path}.filters", f"At most {limits.max_filters} filters."))
    resolved: list[ResolvedFilter] = []
    for i, flt in enumerate(definition.filters[: limits.max_filters]):
        try:
            if isinstance(flt, PersonFilter):
                resolved.append(_person(flt, now, limits, f"{path}.filters.{i}.person"))
            else:
                resolved.append(_activity(flt, definitions, now, limits, f"{path}.filters.{i}.activity"))
        except DomainError as error:
            issues.extend(error.issues)
    tree = _logic(definition, count, limits, path, issues)
    if issues or tree is None:
        raise DomainError(issues)
    return ResolvedSmartList(filters=tuple(resolved), logic=tree)


def _logic(
    definition: SmartListDefinition, count: int, limits: SmartListLimits, path: str, issues: list[Issue]
) -> logic.Node | None:
    field = f"{path}.expression"
    if definition.logic is not Logic.ADVANCED:
        if definition.expression is not None:
            issues.append(Issue(ErrorCode.INVALID, field, "An expression needs logic: ADVANCED."))
            return None
        return logic.every(count) if definition.logic is Logic.ALL else logic.any_of(count)
    if not definition.expression or not definition.expression.strip():
        issues.append(Issue(ErrorCode.REQUIRED, field, "logic: ADVANCED needs an expression, e.g. '1 and not 2'."))
        return None
    if len(definition.expression) > MAX_EXPRESSION_LENGTH:
        issues.append(Issue(ErrorCode.LIMIT_EXCEEDED, field, f"At most {MAX_EXPRESSION_LENGTH} characters."))
        return None
    try:
        tree = logic.parse(definition.expression, count, field, limits.max_logic_depth)
    except DomainError as error:
        issues.extend(error.issues)
        return None
    if logic.depth(tree) > limits.max_logic_depth:
        issues.append(Issue(ErrorCode.LIMIT_EXCEEDED, field, f"Logic nests at most {limits.max_logic_depth} deep."))
        return None
    return tree


def _window(
    after: datetime | None, before: datetime | None, within: RelativeWindow | None, now: datetime, path: str,
    names: tuple[str, str, str],
) -> tuple[datetime | None, datetime | None]:
    if within is None:
        return after, before
    if after is not None or before is not None:
        raise DomainError.of(
            ErrorCode.INVALID, f"Give {names[2]} or {names[0]}/{names[1]}, not both.", f"{path}.{names[2]}"
        )
    if within.days < 0 or within.hours < 0:
        raise DomainError.of(ErrorCode.OUT_OF_RANGE, "A window cannot be negative.", f"{path}.{names[2]}")
    if within.length() <= timedelta(0) or within.length() > MAX_WINDOW:
        raise DomainError.of(
            ErrorCode.OUT_OF_RANGE, "A window is at least one hour and at most 200 years.", f"{path}.{names[2]}"
        )
    return now - within.length(), None


def _activity(
    flt: ActivityFilter, definitions: Mapping[int, ActivityTypeDefinition], now: datetime, limits: SmartListLimits,
    path: str,
) -> ResolvedActivityFilter:
    issues: list[Issue] = []
    after, before = flt.occurred_after, flt.occurred_before
    try:
        after, before = _window(after, before, flt.within_last, now, path,
                                ("occurredAfter", "occurredBefore", "withinLast"))
    except DomainError as error:
        issues.extend(error.issues)
    for name, value in (("minTimes", flt.min_times), ("maxTimes", flt.max_times)):
        if value is not None and not 0 <= value <= MAX_TIMES:
            issues.append(Issue(ErrorCode.OUT_OF_RANGE, f"{path}.{name}", f"{name} must be 0 to {MAX_TIMES}."))
    if flt.min_times is not None and flt.max_times is not None and flt.min_times > flt.max_times:
        issues.append(Issue(ErrorCode.INVALID, f"{path}.maxTimes", "maxTimes must be at least minTimes."))
    for n, version in enumerate(flt.type_versions or ()):
        if version < 1:
            issues.append(Issue(ErrorCode.OUT_OF_RANGE, f"{path}.typeVersions.{n}", "Versions start at 1."))
    try:
        found = resolve(TimelineFilter((flt.activity_type,), where=flt.where), definitions, path, limits.max_conditions)
    except DomainError as error:
        # The timeline filter names a list of types; a smart-list filter names one.
        issues.extend(
            Issue(i.code, f"{path}.activityType", i.message) if i.field == f"{path}.activityTypes.0" else i
            for i in error.issues
        )
    if issues:
        raise DomainError(issues)
    return ResolvedActivityFilter(
        type_id=(found.type_ids or (0,))[0],
        did=flt.did,
        conditions=found.conditions,
        occurred_after=after,
        occurred_before=before,
        min_times=1 if flt.min_times is None else flt.min_times,
        max_times=flt.max_times,
        type_versions=flt.type_versions,
    )


def _person(flt: PersonFilter, now: datetime, limits: SmartListLimits, path: str) -> ResolvedPersonFilter:
    issues: list[Issue] = []
    after, before = flt.created_after, flt.created_before
    try:
        after, before = _window(after, before, flt.created_within_last, now, path,
                                ("createdAfter", "createdBefore", "createdWithinLast"))
    except DomainError as error:
        issues.extend(error.issues)
    if not flt.where and after is None and before is None:
        issues.append(Issue(ErrorCode.REQUIRED, f"{path}.where", "A person filter needs a condition or a window."))
    for n, cond in enumerate(flt.where):
        if cond.field == PRIMARY:
            issues.append(Issue(ErrorCode.UNKNOWN_FIELD, f"{path}.where.{n}.field", _PERSON_FIELDS))
    conditions: tuple[ResolvedCondition, ...] = ()
    try:
        found = resolve(TimelineFilter(("person",), where=flt.where), {0: PERSON_ATTRIBUTES}, path,
                        limits.max_conditions)
        conditions = found.conditions
    except DomainError as error:
        issues.extend(
            Issue(i.code, i.field, _PERSON_FIELDS) if i.code is ErrorCode.UNKNOWN_FIELD else i for i in error.issues
        )
    if issues:
        raise DomainError(issues)
    return ResolvedPersonFilter(conditions=conditions, created_after=after, created_before=before)


_PERSON_FIELDS = "Person filters name email, externalId, firstName, lastName or createdAt."

