"""Marketo's JSON shapes of activity types and attributes, to and from our domain objects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.api.rest.envelope import RestError
from app.domain.activity_types import ActivityTypeDefinition, FieldDataType, FieldSpec, TypeStatus
from app.domain.registry_model import ActivityTypeSnapshot

STATUS = {
    TypeStatus.DRAFT: "draft",
    TypeStatus.APPROVED: "approved",
    TypeStatus.APPROVED_WITH_DRAFT: "approved with draft",
    TypeStatus.DELETED: "deleted",
}


def marketo_time(value: datetime | None) -> str | None:
    """Marketo's `2016-02-03T22:36:23Z` (UTC, whole seconds): clients parse exactly this format."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def data_type(value: object, where: str) -> FieldDataType:
    if value is None:
        return FieldDataType.STRING  # Marketo's default when dataType is omitted
    try:
        return FieldDataType(str(value).upper())
    except ValueError:
        names = ", ".join(t.value.lower() for t in FieldDataType)
        raise RestError(1003, f"{where}.dataType: '{value}' is not one of {names}.") from None


def text(data: dict[str, Any], name: str, where: str, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise RestError(1002, f"{where}{name}: a value is required.")
        return None
    if not isinstance(value, str):
        raise RestError(1003, f"{where}{name}: expected a string.")
    return value


def attribute_in(data: object, where: str) -> FieldSpec:
    """A Marketo attribute `{apiName, name, dataType, description}` as our field."""
    if not isinstance(data, dict):
        raise RestError(1003, f"{where}: expected an object.")
    return FieldSpec(
        api_name=text(data, "apiName", f"{where}.") or "",
        name=text(data, "name", f"{where}.") or "",
        data_type=data_type(data.get("dataType"), where),
        description=text(data, "description", f"{where}.", required=False),
    )


def definition_in(data: dict[str, Any]) -> ActivityTypeDefinition:
    return ActivityTypeDefinition(
        api_name=text(data, "apiName", "") or "",
        name=text(data, "name", "") or "",
        trigger_name=text(data, "triggerName", "") or "",
        filter_name=text(data, "filterName", "") or "",
        description=text(data, "description", "", required=False),
        primary_field=attribute_in(data.get("primaryAttribute"), "primaryAttribute"),
    )


def attribute_out(spec: FieldSpec, primary: bool) -> dict[str, Any]:
    out = {"apiName": spec.api_name, "name": spec.name, "dataType": spec.data_type.value.lower(), "isPrimary": primary}
    if spec.description is not None:
        out["description"] = spec.description
    return out


def type_out(snapshot: ActivityTypeSnapshot, definition: ActivityTypeDefinition) -> dict[str, Any]:
    """`CustomActivityType`: the given definition (live or draft) of a type, with its status and times."""
    out: dict[str, Any] = {
        "id": snapshot.id,
        "apiName": definition.api_name,
        "name": definition.name,
        "triggerName": definition.trigger_name,
        "filterName": definition.filter_name,
        "primaryAttribute": attribute_out(definition.primary_field, True),
        "attributes": [attribute_out(f, False) for f in definition.fields],
        "status": STATUS[snapshot.status],
        "createdAt": marketo_time(snapshot.created_at),
        "updatedAt": marketo_time(snapshot.updated_at),
    }
    if definition.description is not None:
        out["description"] = definition.description
    return out


def activity_type_out(type_id: int, definition: ActivityTypeDefinition) -> dict[str, Any]:
    """`ActivityType` of GET /rest/v1/activities/types.json (standard and custom alike)."""
    out: dict[str, Any] = {
        "id": type_id,
        "name": definition.name,
        "apiName": definition.api_name,
        "primaryAttribute": {"name": definition.primary_field.name, "apiName": definition.primary_field.api_name,
                             "dataType": definition.primary_field.data_type.value.lower()},
        "attributes": [{"name": f.name, "apiName": f.api_name, "dataType": f.data_type.value.lower()}
                       for f in definition.fields],
    }
    if definition.description is not None:
        out["description"] = definition.description
    return out
