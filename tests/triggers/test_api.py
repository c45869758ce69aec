"""Triggers through GraphQL: typed errors that save nothing, the secret shown once, rotation, pause/resume, audit,
deliveries and stats, redeliver and replay; the production URL rules."""

from __future__ import annotations

import time
from typing import Any

import pytest

from app.domain.errors import DomainError, ErrorCode
from app.domain.triggers import TriggerSpec
from app.domain.webhook_signing import verify
from app.services.runtime import Resources
from app.services.triggers import admin
from tests.conftest import GraphQL
from tests.ingestion_support import approved_type
from tests.triggers.support import ADMIN, delivery_loop, insert_activities, settled, tuned
from tests.webhook_receiver import Answer, Receiver

TRIGGER_FIELDS = """id name activityType url enabled status description batch { maxSize maxWaitMs }
  where { field op value } consecutiveFailures secretRotatedAt"""
CREATE = f"""mutation($input: CreateTriggerInput!) {{ createTrigger(input: $input) {{
  trigger {{ {TRIGGER_FIELDS} }} secret errors {{ code field message }} }} }}"""
READ = """query($id: ID!) { trigger(id: $id) { id status stats { delivered failed pending lastSuccessAt }
  deliveries(first: 10) { edges { node { id webhookId status activityIds attempts lastStatusCode lastError } } } } }"""


def good_input(target: str, **changes: Any) -> dict[str, Any]:
    return {"name": "big deposits", "activityType": "depositCheck", "url": target,
            "where": [{"field": "amount", "op": "GREATER_THAN", "value": 100}], "batch": {"maxSize": 10},
            **changes}


async def saved(resources: Resources) -> tuple[int, int]:
    async with resources.db.raw() as conn:
        triggers = await conn.fetchval("SELECT count(*) FROM webhook_trigger")
        audits = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action LIKE 'trigger.%'")
    return int(triggers), int(audits)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"activityType": "nope"}, [("UNKNOWN_ACTIVITY_TYPE", "input.activityType")]),
        ({"where": [{"field": "missing", "op": "EQUALS", "value": 1}]}, [("UNKNOWN_FIELD", "input.where.0.field")]),
        ({"where": [{"field": "amount", "op": "CONTAINS", "value": "1"}]}, [("INVALID_OPERATOR", "input.where.0.op")]),
        ({"url": "not a url"}, [("INVALID_URL", "input.url")]),
        ({"url": "http://169.254.169.254/latest"}, [("NOT_ALLOWED", "input.url")]),
        ({"url": "http://10.0.0.1/hook"}, [("NOT_ALLOWED", "input.url")]),
        ({"batch": {"maxSize": 5000, "maxWaitMs": -1}},
         [("OUT_OF_RANGE", "input.batch.maxSize"), ("OUT_OF_RANGE", "input.batch.maxWaitMs")]),
        ({"name": "", "url": "ftp://x"}, [("REQUIRED", "input.name"), ("INVALID_URL", "input.url")]),
    ],
)
async def test_bad_input_is_a_typed_error_and_saves_nothing(
    gql: GraphQL, resources: Resources, changes: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    await approved_type(resources)
    body = await gql(CREATE, {"input": good_input("http://127.0.0.1:9/hook", **changes)})
    payload = body["data"]["createTrigger"]
    assert [(e["code"], e["field"]) for e in payload["errors"]] == expected, payload
    assert payload["trigger"] is None and payload["secret"] is None
    assert await saved(resources) == (0, 0)


async def test_production_refuses_http_loopback_private_and_metadata(resources: Resources) -> None:
    await approved_type(resources)
    prod = tuned(resources, allow_loopback=False)
    prod.settings = prod.settings.model_copy(update={"environment": "prod"})
    for url in ("http://93.184.215.14/hook", "https://127.0.0.1/hook", "https://[::1]/hook", "https://10.1.1.1/h",
                "https://192.168.0.10/h", "https://169.254.169.254/latest/meta-data", "https://[fe80::1]/h",
                "https://localhost/h", "https://metadata.google.internal/computeMetadata"):
        with pytest.raises(DomainError) as refused:
            await admin.create(prod, ADMIN, TriggerSpec("t", "depositCheck", (), url))
        assert refused.value.issues[0].code in (ErrorCode.INVALID_URL, ErrorCode.NOT_ALLOWED), url
    assert await saved(resources) == (0, 0)


async def test_lifecycle_is_audited_and_the_secret_is_shown_once(gql: GraphQL, resources: Resources) -> None:
    await approved_type(resources)
    body = await gql(CREATE, {"input": good_input("http://127.0.0.1:9/hook", description="to the CRM")})
    payload = body["data"]["createTrigger"]
    assert payload["errors"] == [] and payload["secret"].startswith("whsec_")
    trigger = payload["trigger"]
    assert trigger["status"] == "ACTIVE" and trigger["batch"] == {"maxSize": 10, "maxWaitMs": 0}
    assert trigger["where"] == [{"field": "amount", "op": "GREATER_THAN", "value": 100}]
    again = await gql(CREATE, {"input": good_input("http://127.0.0.1:9/other", name="BIG deposits")})
    assert [e["code"] for e in again["data"]["createTrigger"]["errors"]] == ["DUPLICATE"]
    tid = trigger["id"]
    paused = await gql("mutation($id: ID!) { pauseTrigger(id: $id) { trigger { status enabled } errors { code } } }",
                       {"id": tid})
    assert paused["data"]["pauseTrigger"]["trigger"] == {"status": "PAUSED", "enabled": False}
    resumed = await gql("mutation($id: ID!) { resumeTrigger(id: $id) { trigger { status } errors { code } } }",
                        {"id": tid})
    assert resumed["data"]["resumeTrigger"]["trigger"]["status"] == "ACTIVE"
    updated = await gql(
        "mutation($id: ID!, $input: UpdateTriggerInput!) { updateTrigger(id: $id, input: $input) { "
        "trigger { name where { field } batch { maxSize } } errors { code field } } }",
        {"id": tid, "input": {"name": "all deposits", "where": [], "batch": {"maxSize": 50}}})
    changed = updated["data"]["updateTrigger"]["trigger"]
    assert changed == {"name": "all deposits", "where": [], "batch": {"maxSize": 50}}
    bad_update = await gql(
        "mutation($id: ID!, $input: UpdateTriggerInput!) { updateTrigger(id: $id, input: $input) { "
        "trigger { name } errors { code field } } }", {"id": tid, "input": {"url": "http://10.0.0.1/"}})
    assert bad_update["data"]["updateTrigger"]["errors"] == [{"code": "NOT_ALLOWED", "field": "input.url"}]
    rotated = await gql("mutation($id: ID!) { rotateTriggerSecret(id: $id) { secret trigger { secretRotatedAt } } }",
                        {"id": tid})
    assert rotated["data"]["rotateTriggerSecret"]["secret"] not in (None, payload["secret"])
    deleted = await gql("mutation($id: ID!) { deleteTrigger(id: $id) { trigger { id } errors { code } } }",
                        {"id": tid})
    assert deleted["data"]["deleteTrigger"]["errors"] == []
    assert (await gql(READ, {"id": tid}))["data"]["trigger"] is None
    missing = await gql("mutation { pauseTrigger(id: \"nope\") { errors { code field } } }")
    assert missing["data"]["pauseTrigger"]["errors"] == [{"code": "NOT_FOUND", "field": "id"}]
    log = await gql('{ auditLog(first: 20, action: "trigger.") { edges { node { action details } } } }')
    actions = [e["node"]["action"] for e in log["data"]["auditLog"]["edges"]]
    assert actions == ["trigger.delete", "trigger.rotateSecret", "trigger.update", "trigger.resume", "trigger.pause",
                       "trigger.create"]
    assert "whsec_" not in str(log)  # no secret in the audit log


async def test_rotation_signs_with_both_secrets_then_deliveries_redeliver_and_replay(
    gql: GraphQL, resources: Resources
) -> None:
    type_id = await approved_type(resources)
    async with Receiver([Answer(400)]) as receiver:
        created = (await gql(CREATE, {"input": good_input(receiver.url, where=[])}))["data"]["createTrigger"]
        tid, old = created["trigger"]["id"], created["secret"]
        new = (await gql("mutation($id: ID!) { rotateTriggerSecret(id: $id) { secret } }",
                         {"id": tid}))["data"]["rotateTriggerSecret"]["secret"]
        async with delivery_loop(tuned(resources, retry_base_seconds=0.05)):
            ids = await insert_activities(resources, type_id, [1, 2])
            await receiver.wait_for(lambda: len(receiver.received) == 1)
            await settled(resources)
            read = (await gql(READ, {"id": tid}))["data"]["trigger"]
            (edge,) = read["deliveries"]["edges"]
            assert edge["node"]["status"] == "FAILED" and edge["node"]["lastStatusCode"] == 400
            assert read["stats"] == {"delivered": 0, "failed": 2, "pending": 0, "lastSuccessAt": None}
            redo = await gql("mutation($d: ID!) { redeliver(deliveryId: $d) { delivery { status webhookId } "
                             "errors { code } } }", {"d": edge["node"]["id"]})
            assert redo["data"]["redeliver"]["delivery"]["status"] == "PENDING"
            await receiver.wait_for(lambda: len(receiver.received) == 2)
            await settled(resources)
            twice = await gql("mutation($d: ID!) { redeliver(deliveryId: $d) { errors { code } } }",
                              {"d": "999999"})
            assert twice["data"]["redeliver"]["errors"] == [{"code": "NOT_FOUND"}]
            replay = await gql("mutation($id: ID!, $t: DateTime!) { replayTrigger(id: $id, ingestedAfter: $t) { "
                               "queuedActivities errors { code } } }", {"id": tid, "t": "2000-01-01T00:00:00Z"})
            assert replay["data"]["replayTrigger"]["queuedActivities"] == 2
            await receiver.wait_for(lambda: len(receiver.received) == 3)
            await settled(resources)
            stats = (await gql(READ, {"id": tid}))["data"]["trigger"]["stats"]
    assert stats["delivered"] == 4 and stats["failed"] == 0 and stats["lastSuccessAt"] is not None
    first, second, third = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == edge["node"]["webhookId"]
    assert third.headers["webhook-id"] != first.headers["webhook-id"]  # a replay is a new message
    assert third.activity_ids == ids
    now = int(time.time())
    for r in receiver.received:  # during the grace period both secrets verify
        assert len(r.headers["webhook-signature"].split(" ")) == 2
        verify(old, r.headers, r.body, now=now)
        verify(new, r.headers, r.body, now=now)
