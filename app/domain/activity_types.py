"""Activity-type definitions: field data types, field specs and the full definition of one version."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class FieldDataType(StrEnum):
    """The 11 data types a field may have (Marketo's set)."""

    STRING = "STRING"
    TEXT = "TEXT"
    BOOLEAN = "BOOLEAN"
    INTEGER = "INTEGER"
    FLOAT = "FLOAT"
    CURRENCY = "CURRENCY"
    DATE = "DATE"
    DATETIME = "DATETIME"
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    LINK = "LINK"


class TypeStatus(StrEnum):
    """Lifecycle of an activity type."""

    DRAFT = "DRAFT"
    APPROVED = "APPROVED"
    APPROVED_WITH_DRAFT = "APPROVED_WITH_DRAFT"
    DELETED = "DELETED"


PRIMARY = "primary"  # the name filters use for the primary field


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of an activity type, with optional constraints that fit its data type."""

    api_name: str
    name: str
    data_type: FieldDataType
    description: str | None = None
    required: bool = False
    max_length: int | None = None
    min_value: float | None = None
    max_value: float | None = None
    allowed_values: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "apiName": self.api_name,
            "name": self.name,
            "dataType": self.data_type.value,
            "description": self.description,
            "required": self.required,
            "maxLength": self.max_length,
            "minValue": self.min_value,
            "maxValue": self.max_value,
            "allowedValues": list(self.allowed_values) if self.allowed_values is not None else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FieldSpec:
        allowed = data.get("allowedValues")
        return cls(
            api_name=data["apiName"],
            name=data["name"],
            data_type=FieldDataType(data["dataType"]),
            description=data.get("description"),
            required=bool(data.get("required", False)),
            max_length=data.get("maxLength"),
            min_value=data.get("minValue"),
            max_value=data.get("maxValue"),
            allowed_values=tuple(allowed) if allowed is not None else None,
        )


@dataclass(frozen=True, slots=True)
class ActivityTypeDefinition:
    """Everything one version (or the draft) of an activity type says; stored as JSON per version."""

    api_name: str
    name: str
    trigger_name: str
    filter_name: str
    primary_field: FieldSpec
    description: str | None = None
    fields: tuple[FieldSpec, ...] = field(default_factory=tuple)

    def field_named(self, api_name: str) -> FieldSpec | None:
        if api_name == PRIMARY:
            return self.primary_field
        return next((f for f in self.fields if f.api_name == api_name), None)

    def with_changes(self, **changes: Any) -> ActivityTypeDefinition:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "apiName": self.api_name,
            "name": self.name,
            "description": self.description,
            "triggerName": self.trigger_name,
            "filterName": self.filter_name,
            "primaryField": self.primary_field.to_json(),
            "fields": [f.to_json() for f in self.fields],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ActivityTypeDefinition:
        return cls(
            api_name=data["apiName"],
            name=data["name"],
            description=data.get("description"),
            trigger_name=data["triggerName"],
            filter_name=data["filterName"],
            primary_field=FieldSpec.from_json(data["primaryField"]),
            fields=tuple(FieldSpec.from_json(f) for f in data.get("fields", [])),
        )
