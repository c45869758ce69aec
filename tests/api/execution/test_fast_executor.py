"""The fast executor returns exactly what graphql-core's normal execution returns, on varied documents and values."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry
from strawberry.scalars import JSON

from app.api.execution.fast_executor import FastExecutionContext
from app.api.execution.field_kinds import MISSING, fast_resolver
from app.api.execution.internals import BaseExecutor


@strawberry.enum(description="A colour.")
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type(description="A leaf object.")
class Tag:
    name: str
    weight: float | None = None


@strawberry.interface(description="Something named.")
class Named:
    name: str


@strawberry.type(description="Implements an interface, so it has is_type_of.")
class Label(Named):
    size: int


@strawberry.type(description="An item with plain fields, one fast resolver and one ordinary resolver.")
class Item:
    id: strawberry.ID
    title: str
    subtitle: str | None
    count: int
    at: datetime
    colour: Colour
    data: JSON
    tags: list[Tag]
    maybe_tags: list[Tag | None] | None
    scores: list[float]
    strict_tag: Tag
    label: Named
    attached: strawberry.Private[Tag | None] = None

    @strawberry.field(description="Served by the fast path when `attached` is set.")
    @fast_resolver(lambda self, context: self.attached if self.attached is not None else MISSING)
    def linked(self) -> Tag:
        return self.attached if self.attached is not None else Tag(name="resolved")

    @strawberry.field(description="An ordinary resolver: never on the fast path.")
    def shout(self, loud: bool = False) -> str:
        return self.title.upper() if loud else self.title


@strawberry.type(description="An edge.")
class Edge:
    cursor: str
    node: Item


@strawberry.type(description="A page.")
class Page:
    edges: list[Edge]
    total: int


def item(n: int, **changes: Any) -> Item:
    values: dict[str, Any] = {
        "id": strawberry.ID(str(n)),
        "title": f"item {n}",
        "subtitle": None if n % 2 else f"sub {n}",
        "count": n,
        "at": datetime(2026, 1, 1 + n % 27, 12, n % 60, tzinfo=UTC),
        "colour": Colour.RED if n % 2 else Colour.BLUE,
        "data": {"n": n, "nested": [1, "two", None]},
        "tags": [Tag(name="a", weight=1.5), Tag(name="b")],
        "maybe_tags": [Tag(name="x"), None] if n % 3 else None,
        "scores": [1.0, 2.5],
        "strict_tag": Tag(name="s"),
        "label": Label(name="l", size=n),
        "attached": Tag(name="attached") if n % 2 else None,
    }
    values.update(changes)
    return Item(**values)


PAGES: dict[str, Page] = {}


@strawberry.type(description="Root.")
class Query:
    @strawberry.field(description="A named page.")
    def page(self, name: str) -> Page | None:
        return PAGES.get(name)

    @strawberry.field(description="Same page, non-null.")
    def strict_page(self, name: str) -> Page:
        return PAGES[name]


def schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    fast = strawberry.Schema(query=Query, execution_context_class=FastExecutionContext)
    normal = strawberry.Schema(query=Query, execution_context_class=BaseExecutor)
    return fast, normal


FAST, NORMAL = schemas()

DOCUMENTS = [
    "{ page(name: \"ok\") { total edges { cursor node { id title subtitle count at colour data scores } } } }",
    "{ page(name: \"ok\") { edges { node { a: title b: title t: __typename tags { __typename name w: weight } } } } }",
    """query { page(name: "ok") { ...P } }
       fragment P on Page { edges { node { ...I ... on Item { count maybeTags { name } } } } }
       fragment I on Item { id title strictTag { name } }""",
    """query Q($yes: Boolean!, $no: Boolean!) { page(name: "ok") { edges {
         node { id title @skip(if: $yes) count @include(if: $yes) subtitle @include(if: $no)
                ... @include(if: $no) { data } ... @skip(if: $no) { colour } } } } }""",
    "{ page(name: \"ok\") { edges { node { linked { name } } } } }",
    "{ page(name: \"ok\") { edges { node { id shout(loud: true) label { name ... on Label { size } } } } } }",
    "{ page(name: \"missing\") { total } }",
    "{ page(name: \"nulls\") { edges { node { id title maybeTags { name } } } } }",
    "{ page(name: \"badnonnull\") { total edges { cursor node { id strictTag { name } } } } }",
    "{ strictPage(name: \"badnonnull\") { edges { node { strictTag { name } } } } }",
    "{ page(name: \"badlist\") { edges { node { tags { name } } } } }",
    "{ page(name: \"badscalar\") { edges { node { count } } } }",
    "{ page(name: \"badenum\") { edges { node { colour } } } }",
    "{ page(name: \"ok\") { edges { node { id } } edges2: edges { cursor node { title } } } }",
]


@pytest.fixture(autouse=True)
def pages() -> None:
    PAGES.clear()
    PAGES["ok"] = Page(edges=[Edge(cursor=f"c{n}", node=item(n)) for n in range(7)], total=7)
    PAGES["nulls"] = Page(edges=[Edge(cursor="c", node=item(1, maybe_tags=[None, None]))], total=1)
    PAGES["badnonnull"] = Page(edges=[Edge(cursor="c", node=item(2, strict_tag=None))], total=1)
    PAGES["badlist"] = Page(edges=[Edge(cursor="c", node=item(3, tags="not a list"))], total=1)
    PAGES["badscalar"] = Page(edges=[Edge(cursor="c", node=item(4, count="x"))], total=1)
    PAGES["badenum"] = Page(edges=[Edge(cursor="c", node=item(5, colour="green"))], total=1)


def outcome(schema: strawberry.Schema, document: str, variables: dict[str, Any] | None) -> Any:
    result = schema.execute_sync(document, variable_values=variables)
    errors = [(e.message, e.path, [(loc.line, loc.column) for loc in e.locations or ()]) for e in result.errors or ()]
    return result.data, errors


@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("variables", [{"yes": True, "no": False}, {"yes": False, "no": True}])
def test_fast_path_matches_normal_execution(document: str, variables: dict[str, Any]) -> None:
    used = variables if "$yes" in document else None
    fast, normal = outcome(FAST, document, used), outcome(NORMAL, document, used)
    assert fast == normal
    assert list(_keys(fast[0])) == list(_keys(normal[0]))  # same key order too


def test_error_cases_really_are_errors() -> None:
    """The comparison above covers errors, not only data: these documents do produce them."""
    for name in ("badnonnull", "badlist", "badscalar", "badenum"):
        data, errors = outcome(FAST, f'{{ page(name: "{name}") {{ edges {{ node {{ count colour tags {{ name }} '
                               f'strictTag {{ name }} }} }} }} }}', None)
        assert errors, name
        assert data == {"page": None}


def test_fast_resolver_result_is_used_and_resolver_runs_without_it() -> None:
    data, errors = outcome(FAST, '{ page(name: "ok") { edges { node { count linked { name } } } } }', None)
    assert not errors
    names = [(e["node"]["count"], e["node"]["linked"]["name"]) for e in data["page"]["edges"]]
    assert names == [(n, "attached" if n % 2 else "resolved") for n in range(7)]


def test_plain_subtree_takes_the_fast_path() -> None:
    """A plain selection is completed by the plan, not by graphql-core's per-field execution."""
    executed: list[str] = []

    class Counting(FastExecutionContext):
        def execute_field(self, parent_type: Any, *args: Any, **kwargs: Any) -> Any:
            executed.append(parent_type.name)
            return super().execute_field(parent_type, *args, **kwargs)

    schema = strawberry.Schema(query=Query, execution_context_class=Counting)
    result = schema.execute_sync('{ page(name: "ok") { edges { cursor node { id tags { name } } } } }')
    assert not result.errors
    assert executed == ["Query"]


def _keys(value: Any) -> Any:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)
