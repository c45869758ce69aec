"""GraphQL ActivityType, its fields, versions and connection, built from domain snapshots."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from app.api.connections import KEYSET_CURSOR, Connection, connection
from app.api.enums import described_enum
from app.api.errors import UserError
from app.api.global_ids import ROW_ID, Node, to_global_id
from app.domain.activity_types import ActivityTypeDefinition as DomainDefinition
from app.domain.activity_types import FieldDataType, FieldSpec, TypeStatus
from app.domain.compatibility import Change, diff
from app.domain.registry_model import ActivityTypeSnapshot, ApprovedVersion

FieldDataTypeEnum = described_enum(
    FieldDataType,
    name="FieldDataType",
    description="Data type of a field; decides coercions and constraints.",
    values={
        "STRING": "Text, at most the field's length limit (default limits.maxStringLength).",
        "TEXT": "Long text, with a larger length limit than STRING.",
        "BOOLEAN": "true or false.",
        "INTEGER": "Whole number.",
        "FLOAT": "Floating-point number.",
        "CURRENCY": "Amount of money: a number kept exactly to 4 decimal places.",
        "DATE": "Calendar date `YYYY-MM-DD`.",
        "DATETIME": "Instant, ISO 8601 with an offset (one without is refused), returned in UTC (`...Z`).",
        "EMAIL": "Email address, validated.",
        "PHONE": "Phone number: 3 to 15 digits, with + ( ) - . / allowed.",
        "LINK": "Absolute http(s) URL.",
    },
)
ActivityTypeStatusEnum = described_enum(
    TypeStatus,
    name="ActivityTypeStatus",
    description="Where an activity type is in its lifecycle.",
    values={
        "DRAFT": "Never approved; accepts no activities.",
        "APPROVED": "Live: activities are validated against its current version.",
        "APPROVED_WITH_DRAFT": "Live, with pending changes that `approveActivityType` publishes as a new version.",
        "DELETED": "Soft-deleted; accepts no activities, its activities stay readable.",
    },
)


@strawberry.type(name="Field", description="One field of an activity type and its constraints.")
class Field:
    api_name: str = strawberry.field(description="Identifier used in activity `fields` and CSV headers.")
    name: str = strawberry.field(description="Display name.")
    description: str | None = strawberry.field(description="What the field means.")
    data_type: FieldDataTypeEnum = strawberry.field(description="Data type.")  # type: ignore[valid-type]
    required: bool = strawberry.field(description="Whether every activity must have a value.")
    max_length: int | None = strawberry.field(description="Longest allowed string value, in characters.")
    min_value: float | None = strawberry.field(description="Smallest allowed numeric value.")
    max_value: float | None = strawberry.field(description="Largest allowed numeric value.")
    allowed_values: list[str] | None = strawberry.field(description="The only values allowed (string types).")

    @classmethod
    def from_domain(cls, spec: FieldSpec) -> Field:
        return cls(
            api_name=spec.api_name,
            name=spec.name,
            description=spec.description,
            data_type=spec.data_type,
            required=spec.required,
            max_length=spec.max_length,
            min_value=spec.min_value,
            max_value=spec.max_value,
            allowed_values=list(spec.allowed_values) if spec.allowed_values is not None else None,
        )


@strawberry.type(description="A complete definition of an activity type: a draft or one approved version.")
class ActivityTypeDefinition:
    api_name: str = strawberry.field(description="Identifier of the type.")
    name: str = strawberry.field(description="Display name.")
    description: str | None = strawberry.field(description="What the activity means.")
    trigger_name: str = strawberry.field(description="Name of the trigger on this activity (e.g. 'Attends an Event').")
    filter_name: str = strawberry.field(description="Name of the filter on this activity (e.g. 'Attended an Event').")
    primary_field: Field = strawberry.field(description="The primary field, shown with every activity.")
    fields: list[Field] = strawberry.field(description="Additional fields, in definition order.")

    @classmethod
    def from_domain(cls, d: DomainDefinition) -> ActivityTypeDefinition:
        return cls(
            api_name=d.api_name,
            name=d.name,
            description=d.description,
            trigger_name=d.trigger_name,
            filter_name=d.filter_name,
            primary_field=Field.from_domain(d.primary_field),
            fields=[Field.from_domain(f) for f in d.fields],
        )


@strawberry.type(description="An approved, immutable version of an activity type.")
class ActivityTypeVersion:
    number: int = strawberry.field(description="Version number, from 1; activities record the one they used.")
    approved_at: datetime | None = strawberry.field(description="When it was approved.")
    approved_by: str | None = strawberry.field(description="Who approved it.")
    definition: ActivityTypeDefinition = strawberry.field(description="The definition of this version.")

    @classmethod
    def from_domain(cls, v: ApprovedVersion) -> ActivityTypeVersion:
        return cls(
            number=v.number,
            approved_at=v.approved_at,
            approved_by=v.approved_by,
            definition=ActivityTypeDefinition.from_domain(v.definition),
        )


@strawberry.type(description="One difference between the live version and the draft.")
class ActivityTypeChange:
    field: str | None = strawberry.field(description="Path of what changed, e.g. `fields.amount`; null for the type.")
    message: str = strawberry.field(description="What changed.")
    breaking_rule: str | None = strawberry.field(
        description=(
            "The compatibility rule this change breaks (e.g. FIELD_REMOVED), or null when additive. Breaking "
            "changes are refused at approval once activities of the type exist."
        )
    )

    @classmethod
    def from_domain(cls, change: Change) -> ActivityTypeChange:
        rule = change.rule.value if change.rule is not None else None
        return cls(field=change.field, message=change.message, breaking_rule=rule)


@strawberry.type(
    description=(
        "A kind of activity (standard or custom). Its top-level fields show the live (approved) definition, "
        "or the draft while the type has never been approved; `draft` shows pending changes."
    )
)
class ActivityType(Node):
    row_id: strawberry.ID = strawberry.field(description=ROW_ID)
    api_name: str = strawberry.field(description="Unique, immutable identifier used when recording activities.")
    name: str = strawberry.field(description="Unique display name.")
    description: str | None = strawberry.field(description="What the activity means.")
    trigger_name: str = strawberry.field(description="Unique name of the trigger on this activity.")
    filter_name: str = strawberry.field(description="Unique name of the filter on this activity.")
    status: ActivityTypeStatusEnum = strawberry.field(description="Lifecycle status.")  # type: ignore[valid-type]
    is_system: bool = strawberry.field(description="True for the seeded, read-only standard types.")
    primary_field: Field = strawberry.field(description="The primary field, shown with every activity.")
    fields: list[Field] = strawberry.field(description="Additional fields, in definition order.")
    version: int | None = strawberry.field(description="Live version number; null if never approved.")
    accepts_activities: bool = strawberry.field(
        description="Whether activities can be recorded now (approved and not deleted)."
    )
    created_at: datetime | None = strawberry.field(description="When the type was created.")
    updated_at: datetime | None = strawberry.field(description="When the type or its draft last changed.")
    deleted_at: datetime | None = strawberry.field(description="When the type was deleted, if it was.")
    draft: ActivityTypeDefinition | None = strawberry.field(
        description="Pending definition awaiting approval, or null when there is none."
    )
    pending_changes: list[ActivityTypeChange] = strawberry.field(
        description="What approving the draft would change relative to the live version, breaking ones first."
    )
    versions: list[ActivityTypeVersion] = strawberry.field(description="Every approved version, oldest first.")

    @classmethod
    def from_domain(cls, t: ActivityTypeSnapshot) -> ActivityType:
        shown = t.shown
        pending = diff(t.live, t.draft) if t.live is not None and t.draft is not None else []
        return cls(
            id=to_global_id("ActivityType", t.id),
            row_id=strawberry.ID(str(t.id)),
            api_name=t.api_name,
            name=shown.name,
            description=shown.description,
            trigger_name=shown.trigger_name,
            filter_name=shown.filter_name,
            status=t.status,
            is_system=t.is_system,
            primary_field=Field.from_domain(shown.primary_field),
            fields=[Field.from_domain(f) for f in shown.fields],
            version=t.version,
            accepts_activities=t.version is not None and t.deleted_at is None,
            created_at=t.created_at,
            updated_at=t.updated_at,
            deleted_at=t.deleted_at,
            draft=ActivityTypeDefinition.from_domain(t.draft) if t.draft is not None else None,
            pending_changes=[ActivityTypeChange.from_domain(c) for c in pending],
            versions=[ActivityTypeVersion.from_domain(v) for v in t.versions],
        )


@connection("A page of activity types, oldest first.", edges="The activity types on this page.",
            edge="An activity type and the opaque cursor that points at it.", node="The activity type.",
            cursor=KEYSET_CURSOR)
class ActivityTypeConnection(Connection[ActivityType]):
    pass


@strawberry.type(description="Result of an activity-type mutation: the type as it is now, or typed errors.")
class ActivityTypePayload:
    activity_type: ActivityType | None = strawberry.field(
        default=None, description="The activity type after the change; null when the change was refused."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why the change was refused; empty on success."
    )



@strawberry.type(description="The outcome of validating one record against a type, without storing anything.")
class RecordCheck:
    valid: bool = strawberry.field(description="Whether the record would be accepted.")
    version: int | None = strawberry.field(description="Version checked against; null when checked against the draft.")
    primary_value: JSON | None = strawberry.field(description="The primary value as it would be stored.")
    fields: JSON | None = strawberry.field(description="Field values as they would be stored (normalised).")
    errors: list[UserError] = strawberry.field(description="Every problem, with paths `primaryValue`/`fields.x`.")
