"""Timeline JSON values reach the client as PostgreSQL stored them, on the compiled and the normal path alike."""

from __future__ import annotations

import json
from typing import Any

from app.services.runtime import Resources
from tests.api.execution.compiled.conftest import Apps
from tests.api.timeline_support import T0, Row, create_person, create_type, insert, minutes

QUERY = """query($id: ID!) { person(id: $id) { timeline(first: 10) {
  edges { node { idempotencyKey primaryValue fields } } } } }"""

# Stored as jsonb, each must come back as the JSON text PostgreSQL keeps for it, parsed exactly (Python's json keeps
# big integers whole): numbers past 64 bits, which orjson cannot encode from Python ints (such a timeline failed with
# a 500 before values passed through as text), 2.5e300 (jsonb writes all its digits) and text that needs escapes.
VALUES: list[tuple[Any, dict[str, Any]]] = [
    (123456789012345678901234567890, {"big": -98765432109876543210, "small": 1e-7}),
    ('quote " backslash \\ newline \n tab \t bell \u0007', {"emoji": "🙂 ünïcödé", "slash": "a/b", "empty": ""}),
    (None, {}),
    ([1, [2, [3, {"four": None}]]], {"nested": {"list": [True, False, None, 0, -0.5]}}),
    (0.1, {"float": 2.5e300}),
]


async def test_json_values_pass_through_exactly(resources: Resources, apps: Apps) -> None:
    type_id = await create_type(resources, "jsonCheck")
    person = await create_person(resources, "json@example.com")
    rows = [Row(person, type_id, T0 + minutes(i), primary, fields, key=f"k{i}")
            for i, (primary, fields) in enumerate(VALUES)]
    ids = await insert(resources, rows)
    async with resources.db.raw() as conn:  # a missing primary value (SQL NULL), as standard types may store it
        await conn.execute("UPDATE activity SET primary_value = NULL WHERE id = $1", ids[2])
        stored = {r["idempotency_key"]: (json.loads(r["p"]) if r["p"] is not None else None, json.loads(r["f"]))
                  for r in await conn.fetch("SELECT idempotency_key, primary_value::text AS p, fields::text AS f "
                                            "FROM activity WHERE person_id = $1", person)}
    assert stored["k0"][0] == VALUES[0][0] and stored["k0"][1]["big"] == VALUES[0][1]["big"]
    assert stored["k2"] == (None, {}) and stored["k4"][1]["float"] == 25 * 10**299
    body = json.dumps({"query": QUERY, "variables": {"id": str(person)}})
    answered = apps.plans.answered
    for client in (apps.compiled, apps.normal, apps.compiled):
        response = await apps.send(client, {"body": body, "headers": {"content-type": "application/json"}})
        assert response.status == 200, response.body
        edges = json.loads(response.body)["data"]["person"]["timeline"]["edges"]
        got = {e["node"]["idempotencyKey"]: (e["node"]["primaryValue"], e["node"]["fields"]) for e in edges}
        assert got == stored
    assert apps.plans.answered == answered + 1  # the second compiled request was answered by its plan
