"""One page-size rule for every connection: `first`/`last` from 0 to limits.maxPageSize, anything else refused.

PAGED lists every field of the schema that takes `first` or `last`; a new connection field without a row fails
`test_every_page_argument_is_in_the_table`; `test_page_size_and_cursor_rules` holds each row to the rule
(and to typed INVALID_CURSOR refusals of cursors the API never returned).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import GraphQLObjectType

from app.api.app import create_app
from app.api.execution.internals import graphql_schema
from app.api.schema import build_schema
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import ADMIN_KEY_ID, ADMIN_TOKEN, bearer, insert_key
from tests.api.timeline_support import T0, Row, create_person, create_type, insert, minutes

CAP = 2  # every seeded list below holds CAP + 1 items, so a full page always has a next one
PAGE = "edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"


@dataclasses.dataclass(frozen=True)
class Paged:
    document: str  # `$n` is the page size, `$cursor` the after/before cursor; `$person`/`$job` come from the seed
    path: tuple[str, ...]  # from `data` to the connection


def _paged(path: str, arguments: str = "", size: str = "first", parent: str = "") -> Paged:
    """`path` is `field` or `parent.field`; `parent` is the parent field's argument (`id: $person`)."""
    cursor = "before" if size == "last" else "after"
    *outer, field = path.split(".")
    selection = f"{field}({arguments}{size}: $n, {cursor}: $cursor) {{ {PAGE} }}"
    variables = "$n: Int, $cursor: String"
    if outer:
        variable = parent.split("$")[1]
        variables += f", ${variable}: ID!"
        selection = f"{outer[0]}({parent}) {{ {selection} }}"
    return Paged(f"query({variables}) {{ {selection} }}", tuple(path.split(".")))


PAGED: dict[str, Paged] = {
    "Query.activityTypes.first": _paged("activityTypes"),
    "Query.persons.first": _paged("persons"),
    "Query.activities.first": _paged("activities", "filter: {}, "),
    "Query.apiKeys.first": _paged("apiKeys"),
    "Query.auditLog.first": _paged("auditLog"),
    "Query.ingestionJobs.first": _paged("ingestionJobs"),
    "Query.exportJobs.first": _paged("exportJobs"),
    "Person.timeline.first": _paged("person.timeline", parent="id: $person"),
    "Person.timeline.last": _paged("person.timeline", size="last", parent="id: $person"),
    "IngestionJob.rejections.first": _paged("ingestionJob.rejections", parent="id: $job"),
    "Query.smartLists.first": _paged("smartLists"),
    "Person.smartLists.first": _paged("person.smartLists", parent="id: $person"),
    "SmartList.members.first": _paged("smartList.members", parent="id: $list"),
    "SmartListPreview.members.first": Paged(
        "query($n: Int, $cursor: String) { smartListPreview(definition: {filters: [{person: {where: "
        '[{field: "email", op: ENDS_WITH, value: "@example.com"}]}}]}) '
        f"{{ members(first: $n, after: $cursor) {{ {PAGE} }} }} }}",
        ("smartListPreview", "members"),
    ),
    "Query.triggers.first": _paged("triggers"),
    "Trigger.deliveries.first": _paged("trigger.deliveries", parent="id: $trigger"),
}
EVERYONE = '{"filters": [{"person": {"where": [{"field": "email", "op": "ENDS_WITH", "value": "@example.com"}]}}]}'


def test_every_page_argument_is_in_the_table() -> None:
    schema = graphql_schema(build_schema())
    found = {
        f"{name}.{field_name}.{arg}"
        for name, graphql_type in schema.type_map.items()
        if isinstance(graphql_type, GraphQLObjectType) and not name.startswith("__")
        for field_name, field in graphql_type.fields.items()
        for arg in ("first", "last")
        if arg in field.args
    }
    assert found == set(PAGED)


async def _seed(resources: Resources) -> dict[str, Any]:
    """CAP + 1 of everything each connection lists (the admin key is the third key)."""
    type_id = await create_type(resources, "paged")
    people = [await create_person(resources, f"p{i}@example.com") for i in range(CAP + 1)]
    await insert(resources, [Row(people[0], type_id, T0 + minutes(i)) for i in range(CAP + 1)])
    for i in range(CAP):
        await insert_key(resources, name=f"key {i}")
    jobs = [uuid.uuid4() for _ in range(CAP + 1)]
    issues = '[{"code": "INVALID", "field": null, "message": "m"}]'
    async with resources.db.raw() as conn:
        await conn.executemany(
            "INSERT INTO audit_log (actor, action, target, details) VALUES ('test', 'apiKey.create', $1, '{}')",
            [(f"key:{i}",) for i in range(CAP + 1)],
        )
        lists = [
            await conn.fetchval(
                "INSERT INTO smart_list (name, definition) VALUES ($1, $2::text::jsonb) RETURNING id", f"l{i}", EVERYONE
            )
            for i in range(CAP + 1)
        ]
        await conn.executemany(
            "INSERT INTO ingestion_job (id, source, format, status) VALUES ($1, 'INLINE', 'JSONL', 'SUCCEEDED')",
            [(job,) for job in jobs],
        )
        await conn.executemany(  # the admin key sees every key's exports
            "INSERT INTO export_job (id, kind, status, format, compression, columns, created_by) "
            "VALUES ($1, 'ACTIVITIES', 'SUCCEEDED', 'JSONL', 'NONE', '{id}', 'someone')",
            [(uuid.uuid4(),) for _ in range(CAP + 1)],
        )
        await conn.executemany(
            "INSERT INTO ingestion_rejection (job_id, row_number, code, message, issues, record) "
            "VALUES ($1, $2, 'INVALID', 'm', $3::jsonb, '{}')",
            [(jobs[0], n, issues) for n in range(1, CAP + 2)],
        )
        assert await conn.fetchval("SELECT count(*) FROM activity_type WHERE deleted_at IS NULL") > CAP
        triggers = [uuid.uuid4() for _ in range(CAP + 1)]
        await conn.executemany(
            "INSERT INTO webhook_trigger (id, name, activity_type_id, conditions, url, status, batch_max_size, "
            "batch_max_wait_ms, secret) VALUES ($1, $2, $3, '[]', 'http://127.0.0.1:9/', 'PAUSED', 100, 0, 's')",
            [(t, f"trigger {i}", type_id) for i, t in enumerate(triggers)],
        )
        await conn.executemany(
            "INSERT INTO trigger_delivery (trigger_id, status, activity_ids, person_ids, occurred_ats) "
            "VALUES ($1, 'FAILED', '{1}', '{1}', ARRAY[now()])", [(triggers[0],) for _ in range(CAP + 1)],
        )
    return {"person": str(people[0]), "job": str(jobs[0]), "list": str(lists[0]), "trigger": str(triggers[0])}


@pytest.fixture
async def capped(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    """An admin client on an app whose limits.maxPageSize is CAP."""
    tight = settings.model_copy(update={"limits": settings.limits.model_copy(update={"max_page_size": CAP})})
    await insert_key(resources, token=ADMIN_TOKEN, key_id=ADMIN_KEY_ID, name="test admin")
    app = create_app(tight, resources=dataclasses.replace(resources, settings=tight))
    transport = httpx.ASGITransport(app=app)
    headers = bearer(ADMIN_TOKEN)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as http:
        yield http


@pytest.mark.parametrize("name", sorted(PAGED))
async def test_page_size_and_cursor_rules(name: str, capped: httpx.AsyncClient, resources: Resources) -> None:
    paged = PAGED[name]
    seed = await _seed(resources)
    backward = name.endswith(".last")

    async def run(n: int | None, cursor: str | None = None) -> dict[str, Any]:
        variables = {"n": n, "cursor": cursor, **{k: v for k, v in seed.items() if f"${k}" in paged.document}}
        response = await capped.post("/graphql", json={"query": paged.document, "variables": variables})
        body: dict[str, Any] = response.json()
        return body

    def connection(body: dict[str, Any]) -> dict[str, Any]:
        assert "errors" not in body, body
        value: Any = body["data"]
        for key in paged.path:
            value = value[key]
        assert isinstance(value, dict)
        return value

    for n, size in ((None, CAP), (0, 0), (1, 1), (CAP, CAP)):
        page = connection(await run(n))
        assert len(page["edges"]) == size, (n, page)
        info = page["pageInfo"]
        # An omitted `last` is no `last`: the default page walks forward.
        more, less = ("hasNextPage", "hasPreviousPage")
        if backward and n is not None:
            more, less = less, more
        assert (info[more], info[less]) == (True, False), (n, info)
        edges = page["edges"]
        assert (info["startCursor"], info["endCursor"]) == (
            (edges[0]["cursor"], edges[-1]["cursor"]) if edges else (None, None)
        ), (n, info)

    arg = name.rsplit(".", 1)[1]
    for n, code, issue in ((-1, "INVALID", "OUT_OF_RANGE"), (CAP + 1, "LIMIT_EXCEEDED", "LIMIT_EXCEEDED")):
        (error,) = (await run(n))["errors"]
        assert tuple(error["path"]) == paged.path, (n, error)
        extensions = error["extensions"]
        assert (extensions["code"], extensions["field"], extensions["issues"][0]["code"]) == (code, arg, issue), n
    for cursor in ("nope", "%%%", ""):
        (error,) = (await run(1, cursor))["errors"]
        extensions = error["extensions"]
        assert (extensions["code"], extensions["field"]) == ("INVALID_CURSOR", "before" if backward else "after")
