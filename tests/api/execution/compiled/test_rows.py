"""Rows: the compiled timeline reads its edges and activities from the domain activities, as the objects would hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from graphql import GraphQLObjectType

from app.api.activities.paging import activity_connection
from app.api.activities.rows import ROWS, row_connection
from app.api.activities.types import Activity
from app.api.execution.compiled.registry import REGISTRY
from app.api.execution.field_kinds import field_kind, plain_attribute
from app.api.execution.internals import graphql_schema
from app.api.schema import build_schema
from app.domain.activities import Activity as DomainActivity
from app.services.timelines import ActivityPage

SCHEMA = graphql_schema(build_schema())
T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def rows() -> list[DomainActivity]:
    return [
        DomainActivity(9_007_199_254_740_993, 42, 3, 2, T0, T0 + timedelta(seconds=1), '"https://e.x/a"',
                       '{"n": 1, "tags": ["a", "b"]}', "key-1"),
        DomainActivity(7, 42, 4, 1, T0 - timedelta(days=400), T0, None, "{}", None),
        DomainActivity(6, 42, 4, 1, datetime(1970, 1, 1, tzinfo=UTC), T0, "123456789012345678901234567890",
                       '{"big": 2.5e300, "s": "\\u00e9\\n"}', ""),
    ]


def page(items: list[DomainActivity]) -> ActivityPage:
    async def count() -> int:
        return len(items)

    return ActivityPage(items, True, False, T0, count, json_as_text=True)


def encoded(value: Any) -> bytes:
    return orjson.dumps(value)  # orjson.Fragment has no equality: compare what the response holds


def object_type(name: str) -> GraphQLObjectType:
    found = SCHEMA.type_map[name]
    assert isinstance(found, GraphQLObjectType)
    return found


def test_the_compiled_timeline_reads_rows() -> None:
    assert REGISTRY[("Person", "timeline")].rows is ROWS


@pytest.mark.parametrize("type_name", sorted(ROWS))
def test_every_field_of_a_row_type_is_read_from_the_row(type_name: str) -> None:
    """A plain field without a reader would send every document that selects it down the normal path."""
    type_ = object_type(type_name)
    readers = ROWS[type_name]
    assert set(readers) <= set(type_.fields), "a reader for a field the type does not have"
    for name, field_def in type_.fields.items():
        kind = field_kind(SCHEMA, type_, name, field_def)[0]
        if kind == "plain":
            assert name in readers, f"{type_name}.{name} has no row reader"
        else:
            assert name not in readers, f"{type_name}.{name} is resolved, not read"


def test_activity_readers_give_what_the_strawberry_activity_holds() -> None:
    type_ = object_type("Activity")
    for row in rows():
        built = Activity.from_domain(row, json_as_text=True)
        for name, read in ROWS["Activity"].items():
            attribute = plain_attribute(SCHEMA, type_, name)
            assert attribute is not None
            expected = getattr(built, attribute)
            got = getattr(row, read) if isinstance(read, str) else read(row)
            assert encoded(got) == encoded(expected), name
            assert got is None if expected is None else type(got) is type(expected), name


@pytest.mark.parametrize("items", [rows(), rows()[:1], []], ids=["three", "one", "empty"])
def test_a_row_connection_is_the_connection_of_the_same_page(items: list[DomainActivity]) -> None:
    objects, plain = activity_connection(page(items)), row_connection(page(items))
    assert plain.page_info == objects.page_info
    assert plain.sync_watermark == objects.sync_watermark
    assert plain.edges == items
    edge = ROWS["ActivityEdge"]
    cursor, node = edge["cursor"], edge["node"]
    assert node == "" and not isinstance(cursor, str)
    assert [cursor(row) for row in items] == [e.cursor for e in objects.edges]


async def test_a_row_connection_counts_with_its_page() -> None:
    assert await row_connection(page(rows())).count() == 3
