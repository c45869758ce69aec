"""Differential: every document answers byte-for-byte the same with compiled queries on as with them off."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from app.api.global_ids import to_global_id
from app.bench.queries import TIMELINE as BENCH
from tests.access_helpers import bearer
from tests.api.execution.compiled.conftest import Answer, Apps, Seeded

ACTIVITY = """fragment A on Activity {
  __typename id typeVersion occurredAt ingestedAt primaryValue fields idempotencyKey
  at: activityType { __typename id apiName name description triggerName filterName status isSystem version
    acceptsActivities createdAt deletedAt primaryField { apiName name dataType required maxLength allowedValues }
    fields { apiName dataType required minValue maxValue allowedValues } draft { name } pendingChanges { field }
    versions { number approvedBy definition { apiName primaryField { apiName } } } } }
fragment P on PageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }"""

SHAPES = (
    """query Shapes($id: ID!, $yes: Boolean!, $no: Boolean = false, $also: Boolean = false, $after: String) {
  __typename
  who: person(id: $id) {
    __typename id email externalId firstName lastName createdAt updatedAt
    ... on Person { mail: email }
    ... @skip(if: $yes) { skipped: externalId }
    recent: timeline(first: 7) {
      __typename
      edges { __typename c: cursor n: node { ...A k: idempotencyKey @include(if: $yes) primaryValue @skip(if: $yes) } }
      pageInfo { ...P }
      info: pageInfo @include(if: $no) { hasNextPage }
    }
    older: timeline(first: 4, after: $after) { edges { node { id ...A @include(if: $also) } } pageInfo { ...P } }
    newest: timeline(last: 2) { edges { cursor } pageInfo { ...P } }
  }
}
"""
    + ACTIVITY
)

MERGED = """query($id: ID!) { person(id: $id) { timeline(first: 9) {
  edges { node { id } node { fields activityType { name } } cursor node { activityType { apiName } id } }
  edges { cursor }
  pageInfo { endCursor } pageInfo { hasNextPage endCursor } } } }"""

LITERALS = """query($id: ID!) { person(id: $id) {
  email @skip(if: true) externalId @include(if: false) id @include(if: true) createdAt @skip(if: false)
  timeline(first: 3) { edges @include(if: true) { node { id @skip(if: true) occurredAt } } } } }"""

DEFAULTS = """query($id: ID! = "1", $first: Int = 5, $after: String = null) { person(id: $id) {
  timeline(first: $first, after: $after) { edges { cursor node { id } } pageInfo { endCursor } } } }"""

LOOKUP = """query($id: ID, $email: String, $ext: String) {
  person(id: $id, email: $email, externalId: $ext) { id email externalId timeline(first: 2) { edges { cursor } } } }"""

PAGE = """query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { person(id: $id) {
  timeline(first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id occurredAt activityType { apiName } } } pageInfo { ...P } } } }
fragment P on PageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }"""

FILTERED = """query($id: ID!, $filter: TimelineFilter) { person(id: $id) { timeline(first: 20, filter: $filter) {
  totalCount edges { node { id primaryValue fields activityType { apiName } } } pageInfo { hasNextPage } } } }"""

INLINE_FILTER = """query($id: ID!) { person(id: $id) {
  timeline(first: 5, filter: {activityTypes: ["clickLink", "otherCheck"], occurredAfter: "2026-11-02T10:10:00Z"}) {
    totalCount edges { node { id activityType { apiName isSystem } } } } } }"""

TWO_OPERATIONS = """query First($id: ID!) { person(id: $id) { email } }
query Second($id: ID!) { person(id: $id) { timeline(first: 2) { edges { cursor } } } }"""

COST = """query($id: ID!, $first: Int!) {
  person(id: $id) { timeline(first: $first) { edges { node { id fields } } } } }"""

DIRECTIVES = """query($id: ID!, $yes: Boolean!) {
  p: person(id: $id) @include(if: $yes) { id t: timeline(first: 4) @skip(if: $yes) { totalCount } }
  q: person(id: $id) @skip(if: $yes) { email timeline(last: 3) @include(if: $yes) { edges { cursor } } }
  r: person(id: $id) { timeline(first: 3) { edges { node { id activityType @include(if: $yes) { apiName } } } } }
}"""

TWO_TIMELINES = """query($id: ID!, $types: [String!]) { person(id: $id) {
  custom: timeline(first: 3, filter: {activityTypes: $types}) { totalCount edges { node { activityType { name } } } }
  all: timeline(first: 2) { totalCount pageInfo { hasNextPage } edges { node { fields activityType { isSystem } } } }
} }"""

SEARCH = (
    """query Search($filter: ActivitySearch!, $first: Int, $after: String) {
  activities(filter: $filter, first: $first, after: $after) {
    __typename totalCount edges { __typename cursor node { ...A } } pageInfo { ...P } } }
"""
    + ACTIVITY
)

SEARCH_AND_TIMELINE = """query($id: ID!, $types: [String!]) {
  found: activities(filter: {activityTypes: $types}, first: 4) { edges { node { id rowId } } pageInfo { endCursor } }
  person(id: $id) { timeline(first: 2) { edges { node { id activityType { apiName } } } } } }"""

SEARCH_GOOD = {"filter": {}, "first": 2}
"""Variables that plant a plan for the search documents whose case variables make the request fail."""

GOOD = {"id": "<rich>", "first": 5}
"""Variables that plant a plan for the documents whose case variables make the request fail."""


@dataclass
class Case:
    name: str
    query: str
    variables: dict[str, Any] | None = None
    expect: str = "compiled"  # compiled | fallback | normal (no plan) | none (refused before any GraphQL)
    prime: dict[str, Any] | None = None  # variables of the request that plants the plan (default: the case's own)
    operation: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    get: bool = False


CASES = [
    Case("bench first page", BENCH, {"id": "<rich>", "first": 50, "after": None}),
    Case("bench page 2", BENCH, {"id": "<rich>", "first": 50, "after": "<page1>"}),
    Case("bench last page", BENCH, {"id": "<rich>", "first": 50, "after": "<page2>"}),
    Case("bench full cap", BENCH, {"id": "<rich>", "first": 100}),
    Case("bench empty person", BENCH, {"id": "<empty>", "first": 50}),
    Case("bench null person", BENCH, {"id": "987654", "first": 50}),
    Case("bench over the cap", BENCH, {"id": "<rich>", "first": 101}, "fallback", GOOD),
    Case("bench negative first", BENCH, {"id": "<rich>", "first": -1}, "fallback", GOOD),
    Case("bench first 0", BENCH, {"id": "<rich>", "first": 0}),
    Case("bench bad cursor", BENCH, {"id": "<rich>", "first": 5, "after": "zzz"}, "fallback", GOOD),
    Case("bench bad id", BENCH, {"id": "abc", "first": 5}, "fallback", GOOD),
    Case("bench id zero", BENCH, {"id": "0", "first": 5}, "fallback", GOOD),
    Case("bench missing variables", BENCH, None, "fallback", GOOD),
    Case("bench wrong variable type", BENCH, {"id": "<rich>", "first": "5"}, "fallback", GOOD),
    Case("bench global id", BENCH, {"id": "<rich-global>", "first": 50}),
    Case("bench another type's global id", BENCH, {"id": "<rich-as-list>", "first": 5}, "fallback", GOOD),
    Case("bench GET", BENCH, {"id": "<rich>", "first": 50}, get=True),
    Case("bench new media type", BENCH, {"id": "<rich>", "first": 50},
         headers={"accept": "application/graphql-response+json"}),
    Case("missing variables new media type", BENCH, {}, "fallback", GOOD,
         headers={"accept": "application/graphql-response+json"}),
    Case("read-only key", BENCH, {"id": "<rich>", "first": 3}, headers={"authorization": "<reader>"}),
    Case("key without read scope", BENCH, {"id": "<rich>", "first": 3}, "fallback", {"id": "<rich>", "first": 3},
         headers={"authorization": "<writer>"}),
    Case("no key", BENCH, {"id": "<rich>", "first": 3}, "none", headers={"authorization": ""}),
    Case("shapes yes", SHAPES, {"id": "<rich>", "yes": True, "after": "<page1>"}),
    Case("shapes no", SHAPES, {"id": "<rich>", "yes": False, "no": True, "also": True}),
    # $no guards one field only: with two erroring siblings, which error is kept depends on which query ends first.
    Case("shapes null condition", SHAPES, {"id": "<rich>", "yes": True, "no": None}, "fallback",
         {"id": "<rich>", "yes": True}),
    Case("shapes missing condition", SHAPES, {"id": "<rich>"}, "fallback", {"id": "<rich>", "yes": True}),
    Case("merged fields", MERGED, {"id": "<rich>"}),
    Case("literal conditions", LITERALS, {"id": "<rich>"}),
    Case("defaults", DEFAULTS, {"id": "<rich>"}),
    Case("defaults explicit null", DEFAULTS, {"id": "<rich>", "first": None, "after": None}),
    Case("defaults with values", DEFAULTS, {"id": "<small>", "first": 1, "after": None}),
    Case("lookup by email", LOOKUP, {"email": "RICH@example.com"}),
    Case("lookup by external id", LOOKUP, {"ext": "ext-small"}),
    Case("lookup not found", LOOKUP, {"ext": "nobody"}),
    Case("lookup two identifiers", LOOKUP, {"id": "<rich>", "email": "rich@example.com"}, "fallback",
         {"ext": "ext-small"}),
    Case("lookup no identifier", LOOKUP, {}, "fallback", {"ext": "ext-small"}),
    Case("page backwards", PAGE, {"id": "<rich>", "last": 6, "before": "<page1>"}),
    Case("page forwards", PAGE, {"id": "<rich>", "first": 6, "after": "<page2>"}),
    Case("page first and last", PAGE, {"id": "<rich>", "first": 2, "last": 2}, "fallback", GOOD),
    Case("page bad before", PAGE, {"id": "<rich>", "last": 2, "before": "YTE6eDox"}, "fallback",
         {"id": "<rich>", "first": 2}),
    Case("filter types", FILTERED, {"id": "<rich>", "filter": {"activityTypes": ["visitWebpage", "compiledCheck"]}}),
    Case("filter where", FILTERED, {"id": "<rich>", "filter": {
        "activityTypes": ["compiledCheck"], "where": [{"field": "n", "op": "GREATER_THAN", "value": 50}]}}),
    Case("filter time", FILTERED, {"id": "<rich>", "filter": {"occurredBefore": "2026-11-02T10:05:00Z"}}),
    Case("filter refused", FILTERED, {"id": "<rich>", "filter": {
        "where": [{"field": "n", "op": "EQUALS", "value": 1}]}},
         "fallback", GOOD),
    Case("filter unknown type", FILTERED, {"id": "<rich>", "filter": {"activityTypes": ["nope"]}}, "fallback",
         {"id": "<rich>"}),
    Case("filter bad operator", FILTERED, {"id": "<rich>", "filter": {"activityTypes": ["compiledCheck"],
         "where": [{"field": "n", "op": "SOMETIMES", "value": 1}]}}, "fallback", {"id": "<rich>"}),
    Case("filter literal", INLINE_FILTER, {"id": "<rich>"}),
    Case("directives on compiled fields, yes", DIRECTIVES, {"id": "<rich>", "yes": True}),
    Case("directives on compiled fields, no", DIRECTIVES, {"id": "<rich>", "yes": False}),
    Case("two timelines", TWO_TIMELINES, {"id": "<rich>", "types": ["compiledCheck", "otherCheck"]}),
    Case("two timelines, one refused", TWO_TIMELINES, {"id": "<rich>", "types": ["nope"]}, "fallback",
         {"id": "<rich>", "types": ["otherCheck"]}),
    Case("two timelines, small person", TWO_TIMELINES, {"id": "<small>", "types": None}),
    Case("operation by name", TWO_OPERATIONS, {"id": "<rich>"}, operation="Second"),
    Case("first operation without a name", TWO_OPERATIONS, {"id": "<rich>"}),
    Case("unknown operation", TWO_OPERATIONS, {"id": "<rich>"}, "normal", operation="Third"),
    Case("cost refused", COST, {"id": "<rich>", "first": 100_000}, "fallback", GOOD),
    Case("cost allowed", COST, {"id": "<rich>", "first": 100}),
    Case("search all", SEARCH, {"filter": {}, "first": 10}),
    Case("search types", SEARCH, {"filter": {"activityTypes": ["visitWebpage", "compiledCheck"]}, "first": 5}),
    Case("search one person", SEARCH, {"filter": {"personIds": ["<rich>"]}, "first": 3, "after": "<page1>"}),
    Case("search by email and count", SEARCH, {"filter": {"personEmails": ["RICH@example.com"],
                                                          "minActivitiesPerPerson": 2}, "first": 4}),
    Case("search where", SEARCH, {"filter": {"activityTypes": ["compiledCheck"], "where": [
        {"field": "n", "op": "GREATER_THAN", "value": 50}]}}),
    Case("search nothing found", SEARCH, {"filter": {"personIds": ["987654"]}, "first": 3}),
    Case("search bad person id", SEARCH, {"filter": {"personIds": ["abc"]}}, "fallback", SEARCH_GOOD),
    Case("search bad cursor", SEARCH, {"filter": {}, "after": "zzz"}, "fallback", SEARCH_GOOD),
    Case("search unknown type", SEARCH, {"filter": {"activityTypes": ["nope"]}}, "fallback", SEARCH_GOOD),
    Case("search without read scope", SEARCH, {"filter": {}, "first": 2}, "fallback", SEARCH_GOOD,
         headers={"authorization": "<writer>"}),
    Case("search and timeline", SEARCH_AND_TIMELINE, {"id": "<rich>", "types": ["otherCheck"]}),
    Case("not compilable: activity person", """query($id: ID!) { person(id: $id) { timeline(first: 3) {
        edges { node { id person { email } activityType { apiName } } } } } }""", {"id": "<rich>"}, "normal"),
    Case("not compilable: other root field", """query($id: ID!) { limits { maxPageSize }
        person(id: $id) { timeline(first: 3) { edges { cursor } } } }""", {"id": "<rich>"}, "normal"),
    Case("not compilable: introspection", """query($id: ID!) { __schema { queryType { name } }
        person(id: $id) { id } }""", {"id": "<rich>"}, "normal"),
    Case("not compilable: persons", "{ persons(first: 2) { edges { node { id email } } } }", None, "normal"),
    Case("not a query", "mutation { deletePerson(id: \"1\") { deleted } }", None, "normal"),
    Case("invalid document", "query { person(id: 1) { nope } }", None, "normal"),
]


def _substitute(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("<") and value.endswith(">"):
        return names[value[1:-1]]
    if isinstance(value, dict):
        return {k: _substitute(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, names) for v in value]
    return value


def _request(case: Case, variables: dict[str, Any] | None, names: dict[str, str]) -> dict[str, Any]:
    headers = _substitute(case.headers, names)
    payload: dict[str, Any] = {"query": case.query}
    if variables is not None:
        payload["variables"] = _substitute(variables, names)
    if case.operation is not None:
        payload["operationName"] = case.operation
    if case.get:
        params = {k: orjson.dumps(v).decode() if k == "variables" else v for k, v in payload.items()}
        return {"method": "GET", "params": params, "headers": headers}
    return {"body": orjson.dumps(payload), "headers": {"content-type": "application/json", **headers}}


async def _names(apps: Apps, seeded: Seeded) -> dict[str, str]:
    names = {"rich": str(seeded.rich), "empty": str(seeded.empty), "small": str(seeded.small)}
    names["rich-global"], names["rich-as-list"] = to_global_id("Person", seeded.rich), to_global_id("SmartList", 1)
    names["reader"] = bearer(apps.read_only_token)["authorization"]
    names["writer"] = bearer(apps.write_only_token)["authorization"]
    after = None
    for page in (1, 2):
        body = (await apps.send(apps.normal, _request(Case("", BENCH), {"id": "<rich>", "first": 50, "after": after},
                                                      names))).json()
        after = body["data"]["person"]["timeline"]["pageInfo"]["endCursor"]
        names[f"page{page}"] = after
    return names


def _comparable(answer: Answer) -> tuple[int, list[tuple[str, str]], bytes]:
    return answer.status, answer.headers, answer.body


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_same_response_as_the_normal_path(apps: Apps, seeded: Seeded, case: Case) -> None:
    names = await _names(apps, seeded)
    request = _request(case, case.variables, names)
    expected = await apps.send(apps.normal, request)
    await apps.send(apps.compiled, _request(case, case.prime if case.prime is not None else case.variables, names))
    plans = apps.plans
    before = (plans.answered, plans.fell_back)
    got = await apps.send(apps.compiled, request)
    assert _comparable(got) == _comparable(expected), (got.json(), expected.json())
    after = (plans.answered, plans.fell_back)
    path = {(1, 0): "compiled", (0, 1): "fallback", (0, 0): "normal"}[(after[0] - before[0], after[1] - before[1])]
    assert path == ("normal" if case.expect == "none" else case.expect)
    if case.expect == "compiled":
        assert "errors" not in got.json()


WATERMARK = """query($id: ID!, $filter: TimelineFilter) { person(id: $id) {
  timeline(first: 3, filter: $filter) { syncWatermark totalCount edges { node { id ingestedAt } } } } }"""


async def test_sync_watermark_is_read_on_the_compiled_path(apps: Apps, seeded: Seeded) -> None:
    """The watermark is the time of the read, so only its presence and shape can be compared."""
    names = await _names(apps, seeded)
    variables = {"id": "<rich>", "filter": {"ingestedAfter": "2020-01-01T00:00:00Z"}}
    request = _request(Case("", WATERMARK), variables, names)
    await apps.send(apps.compiled, request)
    answered = apps.plans.answered
    bodies = [(await apps.send(client, request)).json() for client in (apps.normal, apps.compiled)]
    assert apps.plans.answered == answered + 1
    marks = [body["data"]["person"]["timeline"].pop("syncWatermark") for body in bodies]
    assert all(isinstance(m, str) and m.endswith("+00:00") for m in marks)
    assert bodies[0] == bodies[1] and bodies[0]["data"]["person"]["timeline"]["totalCount"] == 130


SEARCH_WATERMARK = """query($filter: ActivitySearch!) {
  activities(filter: $filter, first: 3) { syncWatermark totalCount edges { node { id ingestedAt } } } }"""


async def test_sync_watermark_is_read_by_the_compiled_search(apps: Apps, seeded: Seeded) -> None:
    names = await _names(apps, seeded)
    variables = {"filter": {"personIds": ["<rich>"], "ingestedAfter": "2020-01-01T00:00:00Z"}}
    request = _request(Case("", SEARCH_WATERMARK), variables, names)
    await apps.send(apps.compiled, request)
    answered = apps.plans.answered
    bodies = [(await apps.send(client, request)).json() for client in (apps.normal, apps.compiled)]
    assert apps.plans.answered == answered + 1
    marks = [body["data"]["activities"].pop("syncWatermark") for body in bodies]
    assert all(isinstance(m, str) and m.endswith("+00:00") for m in marks)
    assert bodies[0] == bodies[1] and bodies[0]["data"]["activities"]["totalCount"] == 130
