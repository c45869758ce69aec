"""Relay global ids: node(id:) and nodes(ids:) refetch every Node type, with each type's own scope."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from graphql import GraphQLObjectType

from app.api.execution.internals import graphql_schema
from app.api.global_ids import NODE_TYPES, from_global_id, raw_id, to_global_id
from app.api.nodes import FETCHERS
from app.api.schema import build_schema
from app.domain.access import ALL_SCOPES, Principal, Scope
from app.domain.triggers import Batch, TriggerSpec
from app.services.runtime import Resources
from app.services.triggers import admin
from tests.access_helpers import bearer, insert_key
from tests.api.timeline_support import T0, Row, create_person, create_type, insert
from tests.conftest import GraphQL

NODE_SCOPE: dict[str, Scope] = {
    # The scope of the field that reaches each type directly; node(id:) asks for the same one.
    "Person": Scope.READ,
    "Activity": Scope.READ,
    "ActivityType": Scope.READ,
    "IngestionJob": Scope.READ,
    "ExportJob": Scope.READ,
    "SmartList": Scope.READ,
    "ApiKey": Scope.KEYS_ADMIN,
    "Trigger": Scope.TRIGGERS_ADMIN,
    "TriggerDelivery": Scope.TRIGGERS_ADMIN,
}
UNUSED = "987654321"  # a bigint id no row has
SAMPLE_RAW = {"Activity": f"{UNUSED}:{UNUSED}", "ActivityType": UNUSED, "Person": UNUSED, "SmartList": UNUSED,
              "TriggerDelivery": UNUSED}

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"
REFETCH = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Person { rowId email }
    ... on Activity { rowId primaryValue }
    ... on ActivityType { rowId apiName }
    ... on IngestionJob { rowId jobStatus: status }
    ... on ApiKey { rowId name }
    ... on ExportJob { rowId kind }
    ... on SmartList { rowId name }
    ... on Trigger { rowId name }
    ... on TriggerDelivery { rowId deliveryStatus: status }
  }
}
"""


def test_global_ids_are_base64_of_type_and_raw_id() -> None:
    gid = to_global_id("Person", 42)
    assert gid == "UGVyc29uOjQy"  # base64("Person:42"), as graphql-relay's toGlobalId writes it
    assert from_global_id(gid) == ("Person", "42")
    assert raw_id(gid, "Person") == "42"
    assert raw_id("42", "Person") == "42"  # raw ids stay accepted
    with pytest.raises(ValueError, match="a Person id where a SmartList id belongs"):
        raw_id(gid, "SmartList")
    key = uuid.uuid4()
    assert from_global_id(str(key)) is None and from_global_id("12345678") is None  # raw ids are never global
    assert from_global_id(to_global_id("Nope", 1)) is None and from_global_id("x" * 300) is None


def test_every_node_type_has_a_fetcher_and_a_scope() -> None:
    schema = graphql_schema(build_schema())
    implementing = {
        name for name, t in schema.type_map.items()
        if isinstance(t, GraphQLObjectType) and any(i.name == "Node" for i in t.interfaces)
    }
    assert implementing == NODE_TYPES == FETCHERS.keys() == NODE_SCOPE.keys()


@pytest.mark.parametrize("type_name", sorted(NODE_SCOPE))
async def test_node_needs_the_scope_of_the_types_direct_field(
    client: httpx.AsyncClient, resources: Resources, type_name: str
) -> None:
    required = NODE_SCOPE[type_name]
    gid = to_global_id(type_name, SAMPLE_RAW.get(type_name, uuid.uuid4()))
    lacking = bearer(await insert_key(resources, ALL_SCOPES - {required}, name="everything else"))
    denied = (await client.post("/graphql", json={"query": NODE, "variables": {"id": gid}}, headers=lacking)).json()
    assert denied["data"] == {"node": None}
    assert [(e["extensions"]["code"], e["path"]) for e in denied["errors"]] == [("FORBIDDEN", ["node"])]
    assert required.value in denied["errors"][0]["message"]

    # In nodes(ids:) the refusal takes only its own slot; an id that names nothing is a plain null.
    variables = {"ids": [gid, "not a global id"]}
    listed = (await client.post("/graphql", json={"query": NODES, "variables": variables}, headers=lacking)).json()
    assert listed["data"] == {"nodes": [None, None]}
    assert [(e["extensions"]["code"], e["path"]) for e in listed["errors"]] == [("FORBIDDEN", ["nodes", 0])]

    holder = bearer(await insert_key(resources, [required], name="just this scope"))
    allowed = (await client.post("/graphql", json={"query": NODE, "variables": {"id": gid}}, headers=holder)).json()
    assert allowed == {"data": {"node": None}}  # nothing has this id, and nothing was refused


async def _one_of_each(gql: GraphQL, resources: Resources) -> dict[str, dict[str, Any]]:
    """One object of every Node type, as its direct field or mutation returns it (with `id` and `rowId`)."""
    type_id = await create_type(resources, "nodeVisit")
    person = await create_person(resources, "node@example.com")
    [activity] = await insert(resources, [Row(person, type_id, T0, primary="Main St")])
    trigger, _ = await admin.create(resources, Principal.local_admin(), TriggerSpec(
        name="nodes", activity_type="nodeVisit", where=(), url="http://127.0.0.1:9/hook", batch=Batch(max_size=10)))
    async with resources.db.raw() as conn:
        await conn.execute(
            "INSERT INTO trigger_delivery (trigger_id, status, activity_ids, person_ids, occurred_ats) "
            "VALUES ($1, 'FAILED', $2, $3, $4)", trigger.id, [activity], [person], [T0])
    body = await gql("""
      mutation($person: ID!) {
        recordActivities(input: {activities: [{activityType: "nodeVisit", person: {id: $person},
          occurredAt: "2026-11-02T10:00:00Z", primaryValue: "x"}]}) { job { id rowId } errors { code } }
        exportPersons(input: {}) { job { id rowId } errors { code } }
        createSmartList(input: {name: "nodes", definition: {filters: [{activity: {activityType: "nodeVisit"}}]}}) {
          smartList { id rowId } errors { code } }
      }""", {"person": to_global_id("Person", person)})
    assert "errors" not in body, body
    reads = await gql("""
      query($person: ID!, $trigger: ID!) {
        person(id: $person) { id rowId timeline(first: 1) { edges { node { id rowId } } } }
        activityType(apiName: "nodeVisit") { id rowId }
        apiKeys(first: 1) { edges { node { id rowId } } }
        trigger(id: $trigger) { id rowId deliveries(first: 1) { edges { node { id rowId } } } }
      }""", {"person": str(person), "trigger": str(trigger.id)})
    assert "errors" not in reads, reads
    data, made = reads["data"], body["data"]
    return {
        "Person": data["person"],
        "Activity": data["person"]["timeline"]["edges"][0]["node"],
        "ActivityType": data["activityType"],
        "IngestionJob": made["recordActivities"]["job"],
        "ApiKey": data["apiKeys"]["edges"][0]["node"],
        "ExportJob": made["exportPersons"]["job"],
        "SmartList": made["createSmartList"]["smartList"],
        "Trigger": data["trigger"],
        "TriggerDelivery": data["trigger"]["deliveries"]["edges"][0]["node"],
    }


async def test_node_and_nodes_refetch_one_object_of_every_type(gql: GraphQL, resources: Resources) -> None:
    objects = await _one_of_each(gql, resources)
    assert objects.keys() == NODE_TYPES
    for type_name, obj in objects.items():
        assert from_global_id(obj["id"]) is not None and from_global_id(obj["id"])[0] == type_name  # type: ignore[index]
        body = await gql(REFETCH, {"id": obj["id"]})
        assert "errors" not in body and body["data"]["node"]["__typename"] == type_name, body
        assert (body["data"]["node"]["id"], body["data"]["node"]["rowId"]) == (obj["id"], obj["rowId"]), type_name

    ids = [obj["id"] for obj in objects.values()]
    listed = await gql(NODES, {"ids": [*ids, to_global_id("Person", 987654321), "garbage"]})
    assert "errors" not in listed, listed
    assert [n and n["__typename"] for n in listed["data"]["nodes"]] == [*objects, None, None]


async def test_id_arguments_take_the_global_id_and_the_raw_id(gql: GraphQL, resources: Resources) -> None:
    person = await create_person(resources, "both@example.com")
    query = "query($id: ID) { person(id: $id) { id rowId email } }"
    by_global = await gql(query, {"id": to_global_id("Person", person)})
    by_raw = await gql(query, {"id": str(person)})
    assert by_global == by_raw == {"data": {"person": {
        "id": to_global_id("Person", person), "rowId": str(person), "email": "both@example.com"}}}
    # Another type's global id names no person: the same refusal as any id that is not a person's.
    wrong = await gql(query, {"id": to_global_id("SmartList", person)})
    assert wrong["data"] == {"person": None} and wrong["errors"][0]["extensions"]["code"] == "INVALID"
    erased = await gql("mutation($id: ID!) { deletePerson(id: $id) { deletedPersonId errors { code } } }",
                       {"id": to_global_id("Person", person)})
    assert erased["data"]["deletePerson"] == {"deletedPersonId": to_global_id("Person", person), "errors": []}


async def test_nodes_takes_at_most_max_page_size_ids(gql: GraphQL, resources: Resources) -> None:
    limit = resources.settings.limits.max_page_size
    body = await gql(NODES, {"ids": [to_global_id("Person", i) for i in range(1, limit + 2)]})
    assert body["data"] is None or body["data"] == {"nodes": None}, body
    [error] = body["errors"]
    assert error["path"] == ["nodes"] and error["extensions"]["field"] == "ids", error
    assert [i["code"] for i in error["extensions"]["issues"]] == ["OUT_OF_RANGE"], error
