"""Persons through GraphQL: batch upsert matching, lookups, search paging, GDPR erasure, scopes."""

from __future__ import annotations

import uuid
from typing import Any

from app.api.global_ids import to_global_id
from app.domain.access import Scope
from app.services.runtime import Resources
from tests.access_helpers import insert_key
from tests.api.timeline_support import T0, Row, create_person, create_type, insert, minutes
from tests.conftest import GraphQL

UPSERT = """
mutation($persons: [PersonInput!]!) {
  upsertPersons(persons: $persons) {
    results { created person { id email externalId firstName lastName } errors { code field message } }
    errors { code field }
  }
}
"""
DELETE = """
mutation($id: ID!) { deletePerson(id: $id) {
  deletedPersonId activitiesDeleted rejectionsDeleted errors { code field } } }
"""
REJECTIONS = """
query($id: ID!) { ingestionJob(id: $id) {
  counts { rejected } rejections(first: 10) { totalCount edges { node { rowNumber } } } } }
"""
LOOKUP = """
query($id: ID, $email: String, $externalId: String) {
  person(id: $id, email: $email, externalId: $externalId) { id: rowId email externalId firstName }
}
"""


async def _upsert(gql: GraphQL, persons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    body = await gql(UPSERT, {"persons": persons})
    assert "errors" not in body, body
    payload = body["data"]["upsertPersons"]
    assert payload["errors"] == []
    results: list[dict[str, Any]] = payload["results"]
    return results


async def test_upsert_creates_then_matches_by_each_identifier(gql: GraphQL, resources: Resources) -> None:
    created = await _upsert(
        gql,
        [
            {"email": "Ann@Example.com", "firstName": "Ann"},
            {"externalId": "crm-2", "lastName": "Bee"},
        ],
    )
    assert [r["created"] for r in created] == [True, True]
    ann, bee = (r["person"] for r in created)
    assert ann["email"] == "Ann@Example.com" and bee["externalId"] == "crm-2"

    updated = await _upsert(
        gql,
        [
            {"email": "ann@EXAMPLE.com", "externalId": "crm-1"},  # email case-insensitive; adds an external id
            {"externalId": "crm-2", "email": "bee@example.com"},
            {"id": ann["id"], "lastName": "Smith", "firstName": None},  # null clears
        ],
    )
    assert [r["created"] for r in updated] == [False, False, False]
    assert [r["person"]["id"] for r in updated] == [ann["id"], bee["id"], ann["id"]]
    assert updated[2]["person"] == {
        "id": ann["id"],
        "email": "Ann@Example.com",
        "externalId": "crm-1",
        "firstName": None,
        "lastName": "Smith",
    }


async def test_upsert_reports_errors_per_item_in_input_order(gql: GraphQL, resources: Resources) -> None:
    await _upsert(gql, [{"email": "a@example.com", "externalId": "ext-a"}, {"email": "b@example.com"}])
    results = await _upsert(
        gql,
        [
            {"email": "new@example.com"},
            {"email": "a@example.com", "firstName": "A"},
            {"email": "b@example.com", "externalId": "ext-a"},  # ext-a belongs to a@
            {"firstName": "nobody"},
            {"email": "not-an-email"},
            {"id": "999999"},
            {"id": "abc"},
            {"email": "new@example.com", "lastName": "Again"},  # sees item 0 of this very batch
        ],
    )
    codes = [[(e["code"], e["field"]) for e in r["errors"]] for r in results]
    assert codes == [
        [],
        [],
        [("AMBIGUOUS_PERSON", "persons.2")],
        [("REQUIRED", "persons.3")],
        [("INVALID_EMAIL", "persons.4.email")],
        [("PERSON_NOT_FOUND", "persons.5.id")],
        [("INVALID", "persons.6.id")],
        [],
    ]
    assert results[0]["created"] and not results[7]["created"]
    assert results[7]["person"]["id"] == results[0]["person"]["id"]
    assert results[1]["person"]["firstName"] == "A" and results[1]["person"]["externalId"] == "ext-a"


async def test_upsert_conflict_on_taken_email(gql: GraphQL, resources: Resources) -> None:
    first = await _upsert(gql, [{"email": "x@example.com"}, {"email": "y@example.com"}])
    results = await _upsert(gql, [{"id": first[1]["person"]["id"], "email": "X@example.com"}])
    assert [(e["code"], e["field"]) for e in results[0]["errors"]] == [("CONFLICT", "persons.0.email")]


async def test_upsert_cap_is_a_typed_error(gql: GraphQL, resources: Resources) -> None:
    cap = resources.settings.limits.max_persons_per_upsert
    body = await gql(UPSERT, {"persons": [{"email": f"p{i}@example.com"} for i in range(cap + 1)]})
    payload = body["data"]["upsertPersons"]
    assert payload["results"] == [] and payload["errors"] == [{"code": "LIMIT_EXCEEDED", "field": "persons"}]


async def test_person_lookup_and_search(gql: GraphQL, resources: Resources) -> None:
    ids = [await create_person(resources, f"user{i}@example.com", f"ext-{i}") for i in range(7)]
    assert (await gql(LOOKUP, {"email": "USER3@example.com"}))["data"]["person"]["id"] == str(ids[3])
    assert (await gql(LOOKUP, {"externalId": "ext-4"}))["data"]["person"]["id"] == str(ids[4])
    assert (await gql(LOOKUP, {"id": str(ids[5])}))["data"]["person"]["email"] == "user5@example.com"
    assert (await gql(LOOKUP, {"email": "nobody@example.com"}))["data"]["person"] is None
    two = await gql(LOOKUP, {"email": "user1@example.com", "externalId": "ext-1"})
    assert two["errors"][0]["extensions"]["code"] == "INVALID"
    huge = await gql(LOOKUP, {"id": str(2**63)})
    assert (huge["errors"][0]["extensions"]["code"], huge["errors"][0]["extensions"]["field"]) == ("INVALID", "id")

    query = """query($after: String, $search: String) { persons(first: 3, after: $after, search: $search) {
      edges { cursor node { id: rowId } } pageInfo { hasNextPage endCursor } } }"""
    seen: list[str] = []
    after = None
    while True:
        conn = (await gql(query, {"after": after}))["data"]["persons"]
        seen += [e["node"]["id"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert seen == [str(i) for i in ids]
    found = (await gql(query, {"search": "ER5@EX"}))["data"]["persons"]["edges"]
    assert [e["node"]["id"] for e in found] == [str(ids[5])]
    bad = await gql(query, {"after": "nope"})
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    over = await gql("{ persons(first: 101) { edges { cursor } } }")
    assert over["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"


async def test_delete_person_erases_everything_about_them(gql: GraphQL, resources: Resources) -> None:
    type_id = await create_type(resources, "gdpr")
    doomed = await create_person(resources, "Doomed@Example.com", "crm-doomed-1")
    keeper = await create_person(resources, "keeper@example.com", "crm-keeper")
    await insert(resources, [Row(doomed, type_id, T0 + minutes(i)) for i in range(25)])
    await insert(resources, [Row(keeper, type_id, T0 + minutes(i)) for i in range(3)])
    job = uuid.uuid4()
    async with resources.db.raw() as conn:
        await conn.execute(
            "INSERT INTO ingestion_job (id, source, format, status, total_rows, processed_rows, rejected_rows) "
            "VALUES ($1, 'INLINE', 'JSONL', 'COMPLETED_WITH_ERRORS', 5, 5, 5)", job
        )
        await conn.executemany(
            "INSERT INTO ingestion_rejection (job_id, row_number, code, message, issues, record) "
            "VALUES ($1, $2, 'INVALID', 'm', '[{\"code\": \"INVALID\", \"field\": null, \"message\": \"m\"}]', $3)",
            [
                (job, 1, '{"person": {"email": "doomed@example.com"}, "activityType": "nope"}'),
                (job, 2, '{"person": {"externalId": "crm-doomed-1"}}'),
                (job, 3, "gdpr,crm-doomed-1,2026-11-02T10:00:00Z,x"),
                (job, 4, '{"person": {"email": "keeper@example.com"}}'),
                (job, 5, '{"person": {"externalId": "crm-doomed-10"}}'),
            ],
        )
    body = await gql(DELETE, {"id": str(doomed)})
    assert body["data"]["deletePerson"] == {
        "deletedPersonId": to_global_id("Person", doomed),
        "activitiesDeleted": 25,
        "rejectionsDeleted": 3,
        "errors": [],
    }
    async with resources.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM activity WHERE person_id = $1", doomed) == 0
        assert await conn.fetchval("SELECT count(*) FROM person WHERE id = $1", doomed) == 0
        assert await conn.fetchval("SELECT count(*) FROM activity") == 3
        assert sorted(await conn.fetch("SELECT row_number FROM ingestion_rejection")) == [(4,), (5,)]
        audit = await conn.fetchrow("SELECT action, target, details::text FROM audit_log WHERE action = 'person.erase'")
    assert audit["target"] == f"person:{doomed}"
    assert "doomed" not in audit["details"].lower() and '"activitiesDeleted": 25' in audit["details"]
    assert (await gql(LOOKUP, {"id": str(doomed)}))["data"]["person"] is None
    # The job still says what happened during its run; its rejections connection counts what is left.
    left = await gql(REJECTIONS, {"id": str(job)})
    assert left["data"]["ingestionJob"] == {
        "counts": {"rejected": 5},
        "rejections": {"totalCount": 2, "edges": [{"node": {"rowNumber": 4}}, {"node": {"rowNumber": 5}}]},
    }
    for missing in (str(doomed), "99999999999999999999", "x"):
        again = await gql(DELETE, {"id": missing})
        assert again["data"]["deletePerson"]["errors"] == [{"code": "NOT_FOUND", "field": "id"}]


async def test_delete_person_erases_rejected_records_that_spell_them_with_escapes(
    gql: GraphQL, resources: Resources
) -> None:
    # Matched on the decoded record: JSON escapes (in valid and in malformed JSON) hide nothing.
    doomed = await create_person(resources, "erase1@relia.test", "EXT-ERASE-777")
    job = uuid.uuid4()
    records = [
        (1, r'{"person": {"email": "erase1\u0040relia.test"}}'),
        (2, r'{"person": {"externalId": "EXT\u002dERASE-777"}}'),
        (3, r'{"person": {"email": "ERASE1\u0040RELIA\u002eTEST"}, "occurredAt": '),  # malformed, cut short
        (4, r'{"person": {"externalId": "EXT\u002DERASE\u002d777"}, "x": [1, 2'),  # malformed
        (5, r'{"person": {"email": "erase10\u0040relia.test"}}'),  # someone else
        (6, r'{"person": {"externalId": "EXT\u002dERASE-7770"}}'),  # someone else
        (7, r'{"note": "a \\ backslash, nobody named"}'),
    ]
    async with resources.db.raw() as conn:
        await conn.execute(
            "INSERT INTO ingestion_job (id, source, format, status) VALUES ($1, 'inline', 'jsonl', 'SUCCEEDED')", job
        )
        await conn.executemany(
            "INSERT INTO ingestion_rejection (job_id, row_number, code, message, issues, record) "
            "VALUES ($1, $2, 'X', 'm', '[]', $3)", [(job, n, r) for n, r in records])
    body = await gql(DELETE, {"id": str(doomed)})
    assert body["data"]["deletePerson"]["rejectionsDeleted"] == 4
    async with resources.db.raw() as conn:
        assert sorted(await conn.fetch("SELECT row_number FROM ingestion_rejection")) == [(5,), (6,), (7,)]


async def test_scopes(gql: GraphQL, resources: Resources) -> None:
    reader = await insert_key(resources, scopes=[Scope.READ], name="reader")
    writer = await insert_key(resources, scopes=[Scope.READ, Scope.ACTIVITIES_WRITE], name="writer")
    person = await create_person(resources, "scoped@example.com")
    denied = await gql(UPSERT, {"persons": [{"email": "z@example.com"}]}, authorization=f"Bearer {reader}")
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    allowed = await gql(UPSERT, {"persons": [{"email": "z@example.com"}]}, authorization=f"Bearer {writer}")
    assert allowed["data"]["upsertPersons"]["results"][0]["created"] is True
    # Erasure is an admin action: an ingestion key cannot do it.
    erase = await gql(DELETE, {"id": str(person)}, authorization=f"Bearer {writer}")
    assert erase["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    read = await gql(LOOKUP, {"id": str(person)}, authorization=f"Bearer {reader}")
    assert read["data"]["person"]["email"] == "scoped@example.com"
