"""GraphQL Person, its connection and the timeline field."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.api.activities import paging
from app.api.activities.errors import FIRST_DESCRIPTION, checked_first
from app.api.activities.inputs import TimelineFilter
from app.api.activities.types import ActivityConnection
from app.api.connections import Connection, connection
from app.api.context import Info
from app.api.global_ids import ROW_ID, Node, to_global_id
from app.api.payloads import query_errors
from app.domain.activities import Person as DomainPerson
from app.domain.cursors import encode_id_cursor
from app.services import smart_lists

if TYPE_CHECKING:
    from app.api.smart_lists.types import SmartListConnection


@strawberry.type(description="A person and their complete timeline of standard and custom activities.")
class Person(Node):
    """Compiled plans (app/api/execution/compiled/fields.py) answer `timeline` too, through the same read
    (activities/paging.timeline), and complete the plain fields below by attribute: see docs/architecture.md."""

    row_id: strawberry.ID = strawberry.field(description=ROW_ID)
    email: str | None = strawberry.field(description="Email address (unique, case-insensitive).")
    external_id: str | None = strawberry.field(description="Your system's id for this person (unique).")
    first_name: str | None = strawberry.field(description="First name.")
    last_name: str | None = strawberry.field(description="Last name.")
    created_at: datetime = strawberry.field(description="When the person was created.")
    updated_at: datetime = strawberry.field(description="When the person was last changed.")

    @classmethod
    def from_domain(cls, p: DomainPerson) -> Person:
        return cls(
            id=to_global_id("Person", p.id),
            row_id=strawberry.ID(str(p.id)),
            email=p.email,
            external_id=p.external_id,
            first_name=p.first_name,
            last_name=p.last_name,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )

    @strawberry.field(
        description=(
            "Activities newest first (occurredAt, then id), keyset-paginated both ways: first/after walks "
            "to older ones, last/before to newer ones. first/last: 0 to limits.maxPageSize (default first 50); "
            "other values are refused, not clamped."
        )
    )
    @query_errors
    async def timeline(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description="Page size, walking to older activities.")] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor: start after this activity.")] = None,
        last: Annotated[int | None, strawberry.argument(description="Page size, walking to newer activities.")] = None,
        before: Annotated[str | None, strawberry.argument(description="Cursor: end before this activity.")] = None,
        filter: Annotated[TimelineFilter | None, strawberry.argument(description="Which activities.")] = None,
    ) -> ActivityConnection:
        # A new argument must be declared on the compiled field too (app/api/execution/compiled/fields.py), or
        # documents that pass it are answered here only.
        page = await paging.timeline(
            info.context,
            int(self.row_id),
            first=first,
            after=after,
            last=last,
            before=before,
            filter=filter,
            watermark=paging.wants(info, "syncWatermark"),
            with_types=paging.selects(info, "activityType"),
        )
        return paging.activity_connection(page)

    @strawberry.field(
        description=(
            "The saved smart lists this person is in now, ordered by id (lists whose definition no longer fits "
            "the types are left out). Not answered by the compiled plans: documents selecting it take the normal path."
        )
    )
    @query_errors
    async def smart_lists(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor: start after this list.")] = None,
    ) -> Annotated[SmartListConnection, strawberry.lazy("app.api.smart_lists.types")]:
        from app.api.smart_lists.types import SmartList, SmartListConnection

        size = checked_first(first, info.context.settings.limits.max_page_size)
        lists, more = await smart_lists.lists_of(info.context.resources, int(self.row_id), first=size, after=after)
        cursor = encode_id_cursor
        return SmartListConnection.page(
            lists, lambda s: cursor(s.id), SmartList.from_domain, has_next=more, has_previous=after is not None
        )


@connection("A page of persons ordered by id.", edges="The persons on this page.",
            edge="A person and the cursor that points at them.", node="The person.")
class PersonConnection(Connection[Person]):
    pass
