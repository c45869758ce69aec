"""GraphQL inputs for timeline filters and cross-person activity search; `to_domain()` parses them."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from strawberry.scalars import JSON

from app.api.enums import described_enum
from app.api.global_ids import raw_id
from app.domain import filters as domain
from app.domain.activities import parse_id
from app.domain.errors import DomainError, ErrorCode, Issue

FieldOperator = described_enum(
    domain.FieldOperator,
    name="FieldOperator",
    description=(
        "Condition operators. Text-like fields (STRING TEXT EMAIL PHONE LINK) compare case-insensitively: "
        "EQUALS NOT_EQUALS CONTAINS NOT_CONTAINS STARTS_WITH NOT_STARTS_WITH ENDS_WITH IN NOT_IN IS_EMPTY "
        "IS_NOT_EMPTY. Numbers (INTEGER FLOAT CURRENCY), DATE and DATETIME: EQUALS NOT_EQUALS IN NOT_IN "
        "GREATER_THAN GREATER_THAN_OR_EQUAL LESS_THAN LESS_THAN_OR_EQUAL BETWEEN (inclusive) IS_EMPTY IS_NOT_EMPTY. "
        "BOOLEAN: EQUALS NOT_EQUALS IS_EMPTY IS_NOT_EMPTY. The negations (NOT_EQUALS NOT_CONTAINS NOT_STARTS_WITH "
        "NOT_IN) also match empty values."
    ),
    values={
        "EQUALS": "Equal to `value` (text: case-insensitively).",
        "NOT_EQUALS": "Not equal to `value`; also matches an empty field.",
        "CONTAINS": "Text containing `value`.",
        "NOT_CONTAINS": "Text not containing `value`; also matches an empty field.",
        "STARTS_WITH": "Text starting with `value`.",
        "NOT_STARTS_WITH": "Text not starting with `value`; also matches an empty field.",
        "ENDS_WITH": "Text ending with `value`.",
        "IN": "Equal to one of the values in the list `value`.",
        "NOT_IN": "Equal to none of the values in the list `value`; also matches an empty field.",
        "GREATER_THAN": "Greater (later) than `value`.",
        "GREATER_THAN_OR_EQUAL": "Greater (later) than or equal to `value`.",
        "LESS_THAN": "Less (earlier) than `value`.",
        "LESS_THAN_OR_EQUAL": "Less (earlier) than or equal to `value`.",
        "BETWEEN": "Within `[low, high]`, both ends included.",
        "IS_EMPTY": "The field is absent or null (no `value`).",
        "IS_NOT_EMPTY": "The field has a value (no `value`).",
    },
)


def as_utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@strawberry.input(description='A condition on the primary field (`field: "primary"`) or an additional field.')
class FieldCondition:
    field: str = strawberry.field(description='API name of an additional field, or "primary".')
    op: FieldOperator = strawberry.field(description="Operator; it must fit the field's data type.")  # type: ignore[valid-type]
    value: JSON | None = strawberry.field(
        default=None,
        description="Operand: one value, a list for IN, [low, high] for BETWEEN, nothing for IS_EMPTY/IS_NOT_EMPTY.",
    )

    def to_domain(self) -> domain.FieldCondition:
        return domain.FieldCondition(field=self.field, op=domain.FieldOperator(self.op), value=self.value)


@strawberry.input(description="Which activities to return; all given criteria must hold.")
class TimelineFilter:
    activity_types: list[str] | None = strawberry.field(
        default=None, description="Only these activity types (API names, standard or custom)."
    )
    occurred_after: datetime | None = strawberry.field(
        default=None, description="Only activities that occurred at or after this instant."
    )
    occurred_before: datetime | None = strawberry.field(
        default=None, description="Only activities that occurred strictly before this instant."
    )
    ingested_after: datetime | None = strawberry.field(
        default=None,
        description="Only activities stored at or after this instant (incremental sync; see `syncWatermark`).",
    )
    where: list[FieldCondition] | None = strawberry.field(
        default=None, description="Field conditions (all must hold); they need `activityTypes`."
    )

    def to_domain(self) -> domain.TimelineFilter:
        return domain.TimelineFilter(
            activity_types=tuple(self.activity_types) if self.activity_types is not None else None,
            occurred_after=as_utc(self.occurred_after),
            occurred_before=as_utc(self.occurred_before),
            ingested_after=as_utc(self.ingested_after),
            where=tuple(c.to_domain() for c in self.where or ()),
        )


@strawberry.input(description="A timeline filter across all persons, like a smart list.")
class ActivitySearch(TimelineFilter):
    person_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only activities of these persons (by id)."
    )
    person_emails: list[str] | None = strawberry.field(
        default=None, description="Only activities of these persons (by email, case-insensitive)."
    )
    person_external_ids: list[str] | None = strawberry.field(
        default=None, description="Only activities of these persons (by external id)."
    )
    min_activities_per_person: int | None = strawberry.field(
        default=None,
        description="Only persons with at least this many matching activities ('did X at least N times').",
    )

    def to_domain(self, path: str = "filter") -> domain.ActivitySearch:
        base = TimelineFilter.to_domain(self)
        ids: list[int] = []
        issues: list[Issue] = []
        for i, raw in enumerate(self.person_ids or ()):
            try:
                ids.append(parse_id(raw_id(raw, "Person")))
            except ValueError:
                issues.append(Issue(ErrorCode.INVALID, f"{path}.personIds.{i}", f"'{raw}' is not a person id."))
        if issues:
            raise DomainError(issues)
        return domain.ActivitySearch(
            activity_types=base.activity_types,
            occurred_after=base.occurred_after,
            occurred_before=base.occurred_before,
            ingested_after=base.ingested_after,
            where=base.where,
            person_ids=tuple(ids),
            person_emails=tuple(self.person_emails or ()),
            person_external_ids=tuple(self.person_external_ids or ()),
            min_activities_per_person=self.min_activities_per_person,
        )
