"""GraphQL inputs for defining and changing activity types, and their conversion to domain values."""

from __future__ import annotations

from typing import Any

import strawberry

from app.api.registry.types import FieldDataTypeEnum
from app.domain.activity_types import ActivityTypeDefinition, FieldDataType, FieldSpec


@strawberry.input(description="A new field of an activity type.")
class FieldInput:
    api_name: str = strawberry.field(description="Identifier: a letter, then letters, digits or '_' (max 64).")
    name: str = strawberry.field(description="Display name, unique within the type.")
    data_type: FieldDataTypeEnum = strawberry.field(  # type: ignore[valid-type]
        default=FieldDataType.STRING, description="Data type (default STRING)."
    )
    description: str | None = strawberry.field(default=None, description="What the field means.")
    required: bool = strawberry.field(default=False, description="Whether every activity must have a value.")
    max_length: int | None = strawberry.field(default=None, description="Longest value in characters (string types).")
    min_value: float | None = strawberry.field(default=None, description="Smallest value (numeric types).")
    max_value: float | None = strawberry.field(default=None, description="Largest value (numeric types).")
    allowed_values: list[str] | None = strawberry.field(
        default=None, description="The only values accepted (string types)."
    )

    def to_domain(self) -> FieldSpec:
        return FieldSpec(
            api_name=self.api_name,
            name=self.name,
            data_type=FieldDataType(self.data_type),
            description=self.description,
            required=self.required,
            max_length=self.max_length,
            min_value=self.min_value,
            max_value=self.max_value,
            allowed_values=tuple(self.allowed_values) if self.allowed_values is not None else None,
        )


@strawberry.input(description="A new activity type; it starts as a DRAFT and accepts activities once approved.")
class CreateActivityTypeInput:
    api_name: str = strawberry.field(description="Unique, immutable identifier (e.g. `depositCheck`).")
    name: str = strawberry.field(description="Unique display name, e.g. 'Deposit Check'.")
    trigger_name: str = strawberry.field(description="Unique trigger name, e.g. 'Deposits a Check'.")
    filter_name: str = strawberry.field(description="Unique filter name, e.g. 'Deposited a Check'.")
    primary_field: FieldInput = strawberry.field(description="The primary field, shown with every activity.")
    description: str | None = strawberry.field(default=None, description="What the activity means.")
    fields: list[FieldInput] = strawberry.field(default_factory=list, description="Additional fields.")

    def to_domain(self) -> ActivityTypeDefinition:
        return ActivityTypeDefinition(
            api_name=self.api_name,
            name=self.name,
            trigger_name=self.trigger_name,
            filter_name=self.filter_name,
            description=self.description,
            primary_field=self.primary_field.to_domain(),
            fields=tuple(f.to_domain() for f in self.fields),
        )


@strawberry.input(description="Changes to an activity type; omitted fields keep their value. Goes to the draft.")
class UpdateActivityTypeInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New display name.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="New description; null clears.")
    trigger_name: str | None = strawberry.field(default=strawberry.UNSET, description="New trigger name.")
    filter_name: str | None = strawberry.field(default=strawberry.UNSET, description="New filter name.")
    primary_field: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="apiName of an additional field to make primary (breaking once activities exist).",
    )

    def to_changes(self) -> dict[str, Any]:
        return _given(self, ("name", "description", "trigger_name", "filter_name", "primary_field"))


@strawberry.input(description="Changes to one field; omitted attributes keep their value, null clears a constraint.")
class FieldUpdateInput:
    api_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Rename the field (breaking once activities exist)."
    )
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New display name.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="New description.")
    data_type: FieldDataTypeEnum | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="New data type (breaking once activities exist)."
    )
    required: bool | None = strawberry.field(default=strawberry.UNSET, description="Whether a value is required.")
    max_length: int | None = strawberry.field(default=strawberry.UNSET, description="Longest value; null clears.")
    min_value: float | None = strawberry.field(default=strawberry.UNSET, description="Smallest value; null clears.")
    max_value: float | None = strawberry.field(default=strawberry.UNSET, description="Largest value; null clears.")
    allowed_values: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="The only values accepted; null clears."
    )

    def to_changes(self) -> dict[str, Any]:
        changes = _given(
            self,
            (
                "api_name",
                "name",
                "description",
                "data_type",
                "required",
                "max_length",
                "min_value",
                "max_value",
                "allowed_values",
            ),
        )
        if changes.get("data_type") is not None:
            changes["data_type"] = FieldDataType(changes["data_type"])
        if changes.get("allowed_values") is not None:
            changes["allowed_values"] = tuple(changes["allowed_values"])
        return changes


def _given(obj: object, names: tuple[str, ...]) -> dict[str, Any]:
    """The attributes the client actually sent (null included), by snake_case name."""
    return {n: getattr(obj, n) for n in names if getattr(obj, n) is not strawberry.UNSET}
