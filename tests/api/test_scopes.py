"""The scope matrix, generic over the built schema: every root field needs its scope, checked before anything else.

A new root field without an entry in REQUIRED_SCOPE fails `test_every_root_field_has_a_scope_entry`: add it here
with the scope its resolver `require()`s (None = any valid key).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
    get_named_type,
    is_leaf_type,
)

from app.api.app import create_app
from app.api.execution.internals import graphql_schema
from app.api.schema import build_schema
from app.domain.access import ALL_SCOPES, Scope
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import bearer, insert_key, ws_connect, ws_rejection

R, W, T, K = Scope.READ, Scope.ACTIVITIES_WRITE, Scope.TYPES_ADMIN, Scope.KEYS_ADMIN
L = Scope.LISTS_ADMIN
G = Scope.TRIGGERS_ADMIN
REQUIRED_SCOPE: dict[str, Scope | None] = {
    # queries
    "Query.activityTypes": R,
    "Query.activityType": R,
    "Query.checkActivityRecord": R,
    "Query.person": R,
    "Query.persons": R,
    "Query.activities": R,
    "Query.ingestionJob": R,
    "Query.ingestionJobs": R,
    "Query.exportJob": R,
    "Query.exportJobs": R,
    "Query.limits": None,
    "Query.version": None,
    "Query.viewer": None,
    "Query.apiKeys": K,
    "Query.auditLog": K,
    "Query.smartListPreview": R,
    "Query.smartLists": R,
    "Query.smartList": R,
    "Query.triggers": G,
    "Query.trigger": G,
    "Query.node": None,  # open to any key; each type then needs its own scope (tests/api/test_nodes.py NODE_SCOPE)
    "Query.nodes": None,
    # mutations
    "Mutation.createActivityType": T,
    "Mutation.updateActivityType": T,
    "Mutation.addActivityTypeFields": T,
    "Mutation.updateActivityTypeField": T,
    "Mutation.removeActivityTypeField": T,
    "Mutation.approveActivityType": T,
    "Mutation.discardActivityTypeDraft": T,
    "Mutation.deleteActivityType": T,
    "Mutation.upsertPersons": W,
    "Mutation.deletePerson": T,  # erasure is an audited admin action, not an ingestion write
    "Mutation.recordActivities": W,
    "Mutation.importActivities": W,
    "Mutation.cancelIngestionJob": W,
    "Mutation.deleteIngestionJob": W,  # then only the creator or a types:admin / keys:admin key
    "Mutation.replayRejections": W,
    "Mutation.exportActivities": R,  # reading in bulk; a key then sees and changes only its own exports
    "Mutation.exportPersons": R,
    "Mutation.cancelExportJob": R,
    "Mutation.deleteExportJob": R,
    "Mutation.createApiKey": K,
    "Mutation.revokeApiKey": K,
    "Mutation.createSmartList": L,
    "Mutation.updateSmartList": L,
    "Mutation.deleteSmartList": L,
    "Mutation.createTrigger": G,
    "Mutation.updateTrigger": G,
    "Mutation.pauseTrigger": G,
    "Mutation.resumeTrigger": G,
    "Mutation.deleteTrigger": G,
    "Mutation.rotateTriggerSecret": G,
    "Mutation.redeliver": G,
    "Mutation.replayTrigger": G,
    # subscriptions
    "Subscription.ingestionJobUpdated": R,
    "Subscription.activityRecorded": R,
    "Subscription.exportJobUpdated": R,
}

STRAWBERRY_SCHEMA = build_schema()
SCHEMA = graphql_schema(STRAWBERRY_SCHEMA)
ROOTS = {"Query": SCHEMA.query_type, "Mutation": SCHEMA.mutation_type, "Subscription": SCHEMA.subscription_type}
ROOT_FIELDS = [(root, name) for root, gtype in ROOTS.items() if gtype is not None for name in sorted(gtype.fields)]
SCALAR_SAMPLES: dict[str, Any] = {
    "String": "x",
    "ID": "00000000-0000-4000-8000-000000000001",
    "Int": 1,
    "Float": 1.0,
    "Boolean": True,
    "DateTime": "2026-01-01T00:00:00Z",
    "Date": "2026-01-01",
    "JSON": {},
    "UUID": "00000000-0000-4000-8000-000000000001",
}
DENIED = {"FORBIDDEN", "UNAUTHENTICATED"}


def _one_of(gtype: GraphQLInputObjectType) -> bool:
    """@oneOf inputs: graphql-core's flag, or Strawberry's (which checks them itself, not setting the flag)."""
    definition = STRAWBERRY_SCHEMA.get_type_by_name(gtype.name)
    return bool(getattr(gtype, "is_one_of", False) or getattr(definition, "is_one_of", False))


def sample(gtype: GraphQLInputType, path: list[str], uploads: list[str]) -> Any:
    """A minimal, type-correct value: required input fields only, one list item, the first enum value."""
    if isinstance(gtype, GraphQLNonNull):
        return sample(gtype.of_type, path, uploads)
    if isinstance(gtype, GraphQLList):
        return [sample(gtype.of_type, [*path, "0"], uploads)]
    if isinstance(gtype, GraphQLEnumType):
        return next(iter(gtype.values))
    if isinstance(gtype, GraphQLInputObjectType):
        fields = gtype.fields.items()
        if _one_of(gtype):
            name, field = next(iter(fields))
            return {name: sample(field.type, [*path, name], uploads)}
        return {
            name: sample(field.type, [*path, name], uploads)
            for name, field in fields
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        }
    assert isinstance(gtype, GraphQLScalarType)
    if gtype.name == "Upload":
        uploads.append(".".join(path))
        return None
    return SCALAR_SAMPLES.get(gtype.name, "x")


def operation(root: str, name: str) -> tuple[str, dict[str, Any], list[str]]:
    """`<op>($a0: T!) { name(arg: $a0) { __typename } }` with sample variables and the paths of uploads."""
    field: GraphQLField = ROOTS[root].fields[name]  # type: ignore[union-attr]
    definitions, arguments, variables, uploads = [], [], {}, []
    for i, (arg_name, arg) in enumerate(field.args.items()):
        if not isinstance(arg.type, GraphQLNonNull) or arg.default_value is not Undefined:
            continue
        definitions.append(f"$a{i}: {arg.type}")
        arguments.append(f"{arg_name}: $a{i}")
        variables[f"a{i}"] = sample(arg.type, ["variables", f"a{i}"], uploads)
    selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
    head = root.lower() + (f"({', '.join(definitions)})" if definitions else "")
    call = name + (f"({', '.join(arguments)})" if arguments else "")
    return f"{head} {{ {call}{selection} }}", variables, uploads


async def execute(http: httpx.AsyncClient, token: str, root: str, name: str) -> dict[str, Any]:
    query, variables, uploads = operation(root, name)
    if not uploads:
        response = await http.post("/graphql", json={"query": query, "variables": variables}, headers=bearer(token))
    else:
        files = {str(i): (f"f{i}.jsonl", b"{}\n", "application/x-ndjson") for i in range(len(uploads))}
        data = {
            "operations": json.dumps({"query": query, "variables": variables}),
            "map": json.dumps({str(i): [path] for i, path in enumerate(uploads)}),
        }
        headers = {**bearer(token), "apollo-require-preflight": "true"}
        response = await http.post("/graphql", data=data, files=files, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> set[str]:
    return {(e.get("extensions") or {}).get("code", "") for e in body.get("errors") or []}


@pytest.fixture
async def http(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, resources=resources)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


def test_every_root_field_has_a_scope_entry() -> None:
    missing = [f"{root}.{name}" for root, name in ROOT_FIELDS if f"{root}.{name}" not in REQUIRED_SCOPE]
    assert missing == [], f"add these root fields to REQUIRED_SCOPE with the scope they require: {missing}"


@pytest.mark.parametrize(("root", "name"), [f for f in ROOT_FIELDS if f[0] != "Subscription"])
async def test_key_without_the_scope_is_forbidden_before_anything_else(
    http: httpx.AsyncClient, resources: Resources, root: str, name: str
) -> None:
    required = REQUIRED_SCOPE.get(f"{root}.{name}")
    if required is None:
        # Open to any valid key: each single-scope key may call it.
        for scope in Scope:
            body = await execute(http, await insert_key(resources, [scope]), root, name)
            assert not codes(body) & DENIED, body
        return
    lacking = await insert_key(resources, ALL_SCOPES - {required}, name="everything else")
    denied = await execute(http, lacking, root, name)
    assert codes(denied) == {"FORBIDDEN"}, denied
    assert [e["path"] for e in denied["errors"]] == [[name]]
    assert required.value in denied["errors"][0]["message"]
    assert not (denied.get("data") or {}).get(name)

    holder = await insert_key(resources, [required], name="just this scope")
    allowed = await execute(http, holder, root, name)
    assert not codes(allowed) & DENIED, allowed


@pytest.mark.parametrize(("root", "name"), [f for f in ROOT_FIELDS if f[0] == "Subscription"])
async def test_subscription_without_the_scope_is_forbidden(
    settings: Settings, resources: Resources, root: str, name: str
) -> None:
    required = REQUIRED_SCOPE[f"{root}.{name}"]
    assert required is not None
    lacking = await insert_key(resources, ALL_SCOPES - {required})
    query, variables, _ = operation(root, name)
    async with ws_connect(create_app(settings, resources=resources), {"Authorization": f"Bearer {lacking}"}) as ws:
        assert await ws_rejection(ws) is None
        await ws.send_json({"type": "subscribe", "id": "s", "payload": {"query": query, "variables": variables}})
        message = await ws.receive_json(timeout=10)
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert {e["extensions"]["code"] for e in errors} == {"FORBIDDEN"}, message


@pytest.mark.parametrize(
    ("scopes", "query", "expected"),
    [
        # The boundaries between scopes that docs/security.md names, end to end.
        ([R], 'mutation { upsertPersons(persons: [{email: "a@example.com"}]) { errors { code } } }', "FORBIDDEN"),
        ([W], 'mutation { approveActivityType(apiName: "x") { errors { code } } }', "FORBIDDEN"),
        ([T], "{ apiKeys { edges { cursor } } }", "FORBIDDEN"),
        ([T], 'mutation { createApiKey(input: {name: "n", scopes: [KEYS_ADMIN]}) { secret } }', "FORBIDDEN"),
        ([W, T], "{ auditLog { edges { cursor } } }", "FORBIDDEN"),
        ([R, T], 'mutation { deleteSmartList(id: "1") { errors { code } } }', "FORBIDDEN"),
        ([L], "{ smartLists { edges { cursor } } }", "FORBIDDEN"),
    ],
)
async def test_named_scope_boundaries(
    http: httpx.AsyncClient, resources: Resources, scopes: list[Scope], query: str, expected: str
) -> None:
    token = await insert_key(resources, scopes)
    response = await http.post("/graphql", json={"query": query}, headers=bearer(token))
    assert codes(response.json()) == {expected}, response.text


async def test_read_key_over_websocket_cannot_manage_keys(settings: Settings, resources: Resources) -> None:
    from tests.access_helpers import ws_execute

    token = await insert_key(resources, [R])
    async with ws_connect(create_app(settings, resources=resources), {"Authorization": f"Bearer {token}"}) as ws:
        assert await ws_rejection(ws) is None
        denied = await ws_execute(ws, 'mutation { createApiKey(input: {name: "n", scopes: [READ]}) { secret } }')
        assert codes(denied) == {"FORBIDDEN"}
        assert (await ws_execute(ws, "{ viewer { scopes } }", "2"))["data"]["viewer"]["scopes"] == ["READ"]


JOB_MUTATIONS = {
    "cancelIngestionJob": "mutation($id: ID!) { cancelIngestionJob(id: $id) { job { status } errors { code field } } }",
    "replayRejections": "mutation($id: ID!) { replayRejections(jobId: $id) { job { id } errors { code field } } }",
    "deleteIngestionJob": "mutation($id: ID!) { deleteIngestionJob(id: $id) { deletedJobId errors { code field } } }",
}
REJECTIONS = "query($id: ID!) { ingestionJob(id: $id) { rejections(first: 5) { edges { node { code record } } } } }"
JOB_ACTORS = {"stranger": [W, R], "owner": [W, R], "types admin": [W, T], "keys admin": [W, K]}


@pytest.mark.parametrize(
    ("mutation", "actor", "allowed"),
    [
        # Changing another key's job: its creator or an admin only; any other activities:write key is FORBIDDEN.
        (mutation, actor, actor != "stranger") for mutation in JOB_MUTATIONS for actor in JOB_ACTORS
    ],
)
async def test_only_the_creator_or_an_admin_changes_a_job(
    http: httpx.AsyncClient, resources: Resources, run_worker: Any, mutation: str, actor: str, allowed: bool
) -> None:
    from tests.ingestion_support import approved_type, deposit

    await approved_type(resources)
    tokens = {name: await insert_key(resources, scopes, name=name) for name, scopes in JOB_ACTORS.items()}
    record = ("mutation($a: [ActivityInput!]!) { recordActivities(input: {activities: $a, createMissingPersons: true})"
              " { job { id: rowId } } }")
    sent = await http.post("/graphql", headers=bearer(tokens["owner"]), json={
        "query": record, "variables": {"a": [deposit(key="ok"), deposit(key="bad", amount="x")]}})
    job_id = sent.json()["data"]["recordActivities"]["job"]["id"]
    cancel = mutation == "cancelIngestionJob"
    if not cancel:
        await run_worker()  # replay and delete take an ended job; cancel a queued one
    body = (await http.post("/graphql", headers=bearer(tokens[actor]),
                            json={"query": JOB_MUTATIONS[mutation], "variables": {"id": job_id}})).json()
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    field = "jobId" if mutation == "replayRejections" else "id"
    assert [(e["code"], e["field"]) for e in payload["errors"]] == ([] if allowed else [("FORBIDDEN", field)])
    # A stranger is refused before anything changes; the job can still be read by any read key, rejected raw
    # records included (read is account-wide, docs/security.md).
    if not allowed:
        seen = (await http.post("/graphql", headers=bearer(tokens["stranger"]),
                                json={"query": REJECTIONS, "variables": {"id": job_id}})).json()
        job = seen["data"]["ingestionJob"]
        assert job is not None
        if not cancel:
            (edge,) = job["rejections"]["edges"]
            assert '"bad"' in edge["node"]["record"]
        async with resources.db.raw() as conn:
            state = await conn.fetchrow("SELECT status, cancel_requested FROM ingestion_job WHERE id = $1::uuid",
                                        job_id)
            replays = await conn.fetchval("SELECT count(*) FROM ingestion_job WHERE replay_of = $1::uuid", job_id)
        assert state is not None and not state["cancel_requested"] and replays == 0
        assert state["status"] == ("QUEUED" if cancel else "COMPLETED_WITH_ERRORS")
