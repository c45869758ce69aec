"""Custom activity types through the Marketo facade: its shapes and codes, the registry's rules, GraphQL agrees."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import bearer
from tests.api.marketo_support import TYPE_BODY, client_pair, codes, rest_client, token
from tests.conftest import GraphQL

BASE = "/rest/v1/activities/external/type"


async def _post(http: httpx.AsyncClient, auth: dict[str, str], path: str, body: Any = None) -> dict[str, Any]:
    response = await http.post(path, json=body, headers=auth) if body is not None else await http.post(
        path, headers=auth)
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


async def test_type_lifecycle_in_marketo_shapes(settings: Settings, resources: Resources, gql: GraphQL) -> None:
    async with rest_client(settings, resources) as http:
        auth = bearer(await token(http, await client_pair(resources)))
        created = await _post(http, auth, BASE + ".json", TYPE_BODY)
        assert created["success"] is True, created
        [t] = created["result"]
        assert t["status"] == "draft" and isinstance(t["id"], int) and t["apiName"] == "attendConference"
        assert t["primaryAttribute"] == {"apiName": "conferenceName", "name": "Conference Name",
                                         "dataType": "string", "isPrimary": True}
        assert t["attributes"] == [] and t["createdAt"].endswith("Z")

        attrs = [{"apiName": "uRL", "name": "URL", "dataType": "link"},
                 {"apiName": "fee", "name": "Fee", "dataType": "currency", "description": "Paid"}]
        added = await _post(http, auth, f"{BASE}/attendConference/attributes/create.json", {"attributes": attrs})
        assert [a["dataType"] for a in added["result"][0]["attributes"]] == ["link", "currency"]

        approved = (await _post(http, auth, f"{BASE}/attendConference/approve.json"))["result"][0]
        assert approved["status"] == "approved"

        # Version 2 in a draft: describe shows the live version unless draft=true.
        more = [{"apiName": "room", "name": "Room", "dataType": "string"}]
        draft = (await _post(http, auth, f"{BASE}/attendConference/attributes/create.json",
                             {"attributes": more}))["result"][0]
        assert draft["status"] == "approved with draft"
        live = (await http.get(f"{BASE}/attendConference/describe.json", headers=auth)).json()["result"][0]
        assert [a["apiName"] for a in live["attributes"]] == ["uRL", "fee"]
        shown = (await http.get(f"{BASE}/attendConference/describe.json", params={"draft": "true"},
                                headers=auth)).json()["result"][0]
        assert [a["apiName"] for a in shown["attributes"]] == ["uRL", "fee", "room"]

        renamed = await _post(http, auth, f"{BASE}/attendConference/attributes/update.json",
                              {"attributes": [{"apiName": "room", "name": "Room Number"}]})
        assert renamed["result"][0]["attributes"][2]["name"] == "Room Number"
        updated = await _post(http, auth, f"{BASE}/attendConference.json",
                              {"name": "Attend a Conference", "description": "v2"})
        assert updated["result"][0]["name"] == "Attend a Conference"
        assert (await _post(http, auth, f"{BASE}/attendConference/approve.json"))["result"][0]["status"] == "approved"

        listed = (await http.get("/rest/v1/activities/external/types.json", headers=auth)).json()["result"]
        assert [x["apiName"] for x in listed] == ["attendConference"]  # custom types only
        assert listed[0]["name"] == "Attend a Conference"

        # The same type through GraphQL: version 2 with the attributes added over REST.
        seen = await gql("""{ activityType(apiName: "attendConference") { status version name
            fields { apiName name dataType } } }""")
        graph = seen["data"]["activityType"]
        assert graph["status"] == "APPROVED" and graph["version"] == 2 and graph["name"] == "Attend a Conference"
        assert [(f["apiName"], f["dataType"]) for f in graph["fields"]] == [
            ("uRL", "LINK"), ("fee", "CURRENCY"), ("room", "STRING")]

        # Draft, then discard it; then delete the (unused) type.
        await _post(http, auth, f"{BASE}/attendConference/attributes/delete.json", {"attributes": [{"apiName": "fee"}]})
        discarded = (await _post(http, auth, f"{BASE}/attendConference/discardDraft.json"))["result"][0]
        assert discarded["status"] == "approved" and len(discarded["attributes"]) == 3
        deleted = await _post(http, auth, f"{BASE}/attendConference/delete.json")
        assert deleted["success"] is True and deleted["result"][0]["apiName"] == "attendConference"
        gone = (await http.get(f"{BASE}/attendConference/describe.json", headers=auth)).json()
        assert codes(gone) == ["1013"]


async def test_type_refusals_carry_marketo_codes(
    settings: Settings, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The services read the deployment's limits from the resources, as in test_registry_refusals.
    monkeypatch.setattr(resources.settings.limits, "max_activity_types", 1)
    monkeypatch.setattr(resources.settings.limits, "max_fields_per_type", 1)
    async with rest_client(settings, resources) as http:
        auth = bearer(await token(http, await client_pair(resources)))
        assert (await _post(http, auth, BASE + ".json", TYPE_BODY))["success"] is True
        duplicate = await _post(http, auth, BASE + ".json", TYPE_BODY)
        assert codes(duplicate) == ["1003"] and "taken" in duplicate["errors"][0]["message"]
        other = {**TYPE_BODY, "apiName": "other", "name": "Other", "triggerName": "Others", "filterName": "Othered"}
        assert codes(await _post(http, auth, BASE + ".json", other)) == ["1027"]
        bad_type = {**other, "primaryAttribute": {"apiName": "x", "name": "X", "dataType": "object"}}
        assert codes(await _post(http, auth, BASE + ".json", bad_type)) == ["1003"]
        two = [{"apiName": "a", "name": "A", "dataType": "string"}, {"apiName": "b", "name": "B", "dataType": "string"}]
        assert codes(await _post(http, auth, f"{BASE}/attendConference/attributes/create.json",
                                 {"attributes": two})) == ["1028"]
        assert codes(await _post(http, auth, f"{BASE}/attendConference/discardDraft.json")) == ["709"]
        assert codes(await _post(http, auth, f"{BASE}/nope/approve.json")) == ["1013"]
        standard = await _post(http, auth, f"{BASE}/visitWebpage/delete.json")
        assert codes(standard) == ["1003"] and "standard type" in standard["errors"][0]["message"]
