"""Marketo's bulk activity extract through the facade: the job JSON, a worker running it, the file, the rules."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson

from app.domain.access import Scope
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import bearer
from tests.api.marketo_support import TYPE_BODY, client_pair, codes, rest_client, token
from tests.conftest import GraphQL

Worker = Callable[[], Awaitable[int]]
BULK = "/bulk/v1/activities/export"
TYPE = "/rest/v1/activities/external/type"
HEADER = ["marketoGUID", "leadId", "activityDate", "activityTypeId", "campaignId", "primaryAttributeValueId",
          "primaryAttributeValue", "attributes"]
MARCH = {"startAt": "2026-03-01T00:00:00Z", "endAt": "2026-03-31T23:59:59Z"}
USER = [Scope.READ, Scope.ACTIVITIES_WRITE]  # not an admin: sees its own exports only


async def _activities(http: httpx.AsyncClient, auth: dict[str, str]) -> tuple[int, list[int]]:
    """An approved type, two leads, and five activities: four in March 2026 (one at the window's last second)."""
    await http.post(TYPE + ".json", json=TYPE_BODY, headers=auth)
    await http.post(f"{TYPE}/attendConference/attributes/create.json", headers=auth,
                    json={"attributes": [{"apiName": "seats", "name": "Seats", "dataType": "integer"}]})
    type_id: int = (await http.post(f"{TYPE}/attendConference/approve.json", headers=auth)).json()["result"][0]["id"]
    leads = (await http.post("/rest/v1/leads.json", headers=auth, json={
        "input": [{"email": "ada@example.com"}, {"email": "bob@example.com"}]})).json()
    lead_ids = [lead["id"] for lead in leads["result"]]
    dates = ["2026-03-01T00:00:00Z", "2026-03-10T12:00:00Z", "2026-03-20T12:00:00Z", "2026-03-31T23:59:59Z",
             "2026-04-01T00:00:00Z"]
    records = [{"leadId": lead_ids[n % 2], "activityDate": d, "activityTypeId": type_id,
                "primaryAttributeValue": f"Conf {n}, \"{n}\"", "attributes": [{"apiName": "seats", "value": n}]}
               for n, d in enumerate(dates)]
    added = (await http.post("/rest/v1/activities/external.json", json={"input": records}, headers=auth)).json()
    assert [r["status"] for r in added["result"]] == ["added"] * 5, added
    return type_id, lead_ids


async def _call(http: httpx.AsyncClient, method: str, path: str, auth: dict[str, str], **kw: Any) -> dict[str, Any]:
    answer = await http.request(method, path, headers=auth, **kw)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _one(http: httpx.AsyncClient, method: str, path: str, auth: dict[str, str], **kw: Any) -> dict[str, Any]:
    body = await _call(http, method, path, auth, **kw)
    assert body["success"] is True and body["requestId"], body
    job: dict[str, Any] = body["result"][0]
    return job


async def test_create_enqueue_status_file_round_trip(settings: Settings, resources: Resources, gql: GraphQL,
                                                     run_worker: Worker) -> None:
    async with rest_client(settings, resources) as http:
        auth = bearer(await token(http, await client_pair(resources)))
        type_id, lead_ids = await _activities(http, auth)
        created = await _one(http, "POST", f"{BULK}/create.json", auth, json={
            "format": "CSV", "filter": {"createdAt": MARCH, "activityTypeIds": [type_id]}})
        export_id = created["exportId"]
        assert created["status"] == "Created" and created["format"] == "CSV"
        assert created["createdAt"].endswith("Z") and "numberOfRecords" not in created and "queuedAt" not in created
        # The same job underneath: GraphQL sees it, not yet queued, so a worker leaves it alone.
        seen = await gql("query($id: ID!) { exportJob(id: $id) { status columns } }", {"id": export_id})
        assert seen["data"]["exportJob"] == {"status": "CREATED", "columns": HEADER}
        await run_worker()
        assert (await _one(http, "GET", f"{BULK}/{export_id}/status.json", auth))["status"] == "Created"

        queued = await _one(http, "POST", f"{BULK}/{export_id}/enqueue.json", auth)
        assert queued["status"] == "Queued" and queued["queuedAt"].endswith("Z")
        again = await _call(http, "POST", f"{BULK}/{export_id}/enqueue.json", auth)
        assert codes(again) == ["1029"]
        await run_worker()
        done = await _one(http, "GET", f"{BULK}/{export_id}/status.json", auth)
        assert done["status"] == "Completed" and done["numberOfRecords"] == 4
        assert {"startedAt", "finishedAt"} <= set(done) and "queuedAt" not in done  # reported only while Queued

        answer = await http.get(f"{BULK}/{export_id}/file.json", headers=auth)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        data = answer.content
        assert done["fileSize"] == len(data)
        assert done["fileChecksum"] == "sha256:" + hashlib.sha256(data).hexdigest()
        rows = list(csv.reader(io.StringIO(data.decode())))
        assert rows[0] == HEADER
        rows[1:] = sorted(rows[1:], key=lambda r: r[2])  # a file's order is unspecified, as in Marketo
        assert [r[2] for r in rows[1:]] == ["2026-03-01T00:00:00Z", "2026-03-10T12:00:00Z", "2026-03-20T12:00:00Z",
                                            "2026-03-31T23:59:59Z"]  # endAt is included, April is not
        first = dict(zip(HEADER, rows[1], strict=True))
        assert first["leadId"] == str(lead_ids[0]) and first["activityTypeId"] == str(type_id)
        assert first["primaryAttributeValue"] == 'Conf 0, "0"' and first["campaignId"] == ""
        assert orjson.loads(first["attributes"]) == {"seats": 0}

        part = await http.get(f"{BULK}/{export_id}/file.json", headers={**auth, "range": "bytes=0-9"})
        assert part.status_code == 206 and part.content == data[:10]
        assert part.headers["content-range"] == f"bytes 0-9/{len(data)}"
        past = await http.get(f"{BULK}/{export_id}/file.json", headers={**auth, "range": f"bytes={len(data)}-"})
        assert past.status_code == 416 and codes(past.json()) == ["1003"]

        listed = await _call(http, "GET", f"{BULK}.json", auth, params={"status": "Completed"})
        assert [j["exportId"] for j in listed["result"]] == [export_id] and "nextPageToken" not in listed
        assert (await _call(http, "GET", f"{BULK}.json", auth, params={"status": "queued,created"}))["result"] == []


async def test_fields_and_lead_filter(settings: Settings, resources: Resources, run_worker: Worker) -> None:
    async with rest_client(settings, resources) as http:
        auth = bearer(await token(http, await client_pair(resources)))
        _, lead_ids = await _activities(http, auth)
        body = await _call(http, "POST", f"{BULK}/create.json", auth, json={
            "fields": ["leadId", "primaryAttributeValue"], "filter": {"leadIds": [lead_ids[1]]},
            "columnHeaderNames": {"leadId": "Lead"}})
        created = body["result"][0]
        assert body["success"] is True and "columnHeaderNames" in body["warnings"][0]  # kept as field names
        await _one(http, "POST", f"{BULK}/{created['exportId']}/enqueue.json", auth)
        await run_worker()
        data = (await http.get(f"{BULK}/{created['exportId']}/file.json", headers=auth)).content
        rows = list(csv.reader(io.StringIO(data.decode())))
        rows[1:] = sorted(rows[1:])
        assert rows == [["leadId", "primaryAttributeValue"], [str(lead_ids[1]), 'Conf 1, "1"'],
                        [str(lead_ids[1]), 'Conf 3, "3"']]


async def test_tsv_and_scv_files(settings: Settings, resources: Resources, run_worker: Worker) -> None:
    async with rest_client(settings, resources) as http:
        auth = bearer(await token(http, await client_pair(resources)))
        await _activities(http, auth)
        files = {}
        for fmt in ("TSV", "SCV"):
            created = await _one(http, "POST", f"{BULK}/create.json", auth, json={
                "format": fmt, "fields": ["activityDate", "primaryAttributeValue", "attributes"],
                "filter": {"createdAt": MARCH}})
            assert created["format"] == fmt
            await _one(http, "POST", f"{BULK}/{created['exportId']}/enqueue.json", auth)
            files[fmt] = created["exportId"]
        await run_worker()
        for fmt, delimiter in (("TSV", "\t"), ("SCV", ";")):
            answer = await http.get(f"{BULK}/{files[fmt]}/file.json", headers=auth)
            rows = sorted(csv.reader(io.StringIO(answer.content.decode()), delimiter=delimiter))
            assert rows[-1] == ["activityDate", "primaryAttributeValue", "attributes"]
            assert rows[0] == ["2026-03-01T00:00:00Z", 'Conf 0, "0"', '{"seats": 0}'], fmt
            assert len(rows) == 5
        assert answer.headers["content-type"].startswith("text/csv")


async def test_cancel_visibility_and_states(settings: Settings, resources: Resources) -> None:
    async with rest_client(settings, resources) as http:
        mine = bearer(await token(http, await client_pair(resources, USER)))
        other = bearer(await token(http, await client_pair(resources, USER)))
        admin = bearer(await token(http, await client_pair(resources)))
        export_id = (await _one(http, "POST", f"{BULK}/create.json", mine, json={"filter": {}}))["exportId"]
        # Another key neither sees nor changes it; an admin key sees it.
        for path in ("status.json", "file.json"):
            assert codes(await _call(http, "GET", f"{BULK}/{export_id}/{path}", other)) == ["1013"]
        for path in ("enqueue.json", "cancel.json"):
            assert codes(await _call(http, "POST", f"{BULK}/{export_id}/{path}", other)) == ["1013"]
        assert (await _call(http, "GET", f"{BULK}.json", other))["result"] == []
        assert (await _one(http, "GET", f"{BULK}/{export_id}/status.json", admin))["status"] == "Created"
        assert export_id in [j["exportId"] for j in (await _call(http, "GET", f"{BULK}.json", admin))["result"]]

        assert codes(await _call(http, "GET", f"{BULK}/{export_id}/file.json", mine)) == ["709"]
        cancelled = await _one(http, "POST", f"{BULK}/{export_id}/cancel.json", mine)
        assert cancelled["status"] == "Cancelled" and "finishedAt" in cancelled
        assert codes(await _call(http, "POST", f"{BULK}/{export_id}/cancel.json", mine)) == ["709"]
        assert codes(await _call(http, "POST", f"{BULK}/{export_id}/enqueue.json", mine)) == ["1029"]
        assert codes(await _call(http, "GET", f"{BULK}/not-a-uuid/status.json", mine)) == ["1013"]


async def test_bad_requests_get_marketo_codes(settings: Settings, resources: Resources) -> None:
    async with rest_client(settings, resources) as http:
        auth = bearer(await token(http, await client_pair(resources)))
        type_id, _ = await _activities(http, auth)
        bad: list[tuple[dict[str, Any], str]] = [
            ({"format": "JSONL", "filter": {}}, "1003"),
            ({}, "1003"),  # no filter
            ({"filter": {"smartListId": 1}}, "1003"),
            ({"filter": {"activityTypeIds": [type_id + 1000]}}, "1003"),
            ({"filter": {"activityTypeIds": ["x"]}}, "1003"),
            ({"filter": {"createdAt": {"startAt": "yesterday", "endAt": MARCH["endAt"]}}}, "1003"),
            ({"filter": {}, "fields": ["marketoGUID", "nope"]}, "1006"),
            ({"filter": {"leadIds": list(range(1001))}}, "1003"),
        ]
        for body, code in bad:
            assert codes(await _call(http, "POST", f"{BULK}/create.json", auth, json=body))[0] == code, body
        assert codes(await _call(http, "POST", f"{BULK}/create.json", auth, content=b"{nope")) == ["609"]
        assert codes(await _call(http, "GET", f"{BULK}.json", auth, params={"status": "Done"})) == ["1003"]
        assert codes(await _call(http, "GET", f"{BULK}.json", auth, params={"nextPageToken": "x"})) == ["1003"]


async def test_marketo_window_and_quota_only_when_asked(settings: Settings, resources: Resources,
                                                        run_worker: Worker) -> None:
    strict = settings.model_copy(update={"marketo": settings.marketo.model_copy(
        update={"export_window_days": 31, "export_daily_bytes": 1})})
    async with rest_client(strict, resources) as http:
        auth = bearer(await token(http, await client_pair(resources)))
        await _activities(http, auth)
        too_long = {"startAt": "2026-03-01T00:00:00Z", "endAt": "2026-04-02T00:00:00Z"}
        for flt in ({}, {"createdAt": too_long}):
            assert codes(await _call(http, "POST", f"{BULK}/create.json", auth, json={"filter": flt})) == ["1003"]
        first = await _one(http, "POST", f"{BULK}/create.json", auth, json={"filter": {"createdAt": MARCH}})
        second = await _one(http, "POST", f"{BULK}/create.json", auth, json={"filter": {"createdAt": MARCH}})
        await _one(http, "POST", f"{BULK}/{first['exportId']}/enqueue.json", auth)
        await run_worker()
        # One byte a day: the first file used it up, so the second job may not be queued today.
        refused = await _call(http, "POST", f"{BULK}/{second['exportId']}/enqueue.json", auth)
        assert codes(refused) == ["1029"] and "quota" in refused["errors"][0]["message"]
    async with rest_client(settings, resources) as http:  # the default: neither rule
        auth = bearer(await token(http, await client_pair(resources)))
        await _one(http, "POST", f"{BULK}/{second['exportId']}/enqueue.json", auth)
        await _one(http, "POST", f"{BULK}/create.json", auth, json={"filter": {}})


async def test_unfinished_jobs_count_against_the_key_quota_and_pages(settings: Settings,
                                                                     resources: Resources) -> None:
    cap = settings.limits.max_running_exports_per_key
    async with rest_client(settings, resources) as http:
        auth = bearer(await token(http, await client_pair(resources, USER)))
        ids = [(await _one(http, "POST", f"{BULK}/create.json", auth, json={"filter": {}}))["exportId"]
               for _ in range(cap)]
        assert codes(await _call(http, "POST", f"{BULK}/create.json", auth, json={"filter": {}})) == ["1029"]
        seen: list[str] = []
        params: dict[str, str] = {"batchSize": "1"}
        for _ in range(cap + 1):
            page = await _call(http, "GET", f"{BULK}.json", auth, params=params)
            seen += [j["exportId"] for j in page["result"]]
            if "nextPageToken" not in page:
                break
            assert page["moreResult"] is True
            params["nextPageToken"] = page["nextPageToken"]
        assert seen == ids[::-1]  # newest first, each once, and the last page has no token
