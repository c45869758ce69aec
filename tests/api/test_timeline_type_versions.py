"""An activity's `typeVersion` leads to the exact definition it was validated against (docs recipe)."""

from __future__ import annotations

import json

from app.domain.activity_types import ActivityTypeDefinition, FieldDataType, FieldSpec
from app.services.runtime import Resources
from tests.api.timeline_support import T0, Row, create_person, create_type, insert, minutes
from tests.conftest import GraphQL

# The query docs/timelines-and-search.md shows: the versions come with the type (one load per request).
RECIPE = """query($id: ID!) { person(id: $id) { timeline(first: 50) { edges { node {
  typeVersion activityType { apiName version versions { number definition {
    primaryField { apiName dataType } fields { apiName dataType } } } } } } } } }"""


async def test_type_version_selects_the_definition_the_activity_was_validated_against(
    gql: GraphQL, resources: Resources
) -> None:
    type_id = await create_type(resources, "depositCheck", FieldDataType.STRING, [("amount", FieldDataType.CURRENCY)])
    person = await create_person(resources, "ann@example.com")
    await insert(resources, [Row(person, type_id, T0, "Main St", {"amount": 10})])  # validated against version 1
    version_2 = ActivityTypeDefinition(
        api_name="depositCheck",
        name="depositCheck name",
        trigger_name="depositCheck trigger",
        filter_name="depositCheck filter",
        primary_field=FieldSpec("main", "Main", FieldDataType.STRING),
        fields=(FieldSpec("amount", "Amount", FieldDataType.CURRENCY), FieldSpec("note", "Note", FieldDataType.TEXT)),
    )
    async with resources.db.raw() as conn:
        await conn.execute(
            "INSERT INTO activity_type_version (activity_type_id, version, definition) VALUES ($1, 2, $2::text::jsonb)",
            type_id,
            json.dumps(version_2.to_json()),
        )
        await conn.execute("UPDATE activity_type SET current_version = 2 WHERE id = $1", type_id)
        await conn.execute(
            "INSERT INTO activity (person_id, activity_type_id, type_version, occurred_at, primary_value, fields) "
            'VALUES ($1, $2, 2, $3, \'"Elm St"\', \'{"note": "hi"}\')',
            person,
            type_id,
            T0 + minutes(1),
        )

    body = await gql(RECIPE, {"id": str(person)})
    assert "errors" not in body, body
    nodes = [e["node"] for e in body["data"]["person"]["timeline"]["edges"]]
    assert [(n["typeVersion"], n["activityType"]["version"]) for n in nodes] == [(2, 2), (1, 2)]
    for node in nodes:
        (used,) = [v for v in node["activityType"]["versions"] if v["number"] == node["typeVersion"]]
        names = [f["apiName"] for f in used["definition"]["fields"]]
        assert names == (["amount", "note"] if node["typeVersion"] == 2 else ["amount"])
