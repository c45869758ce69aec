"""GraphQL documents and helpers shared by the registry API tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from app.services.runtime import Resources
from tests.api.timeline_support import create_person
from tests.conftest import GraphQL

FIELD = "apiName name description dataType required maxLength minValue maxValue allowedValues"
DEFINITION = f"apiName name description triggerName filterName primaryField {{ {FIELD} }} fields {{ {FIELD} }}"
TYPE = f"""
  id apiName name description triggerName filterName status isSystem version acceptsActivities
  createdAt updatedAt deletedAt
  primaryField {{ {FIELD} }} fields {{ {FIELD} }}
  draft {{ {DEFINITION} }}
  pendingChanges {{ field message breakingRule }}
  versions {{ number approvedAt approvedBy definition {{ {DEFINITION} }} }}
"""
PAYLOAD = f"activityType {{ {TYPE} }} errors {{ code field message }}"

CREATE = f"mutation($input: CreateActivityTypeInput!) {{ createActivityType(input: $input) {{ {PAYLOAD} }} }}"
UPDATE = f"""mutation($api: String!, $input: UpdateActivityTypeInput!) {{
  updateActivityType(apiName: $api, input: $input) {{ {PAYLOAD} }} }}"""
ADD_FIELDS = f"""mutation($api: String!, $fields: [FieldInput!]!) {{
  addActivityTypeFields(apiName: $api, fields: $fields) {{ {PAYLOAD} }} }}"""
UPDATE_FIELD = f"""mutation($api: String!, $field: String!, $input: FieldUpdateInput!) {{
  updateActivityTypeField(apiName: $api, field: $field, input: $input) {{ {PAYLOAD} }} }}"""
REMOVE_FIELD = f"""mutation($api: String!, $field: String!) {{
  removeActivityTypeField(apiName: $api, field: $field) {{ {PAYLOAD} }} }}"""
APPROVE = f"mutation($api: String!) {{ approveActivityType(apiName: $api) {{ {PAYLOAD} }} }}"
DISCARD = f"mutation($api: String!) {{ discardActivityTypeDraft(apiName: $api) {{ {PAYLOAD} }} }}"
DELETE = f"mutation($api: String!) {{ deleteActivityType(apiName: $api) {{ {PAYLOAD} }} }}"
GET = f"query($api: String!) {{ activityType(apiName: $api) {{ {TYPE} }} }}"
LIST = """query($first: Int, $after: String, $status: ActivityTypeStatus, $includeSystem: Boolean) {
  activityTypes(first: $first, after: $after, status: $status, includeSystem: $includeSystem) {
    edges { cursor node { apiName status isSystem version } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


def deposit_input(api_name: str = "depositCheck", **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "apiName": api_name,
        "name": f"Deposit Check {api_name}",
        "triggerName": f"Deposits a Check {api_name}",
        "filterName": f"Deposited a Check {api_name}",
        "description": "A customer deposited a check.",
        "primaryField": {"apiName": "branch", "name": "Branch", "dataType": "STRING", "required": True},
        "fields": [
            {"apiName": "amount", "name": "Amount", "dataType": "CURRENCY", "required": True, "minValue": 0},
            {"apiName": "currency", "name": "Currency", "dataType": "STRING", "allowedValues": ["USD", "EUR"]},
            {"apiName": "note", "name": "Note", "dataType": "TEXT", "maxLength": 500},
        ],
    }
    base.update(overrides)
    return base


async def mutate(gql: GraphQL, document: str, **variables: Any) -> dict[str, Any]:
    """The payload of the single mutation in `document`; fails on top-level errors."""
    body = await gql(document, variables)
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


async def ok(gql: GraphQL, document: str, **variables: Any) -> dict[str, Any]:
    payload = await mutate(gql, document, **variables)
    assert payload["errors"] == [], payload["errors"]
    activity_type: dict[str, Any] = payload["activityType"]
    return activity_type


async def refused(gql: GraphQL, document: str, **variables: Any) -> list[dict[str, Any]]:
    payload = await mutate(gql, document, **variables)
    assert payload["activityType"] is None, payload
    assert payload["errors"], payload
    errors: list[dict[str, Any]] = payload["errors"]
    return errors


async def create_approved(gql: GraphQL, api_name: str = "depositCheck", **overrides: Any) -> dict[str, Any]:
    await ok(gql, CREATE, input=deposit_input(api_name, **overrides))
    return await ok(gql, APPROVE, api=api_name)


async def record_use(resources: Resources, api_name: str) -> None:
    """Simulate ingestion: one activity row (and its person) of the type's live version, inserted directly."""
    person_id = await create_person(resources, f"{api_name}@x.io")
    async with resources.db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO activity (person_id, occurred_at, activity_type_id, type_version, primary_value, fields) "
                "SELECT :p, now(), id, current_version, '\"Main St\"'::jsonb, '{\"amount\": 5}'::jsonb "
                "FROM activity_type WHERE api_name = :api"
            ),
            {"p": person_id, "api": api_name},
        )
