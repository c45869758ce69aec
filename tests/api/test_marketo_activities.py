"""Adding and reading activities through the Marketo facade, leads, and what GraphQL sees of them."""

from __future__ import annotations

from typing import Any

import httpx

from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import bearer
from tests.api.marketo_support import TYPE_BODY, client_pair, codes, rest_client, token
from tests.conftest import GraphQL

BASE = "/rest/v1/activities/external/type"


async def _approved_type(http: httpx.AsyncClient, auth: dict[str, str]) -> int:
    await http.post(BASE + ".json", json=TYPE_BODY, headers=auth)
    attrs = [{"apiName": "uRL", "name": "URL", "dataType": "link"}, {"apiName": "seats", "name": "Seats",
                                                                     "dataType": "integer"}]
    await http.post(f"{BASE}/attendConference/attributes/create.json", json={"attributes": attrs}, headers=auth)
    approved = (await http.post(f"{BASE}/attendConference/approve.json", headers=auth)).json()
    type_id: int = approved["result"][0]["id"]
    return type_id


async def _lead(http: httpx.AsyncClient, auth: dict[str, str], email: str) -> int:
    synced = (await http.post("/rest/v1/leads.json", json={"input": [{"email": email, "firstName": "Ada"}]},
                              headers=auth)).json()
    lead_id: int = synced["result"][0]["id"]
    return lead_id


def _record(type_id: int, lead: int, n: int, **extra: Any) -> dict[str, Any]:
    return {"leadId": lead, "activityDate": f"2026-03-01T10:{n // 60:02d}:{n % 60:02d}+01:00",
            "activityTypeId": type_id, "primaryAttributeValue": f"Conf {n}",
            "attributes": [{"apiName": "uRL", "value": "https://example.com/c"}, {"name": "Seats", "value": n}],
            **extra}


async def test_add_custom_activities_per_record_status(settings: Settings, resources: Resources,
                                                       gql: GraphQL) -> None:
    async with rest_client(settings, resources) as http:
        auth = bearer(await token(http, await client_pair(resources)))
        type_id = await _approved_type(http, auth)
        lead = await _lead(http, auth, "ada@example.com")
        records = [
            _record(type_id, lead, 1),
            _record(type_id, 999_999, 2),  # no such lead
            _record(type_id + 1000, lead, 3),  # no such type
            {**_record(type_id, lead, 4), "attributes": [{"apiName": "nope", "value": 1}]},  # no such field
            {**_record(type_id, lead, 5), "attributes": [{"apiName": "seats", "value": "many"}]},  # does not coerce
            {**_record(type_id, lead, 6), "apiName": "attendConference", "activityTypeId": None},  # by apiName
        ]
        answer = (await http.post("/rest/v1/activities/external.json", json={"input": records}, headers=auth)).json()
        assert answer["success"] is True, answer
        statuses = [r["status"] for r in answer["result"]]
        assert statuses == ["added", "skipped", "skipped", "skipped", "skipped", "added"]
        assert [r["errors"][0]["code"] for r in answer["result"] if r["status"] == "skipped"] == [
            "1004", "1013", "1006", "1001"]
        assert answer["result"][1]["reasons"] == answer["result"][1]["errors"]

        # Exactly the added records are stored, and GraphQL sees them with their fields.
        seen = await gql("""query($id: ID!) { person(id: $id) { timeline(first: 10) { edges { node {
            primaryValue fields activityType { apiName } } } } } }""", {"id": str(lead)})
        nodes = [e["node"] for e in seen["data"]["person"]["timeline"]["edges"]]
        assert sorted(n["primaryValue"] for n in nodes) == ["Conf 1", "Conf 6"]
        assert all(n["activityType"]["apiName"] == "attendConference" for n in nodes)
        assert {n["fields"]["seats"] for n in nodes} == {1, 6}


async def test_batch_limits_and_bad_input(settings: Settings, resources: Resources) -> None:
    small = settings.model_copy(update={"marketo": settings.marketo.model_copy(update={"max_batch": 2})})
    async with rest_client(small, resources) as http:
        auth = bearer(await token(http, await client_pair(resources)))
        type_id = await _approved_type(http, auth)
        lead = await _lead(http, auth, "b@example.com")
        too_many = {"input": [_record(type_id, lead, n) for n in range(3)]}
        assert codes((await http.post("/rest/v1/activities/external.json", json=too_many, headers=auth)).json()) == [
            "1003"]
        assert codes((await http.post("/rest/v1/activities/external.json", json={}, headers=auth)).json()) == ["1002"]
        # Nothing was stored by the refused calls.
        page = (await http.get("/rest/v1/activities.json", headers=auth, params={
            "nextPageToken": (await http.get("/rest/v1/activities/pagingtoken.json", headers=auth,
                                             params={"sinceDatetime": "2026-01-01T00:00:00Z"})).json()[
                "nextPageToken"]})).json()
        assert page["result"] == [] and page["moreResult"] is False


async def test_paging_reads_everything_oldest_first(settings: Settings, resources: Resources) -> None:
    limited = settings.model_copy(update={"limits": settings.limits.model_copy(update={"max_page_size": 7})})
    async with rest_client(limited, resources) as http:
        auth = bearer(await token(http, await client_pair(resources)))
        type_id = await _approved_type(http, auth)
        lead = await _lead(http, auth, "c@example.com")
        other = await _lead(http, auth, "d@example.com")
        records = [_record(type_id, lead if n % 2 else other, n) for n in range(30)]
        added = (await http.post("/rest/v1/activities/external.json", json={"input": records}, headers=auth)).json()
        assert [r["status"] for r in added["result"]] == ["added"] * 30
        since = {"sinceDatetime": "2026-03-01T09:00:05Z"}  # = 10:00:05+01:00: activities 5..29
        next_token = (await http.get("/rest/v1/activities/pagingtoken.json", params=since, headers=auth)).json()[
            "nextPageToken"]
        seen: list[dict[str, Any]] = []
        while True:
            page = (await http.get("/rest/v1/activities.json", headers=auth, params={
                "nextPageToken": next_token, "activityTypeIds": str(type_id), "batchSize": "300"})).json()
            assert page["success"] is True and len(page["result"]) <= 7
            seen.extend(page["result"])
            next_token = page["nextPageToken"]
            if not page["moreResult"]:
                break
        assert [a["primaryAttributeValue"] for a in seen] == [f"Conf {n}" for n in range(5, 30)]
        first = seen[0]
        assert first["activityDate"] == "2026-03-01T09:00:05Z" and first["activityTypeId"] == type_id
        assert first["marketoGUID"] == str(first["id"]) and first["leadId"] == lead
        assert {"name": "Seats", "apiName": "seats", "value": 5} in first["attributes"]
        only_lead = (await http.get("/rest/v1/activities.json", headers=auth, params={
            "nextPageToken": (await http.get("/rest/v1/activities/pagingtoken.json", params=since,
                                             headers=auth)).json()["nextPageToken"],
            "leadIds": str(other), "batchSize": "5"})).json()
        assert [a["leadId"] for a in only_lead["result"]] == [other] * 5 and only_lead["moreResult"] is True
        bad = (await http.get("/rest/v1/activities.json", headers=auth, params={"nextPageToken": "garbage"})).json()
        assert codes(bad) == ["1003"]


async def test_leads_minimum(settings: Settings, resources: Resources, gql: GraphQL) -> None:
    async with rest_client(settings, resources) as http:
        auth = bearer(await token(http, await client_pair(resources)))
        made = (await http.post("/rest/v1/leads.json", headers=auth, json={
            "action": "createOrUpdate", "lookupField": "email",
            "input": [{"email": "e@example.com", "firstName": "Eve"}, {"email": "f@example.com", "externalId": "F"}]})
        ).json()
        assert [r["status"] for r in made["result"]] == ["created", "created"]
        eve = made["result"][0]["id"]
        again = (await http.post("/rest/v1/leads.json", headers=auth, json={
            "action": "createOnly", "input": [{"email": "e@example.com"}, {"email": "g@example.com"}]})).json()
        assert again["result"][0] == {"status": "skipped", "reasons": [{"code": "1005",
                                                                       "message": "Lead already exists"}]}
        assert again["result"][1]["status"] == "created"
        update_only = (await http.post("/rest/v1/leads.json", headers=auth, json={
            "action": "updateOnly", "input": [{"email": "nobody@example.com"}, {"email": "E@example.com",
                                                                              "lastName": "L"}]})).json()
        assert update_only["result"][0]["reasons"][0]["code"] == "1004"
        assert update_only["result"][1] == {"id": eve, "status": "updated"}
        found = (await http.get("/rest/v1/leads.json", headers=auth, params={
            "filterType": "email", "filterValues": "e@example.com,missing@example.com"})).json()
        assert [(x["id"], x["lastName"]) for x in found["result"]] == [(eve, "L")]
        by_ext = (await http.get("/rest/v1/leads.json", headers=auth, params={
            "filterType": "externalId", "filterValues": "F"})).json()
        assert by_ext["result"][0]["email"] == "f@example.com"
        one = (await http.get(f"/rest/v1/lead/{eve}.json", headers=auth)).json()
        assert one["result"][0]["firstName"] == "Eve"
        assert (await http.get("/rest/v1/lead/424242.json", headers=auth)).json()["result"] == []
        graph = await gql("query($id: ID!) { person(id: $id) { email lastName } }", {"id": str(eve)})
        assert graph["data"]["person"] == {"email": "e@example.com", "lastName": "L"}


async def test_a_form_post_with_method_get_is_that_get(settings: Settings, resources: Resources) -> None:
    async with rest_client(settings, resources) as http:
        auth = bearer(await token(http, await client_pair(resources)))
        lead = await _lead(http, auth, "tunnel@example.com")
        tunnelled = await http.post("/rest/v1/leads.json", headers=auth, data={
            "_method": "GET", "filterType": "id", "filterValues": str(lead)})
        assert tunnelled.json()["result"][0]["email"] == "tunnel@example.com"
        plain_form = await http.post("/rest/v1/leads.json", headers=auth, data={"filterType": "id"})
        assert codes(plain_form.json()) == ["609"]


async def test_per_key_job_cap_is_marketo_concurrency_code(settings: Settings, resources: Resources) -> None:
    cap = resources.settings.ingestion_concurrency_per_key  # what the ingestion services read
    async with rest_client(settings, resources) as http:
        pair = await client_pair(resources)
        auth = bearer(await token(http, pair))
        type_id = await _approved_type(http, auth)
        lead = await _lead(http, auth, "q@example.com")
        # `cap` jobs of this key still queued (no worker runs here): the key has no slot left.
        for _ in range(cap):
            queued = await http.post("/graphql", headers=bearer(pair[1]), json={"query": """mutation {
                recordActivities(input: {activities: [{activityType: "attendConference",
                person: {email: "q@example.com"}, occurredAt: "2026-03-01T00:00:00Z", primaryValue: "x"}]}) {
                job { status } errors { code } } }"""})
            assert queued.json()["data"]["recordActivities"]["job"]["status"] == "QUEUED"
        refused = await http.post("/rest/v1/activities/external.json", headers=auth,
                                  json={"input": [_record(type_id, lead, 1)]})
        assert codes(refused.json()) == ["615"]
