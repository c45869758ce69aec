"""The PyPI Marketo client `marketorestpython`, unchanged but for its host, against a real API process: the custom
activity workflow end to end, and everything it wrote visible through GraphQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from marketorestpython.client import MarketoClient
from marketorestpython.helper.exceptions import MarketoException

from app.services.runtime import Resources
from tests.api.marketo_support import client_pair
from tests.conftest import GraphQL, eventually, until_serving

TOTAL, BATCH = 1000, 300


def _client(host: str, client_id: str, secret: str) -> MarketoClient:
    """The library as an integration makes it, but for the host (its instance name is then unused)."""
    mc = MarketoClient("unused", client_id, secret, max_retry_time=1)
    mc.host = host
    return mc


def workflow(host: str, client_id: str, secret: str) -> dict[str, Any]:
    """What an existing Marketo integration does, step by step (blocking, as the library is)."""
    mc = _client(host, client_id, secret)
    out: dict[str, Any] = {}
    mc.create_custom_activity_type("attendConference", "Attend Conference", "Attends Conference",
                                   "Attended Conference", "conferenceName", "Conference Name",
                                   description="Went to a conference")
    mc.create_custom_activity_type_attribute("attendConference", [
        {"apiName": "seats", "name": "Seats", "dataType": "integer"},
        {"apiName": "uRL", "name": "URL", "dataType": "link"}])
    approved = mc.approve_custom_activity_type("attendConference")[0]
    out["approved"] = approved
    type_id = approved["id"]
    leads = mc.create_update_leads([{"email": "ada@example.com", "firstName": "Ada"},
                                    {"email": "bob@example.com", "firstName": "Bob"}],
                                   action="createOrUpdate", lookupField="email")
    lead_ids = [lead["id"] for lead in leads]
    out["leads"] = lead_ids
    statuses: list[str] = []
    records = [{"leadId": lead_ids[n % 2], "activityDate": f"2026-03-{1 + n // 1440:02d}T{n // 60 % 24:02d}:"
                f"{n % 60:02d}:00Z", "activityTypeId": type_id, "primaryAttributeValue": f"Conf {n}",
                "attributes": [{"apiName": "seats", "value": n}, {"name": "URL", "value": "https://c.example"}]}
               for n in range(TOTAL)]
    for start in range(0, TOTAL, BATCH):
        statuses += [r["status"] for r in mc.add_custom_activities(records[start:start + BATCH])]
    out["statuses"] = statuses
    out["read"] = mc.get_lead_activities(activityTypeIds=[str(type_id)], sinceDatetime="2026-01-01T00:00:00Z",
                                         batchSize=300)
    out["described"] = mc.describe_custom_activity_type("attendConference")[0]
    mc.create_custom_activity_type_attribute("attendConference", [
        {"apiName": "room", "name": "Room", "dataType": "string"}])
    out["draft"] = mc.describe_custom_activity_type("attendConference", draft="true")[0]
    out["v2"] = mc.approve_custom_activity_type("attendConference")[0]
    out["types"] = mc.get_custom_activity_types()
    # Refused (1022 Object in use: activities are stored); the library retries 1022, so only the refusal is checked.
    with pytest.raises(MarketoException):
        mc.delete_custom_activity_type("attendConference")
    mc.create_custom_activity_type("unusedType", "Unused Type", "Is Unused", "Was Unused", "thing", "Thing")
    out["deleted"] = mc.delete_custom_activity_type("unusedType")[0]
    out["all_types"] = mc.get_activity_types()
    out["lead"] = mc.get_lead_by_id(lead_ids[0])
    out["by_email"] = mc.get_multiple_leads_by_filter_type("email", ["bob@example.com"])
    return out


async def test_marketo_client_round_trip(api_process: str, resources: Resources, gql: GraphQL) -> None:
    await until_serving(api_process)
    client_id, secret = await client_pair(resources)
    out = await asyncio.to_thread(workflow, api_process.removesuffix("/graphql"), client_id, secret)

    assert out["approved"]["status"] == "approved" and out["approved"]["apiName"] == "attendConference"
    assert out["statuses"] == ["added"] * TOTAL
    read = out["read"]
    assert len(read) == TOTAL
    assert [a["primaryAttributeValue"] for a in read] == [f"Conf {n}" for n in range(TOTAL)]  # oldest first
    assert len({a["id"] for a in read}) == TOTAL
    assert {"name": "Seats", "apiName": "seats", "value": 7} in read[7]["attributes"]
    assert [a["apiName"] for a in out["described"]["attributes"]] == ["seats", "uRL"]
    assert out["draft"]["status"] == "approved with draft"
    assert [a["apiName"] for a in out["draft"]["attributes"]] == ["seats", "uRL", "room"]
    assert out["v2"]["status"] == "approved" and len(out["v2"]["attributes"]) == 3
    assert [t["apiName"] for t in out["types"]] == ["attendConference"]
    assert out["deleted"]["apiName"] == "unusedType"
    assert "attendConference" in {t["apiName"] for t in out["all_types"]}
    assert "unusedType" not in {t["apiName"] for t in out["all_types"]}
    assert out["lead"][0]["email"] == "ada@example.com"
    assert out["by_email"][0]["firstName"] == "Bob"

    # GraphQL sees what the Marketo client wrote: version 2 of the type, the activities on both timelines.
    seen = await gql("""{ activityType(apiName: "attendConference") { version fields { apiName } } }""")
    assert seen["data"]["activityType"] == {"version": 2, "fields": [{"apiName": "seats"}, {"apiName": "uRL"},
                                                                     {"apiName": "room"}]}
    for lead_id in out["leads"]:
        timeline = await gql("""query($id: ID!) { person(id: $id) { timeline(first: 1) { totalCount
            edges { node { primaryValue fields } } } } }""", {"id": str(lead_id)})
        assert timeline["data"]["person"]["timeline"]["totalCount"] == TOTAL // 2


async def test_marketo_client_bulk_activity_extract(api_process: str, worker_process: Any, resources: Resources,
                                                    gql: GraphQL) -> None:
    """The library's bulk extract methods: create, enqueue, status until Completed, file, list, cancel."""
    worker_process()
    await until_serving(api_process)
    mc = _client(api_process.removesuffix("/graphql"), *await client_pair(resources))

    def prepare() -> tuple[int, str, str]:
        mc.create_custom_activity_type("attendConference", "Attend Conference", "Attends Conference",
                                       "Attended Conference", "conferenceName", "Conference Name")
        type_id: int = mc.approve_custom_activity_type("attendConference")[0]["id"]
        lead = mc.create_update_leads([{"email": "ada@example.com"}], action="createOrUpdate",
                                      lookupField="email")[0]["id"]
        mc.add_custom_activities([{"leadId": lead, "activityDate": f"2026-03-0{1 + n}T10:00:00Z",
                                   "activityTypeId": type_id, "primaryAttributeValue": f"Conf {n}"}
                                  for n in range(3)])
        window = {"createdAt": {"startAt": "2026-03-01T00:00:00Z", "endAt": "2026-03-31T00:00:00Z"},
                  "activityTypeIds": [type_id]}
        created = mc.create_activities_export_job(filters=window)[0]
        assert created["status"] == "Created", created
        assert mc.enqueue_activities_export_job(created["exportId"])[0]["status"] == "Queued"
        spare = mc.create_activities_export_job(filters=window)[0]["exportId"]
        return type_id, created["exportId"], spare

    type_id, export_id, spare = await asyncio.to_thread(prepare)
    status: dict[str, Any] = {}

    async def completed() -> bool:
        status.update((await asyncio.to_thread(mc.get_activities_export_job_status, export_id))[0])
        return status["status"] == "Completed"

    await eventually(completed)  # the real worker process runs the export
    assert status["numberOfRecords"] == 3 and status["fileChecksum"].startswith("sha256:")
    data: bytes = await asyncio.to_thread(mc.get_activities_export_job_file, export_id)
    assert len(data) == status["fileSize"]
    lines = data.decode().splitlines()
    assert lines[0].startswith("marketoGUID,leadId,activityDate,activityTypeId,")
    assert sorted(line.split(",")[2] for line in lines[1:]) == [f"2026-03-0{1 + n}T10:00:00Z" for n in range(3)]
    assert all(line.split(",")[3] == str(type_id) for line in lines[1:])
    listed = await asyncio.to_thread(mc.get_activities_export_jobs_list)
    assert {j["exportId"]: j["status"] for j in listed} == {export_id: "Completed", spare: "Created"}
    assert (await asyncio.to_thread(mc.cancel_activities_export_job, spare))[0]["status"] == "Cancelled"
    seen = await gql("query($id: ID!) { exportJob(id: $id) { status rows } }", {"id": export_id})
    assert seen["data"]["exportJob"] == {"status": "SUCCEEDED", "rows": 3}
