"""Which documents get plans, when the compiled path answers, and the switch that turns it off."""

from __future__ import annotations

import httpx
import orjson
import pytest
from graphql import parse, validate

from app.api.app import create_app
from app.api.execution.compiled.cache import PlanCache
from app.api.execution.compiled.plan import compile_plan
from app.api.execution.internals import graphql_schema
from app.api.schema import build_schema
from app.bench.queries import TIMELINE
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import ADMIN_KEY_ID, ADMIN_TOKEN, bearer, insert_key
from tests.api.execution.compiled.conftest import Apps, Seeded, with_execution

SCHEMA = graphql_schema(build_schema())


def plan_for(document: str, operation_name: str | None = None) -> object:
    parsed = parse(document)
    assert validate(SCHEMA, parsed) == [], document
    return compile_plan(SCHEMA, parsed, operation_name)


def body(query: str, variables: dict[str, object]) -> dict[str, object]:
    content = orjson.dumps({"query": query, "variables": variables})
    return {"content": content, "headers": {"content-type": "application/json"}}


async def test_the_bench_query_is_answered_by_its_plan(apps: Apps, seeded: Seeded) -> None:
    """The compiled timeline read (docs/architecture.md): if this stops holding, the timeline falls back silently."""
    plans = apps.plans
    request = body(TIMELINE, {"id": str(seeded.rich), "first": 50, "after": None})
    first = await apps.compiled.post("/graphql", **request)  # normal path; the document gets its plan
    assert (plans.compiled, plans.answered, plans.fell_back) == (1, 0, 0)
    for _ in range(3):
        again = await apps.compiled.post("/graphql", **request)
        assert again.content == first.content
    assert (plans.compiled, plans.answered, plans.fell_back) == (1, 3, 0)
    edges = orjson.loads(first.content)["data"]["person"]["timeline"]["edges"]
    assert len(edges) == 50 and {e["node"]["activityType"]["apiName"] for e in edges} >= {"visitWebpage", "clickLink"}


async def test_switched_off(settings: Settings, resources: Resources, seeded: Seeded) -> None:
    await insert_key(resources, token=ADMIN_TOKEN, key_id=ADMIN_KEY_ID, name="test admin")
    app = create_app(with_execution(settings, compiled_plans=False), resources=resources)
    assert app.state.plans is None
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=bearer(ADMIN_TOKEN)) as client:
        for _ in range(2):
            response = await client.post("/graphql", **body(TIMELINE, {"id": str(seeded.rich), "first": 2}))
            assert len(response.json()["data"]["person"]["timeline"]["edges"]) == 2
    assert Settings(execution={"compiled_plans": False}).execution.compiled_plans is False


@pytest.mark.parametrize(
    "document",
    [
        "mutation { deleteActivityType(apiName: \"x\") { errors { code } } }",
        "subscription { ingestionJobUpdated(id: \"1\") { status } }",
        "{ __schema { queryType { name } } }",
        "{ __type(name: \"Person\") { name } }",
        "{ limits { maxPageSize } }",
        "{ persons(first: 1) { edges { node { id } } } }",
        "query($id: ID!) { person(id: $id) { timeline(first: 1) { edges { node { person { id } } } } } }",
        "query($id: ID!) { person(id: $id) { timeline(first: 1) { edges { node { id } } } } } query B { __typename }",
    ],
)
def test_documents_without_a_plan(document: str) -> None:
    parsed = parse(document)
    assert compile_plan(SCHEMA, parsed, None) is None


def test_plans_record_their_conditions_and_fragments_resolve_at_compile_time() -> None:
    plan = plan_for(
        """query($id: ID!, $a: Boolean!, $b: Boolean!) { person(id: $id) {
             ... on Person @include(if: $a) { id } email @skip(if: $b) ...F @skip(if: true) } }
           fragment F on Person { timeline { edges { node { id activityType { apiName } } } } }"""
    )
    assert plan is not None and plan.conditions == ("a", "b")  # type: ignore[attr-defined]
    named = plan_for("query Q { person(id: \"1\") { id } } query R { __typename }", "R")
    assert named is not None and named.static.operation.name.value == "R"  # type: ignore[attr-defined]


def test_least_recently_used_plans_are_evicted() -> None:
    plans = PlanCache(Settings().limits, maxsize=2)
    for n in range(3):
        query = f"{{ a{n}: __typename }}"
        plans.offer(SCHEMA, query, None, None, parse(query))
    assert len(plans) == 2 and plans.compiled == 3
    assert plans.get("{ a0: __typename }", None) is None
    assert plans.get("{ a2: __typename }", None) is not None
