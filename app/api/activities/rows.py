"""Activity pages as rows for the compiled plans: edges and activities read straight from the domain activities.

The compiled Person.timeline and Query.activities (app/api/execution/compiled/fields.py) return a RowConnection,
whose edges are the page's domain activities, and declare ROWS: the builder (app/api/execution/compiled/build.py)
reads each selected field of an edge or an activity with these readers rather than building a Strawberry Activity
and edge per item. The readers are the functions Activity.from_domain and activity_connection use, so both paths
answer alike (tests/api/execution/compiled/test_differential.py); a field with no reader sends the request down the
normal path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from strawberry.relay import PageInfo

from app.api.activities.types import activity_global_id, activity_row_id, stored_fields, stored_primary_value
from app.api.connections import cursors_page_info
from app.api.execution.compiled.registry import RowReaders
from app.domain.activities import Activity
from app.domain.cursors import encode_activity_cursor
from app.services.timelines import ActivityPage


def activity_cursor(a: Activity) -> str:
    return encode_activity_cursor(a.occurred_at, a.id)


ROWS: RowReaders = {
    "ActivityEdge": {"cursor": activity_cursor, "node": ""},
    "Activity": {
        "id": activity_global_id,
        "rowId": activity_row_id,
        "typeVersion": "type_version",
        "occurredAt": "occurred_at",
        "ingestedAt": "ingested_at",
        "primaryValue": stored_primary_value,
        "fields": stored_fields,
        "idempotencyKey": "idempotency_key",
    },
}
"""Readers of the ActivityEdge and Activity fields (GraphQL names) from a domain activity read with its JSON as text:
a function of the row, or the name of its attribute ("" for the row itself), which the plan reads inline."""


@dataclass(slots=True)
class RowConnection:
    """An ActivityConnection's fields (Python names), its edges being the page's domain activities."""

    edges: list[Activity]
    page_info: PageInfo
    sync_watermark: datetime | None
    counter: Callable[[], Awaitable[int]]

    async def count(self) -> int:
        return await self.counter()


def row_connection(page: ActivityPage) -> RowConnection:
    assert page.json_as_text, "ROWS reads JSON values as stored text"
    items = page.items
    start, end = (activity_cursor(items[0]), activity_cursor(items[-1])) if items else (None, None)
    info = cursors_page_info(start, end, page.has_next_page, page.has_previous_page)
    return RowConnection(edges=items, page_info=info, sync_watermark=page.sync_watermark, counter=page.count)
