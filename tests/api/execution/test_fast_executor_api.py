"""On the real schema and data, the fast executor answers timeline documents exactly as graphql-core's path does."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from app.api.context import Context
from app.api.execution.fast_executor import FastExecutionContext
from app.api.execution.internals import BaseExecutor
from app.api.loaders import Loaders
from app.api.schema import build_schema
from app.domain.access import Principal
from app.domain.activity_types import FieldDataType
from app.services.runtime import Resources
from tests.api.timeline_support import T0, Row, create_person, create_type, insert, minutes

FAST = build_schema()
NORMAL = build_schema()
NORMAL.execution_context_class = BaseExecutor

DOCUMENTS = [
    """query($id: ID!) { person(id: $id) { timeline(first: 50) {
         edges { cursor node { id activityType { apiName } typeVersion occurredAt ingestedAt primaryValue fields
                               idempotencyKey } }
         pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }""",
    """query($id: ID!, $yes: Boolean!) { person(id: $id) { t: timeline(first: 7) {
         __typename edges { c: cursor n: node { __typename ...A k: idempotencyKey @include(if: $yes)
                                                 primaryValue @skip(if: $yes) } } } } }
       fragment A on Activity { id at: activityType { __typename apiName status isSystem version
         primaryField { apiName dataType required } fields { apiName dataType allowedValues maxLength } } }""",
    """query($id: ID!, $yes: Boolean!) { person(id: $id) { timeline(first: 5) { totalCount
         edges { node { id person { id email } ... on Activity @include(if: $yes) { fields }
                        activityType { versions { number definition { apiName fields { apiName } } } draft { name }
                                       pendingChanges { field } } } } } } }""",
    """query($id: ID!) { person(id: $id) { timeline(last: 3) { edges { node { activityType { apiName }
         activityType { name } } } } } }""",
]


class Counting(FastExecutionContext):
    executed: list[str] = []  # class-level on purpose: one test reads it

    def execute_field(self, parent_type: Any, *args: Any, **kwargs: Any) -> Any:
        self.executed.append(parent_type.name)
        return super().execute_field(parent_type, *args, **kwargs)


COUNTING = build_schema()
COUNTING.execution_context_class = Counting


async def seed(resources: Resources) -> int:
    fields = [("n", FieldDataType.INTEGER), ("s", FieldDataType.STRING)]
    type_id = await create_type(resources, "fastCheck", fields=fields)
    person = await create_person(resources, "fast@example.com")
    rows = [
        Row(person, type_id, T0 + minutes(i), primary=None if i % 4 == 0 else f"v{i}",
            fields={"n": i} if i % 3 else {}, key=f"k{i}" if i % 2 else None)
        for i in range(60)
    ]
    await insert(resources, rows)
    return person


async def execute(resources: Resources, schema: Any, document: str, variables: dict[str, Any]) -> Any:
    context = Context(
        request=None,  # type: ignore[arg-type]  # no resolver on these paths reads the request
        response=None,
        resources=resources,
        principal=Principal.local_admin(),
        loaders=Loaders(resources),
    )
    result = await schema.execute(document, variable_values=variables, context_value=context)
    # As the response encodes it: timelines hold their JSON values as stored text (orjson.Fragment).
    data = orjson.loads(orjson.dumps(result.data))
    return data, [(e.message, e.path) for e in result.errors or ()]


@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("yes", [True, False])
async def test_real_schema_same_answers(resources: Resources, document: str, yes: bool) -> None:
    person = await seed(resources)
    variables: dict[str, Any] = {"id": str(person), "yes": yes} if "$yes" in document else {"id": str(person)}

    fast = await execute(resources, FAST, document, variables)
    normal = await execute(resources, NORMAL, document, variables)
    assert not fast[1] and fast[0]["person"]
    assert fast == normal


async def test_timeline_items_take_the_fast_path(resources: Resources) -> None:
    person = await seed(resources)
    Counting.executed.clear()
    data, errors = await execute(resources, COUNTING, DOCUMENTS[0], {"id": str(person)})
    assert not errors and len(data["person"]["timeline"]["edges"]) == 50
    assert Counting.executed == ["Query", "Person"]  # edges, nodes, activityType: completed in one pass
