"""GraphQL inputs of smart lists (definitions, saved-list changes); `to_domain()` builds the domain objects."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.api.activities.inputs import FieldCondition, as_utc
from app.api.enums import described_enum
from app.domain import smart_lists as domain

SmartListLogic = described_enum(
    domain.Logic,
    name="SmartListLogic",
    description=(
        "How the filters combine: ALL must hold, ANY may, or ADVANCED: `expression` over filter numbers "
        "(1 is the first filter) with and, or, not and parentheses, e.g. `1 and (2 or 3) and not 4`."
    ),
    values={
        "ALL": "Every filter must hold.",
        "ANY": "At least one filter must hold.",
        "ADVANCED": "`expression` combines the filters by number.",
    },
)


@strawberry.input(description='A relative window: "in the past N days/hours", ending when the list is evaluated.')
class RelativeWindowInput:
    days: int = strawberry.field(default=0, description="Days back.")
    hours: int = strawberry.field(default=0, description="Hours back (added to days).")

    def to_domain(self) -> domain.RelativeWindow:
        return domain.RelativeWindow(days=self.days, hours=self.hours)


def _window(value: RelativeWindowInput | None) -> domain.RelativeWindow | None:
    return value.to_domain() if value is not None else None


@strawberry.input(
    description=(
        "Did (or did not) the person do an activity type: field constraints, a time window, and how many times "
        "(Marketo's smart-list filter for a type, shown by its filterName, e.g. 'Deposited a Check')."
    )
)
class ActivityFilterInput:
    activity_type: str = strawberry.field(description="apiName of the activity type (standard or custom).")
    did: bool = strawberry.field(
        default=True, description="false: the person is in when the rest of this filter does NOT hold ('Not ...')."
    )
    where: list[FieldCondition] | None = strawberry.field(
        default=None, description='Field constraints (all must hold); `field: "primary"` is the primary field.'
    )
    occurred_after: datetime | None = strawberry.field(default=None, description="Date of activity: at or after.")
    occurred_before: datetime | None = strawberry.field(default=None, description="Date of activity: before.")
    within_last: RelativeWindowInput | None = strawberry.field(
        default=None, description="Date of activity: in the past N days/hours (instead of occurredAfter/Before)."
    )
    min_times: int | None = strawberry.field(
        default=None, description="Min number of times (default 1; 0 with maxTimes means 'at most maxTimes')."
    )
    max_times: int | None = strawberry.field(default=None, description="Max number of times.")
    type_versions: list[int] | None = strawberry.field(
        default=None, description="Only activities recorded against these versions of the type."
    )

    def to_domain(self) -> domain.ActivityFilter:
        return domain.ActivityFilter(
            activity_type=self.activity_type,
            did=self.did,
            where=tuple(c.to_domain() for c in self.where or ()),
            occurred_after=as_utc(self.occurred_after),
            occurred_before=as_utc(self.occurred_before),
            within_last=_window(self.within_last),
            min_times=self.min_times,
            max_times=self.max_times,
            type_versions=tuple(self.type_versions) if self.type_versions is not None else None,
        )


@strawberry.input(
    description=(
        "Conditions on the person: `where` names email, externalId, firstName, lastName or createdAt (e.g. email "
        "ENDS_WITH '@bank.com', externalId IS_EMPTY), and a creation window."
    )
)
class PersonFilterInput:
    where: list[FieldCondition] | None = strawberry.field(default=None, description="Conditions (all must hold).")
    created_after: datetime | None = strawberry.field(default=None, description="Created at or after.")
    created_before: datetime | None = strawberry.field(default=None, description="Created before.")
    created_within_last: RelativeWindowInput | None = strawberry.field(
        default=None, description="Created in the past N days/hours."
    )

    def to_domain(self) -> domain.PersonFilter:
        return domain.PersonFilter(
            where=tuple(c.to_domain() for c in self.where or ()),
            created_after=as_utc(self.created_after),
            created_before=as_utc(self.created_before),
            created_within_last=_window(self.created_within_last),
        )


@strawberry.input(one_of=True, description="One numbered filter of a smart list: give exactly one of the two.")
class SmartListFilterInput:
    activity: ActivityFilterInput | None = strawberry.field(default=strawberry.UNSET, description="An activity filter.")
    person: PersonFilterInput | None = strawberry.field(default=strawberry.UNSET, description="A person filter.")

    def to_domain(self) -> domain.Filter:
        if self.activity:
            return self.activity.to_domain()
        assert self.person  # @oneOf: exactly one is given, and not null
        return self.person.to_domain()


@strawberry.input(description="A smart-list definition: numbered filters (from 1, in order) and how they combine.")
class SmartListInput:
    filters: list[SmartListFilterInput] = strawberry.field(description="The filters, numbered from 1.")
    logic: SmartListLogic = strawberry.field(  # type: ignore[valid-type]
        default=domain.Logic.ALL, description="ALL (default), ANY or ADVANCED (then give `expression`)."
    )
    expression: str | None = strawberry.field(
        default=None, description="With logic ADVANCED: e.g. `1 and (2 or 3) and not 4`."
    )

    def to_domain(self) -> domain.SmartListDefinition:
        return domain.SmartListDefinition(
            filters=tuple(f.to_domain() for f in self.filters),
            logic=domain.Logic(self.logic),
            expression=self.expression,
        )


@strawberry.input(description="A new saved smart list.")
class CreateSmartListInput:
    name: str = strawberry.field(description="Unique name (case-insensitive), at most 255 characters.")
    description: str | None = strawberry.field(default=None, description="What the list is for.")
    definition: SmartListInput = strawberry.field(description="Who is in the list.")


@strawberry.input(description="Changes to a saved smart list; omitted parts stay as they are.")
class UpdateSmartListInput:
    name: str | None = strawberry.field(default=None, description="New unique name.")
    description: str | None = strawberry.field(default=None, description="New description.")
    definition: SmartListInput | None = strawberry.field(default=None, description="New definition.")
