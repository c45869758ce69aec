"""GraphQL Person, its connection and the timeline field."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.api.activities.errors import QueryInputError
from app.api.activities.inputs import TimelineFilter
from app.api.activities.paging import activity_connection, cached_definitions, prefetch_types, wants
from app.api.activities.types import ActivityConnection
from app.api.connections import Connection, connection
from app.api.context import Info
from app.db.activity_queries import ActivityScope
from app.domain.activities import Person as DomainPerson
from app.domain.errors import DomainError
from app.services import timelines


@strawberry.type(description="A person and their complete timeline of standard and custom activities.")
class Person:
    id: strawberry.ID = strawberry.field(description="Internal id.")
    email: str | None = strawberry.field(description="Email address (unique, case-insensitive).")
    external_id: str | None = strawberry.field(description="Your system's id for this person (unique).")
    first_name: str | None = strawberry.field(description="First name.")
    last_name: str | None = strawberry.field(description="Last name.")
    created_at: datetime = strawberry.field(description="When the person was created.")
    updated_at: datetime = strawberry.field(description="When the person was last changed.")

    @classmethod
    def from_domain(cls, p: DomainPerson) -> Person:
        return cls(
            id=strawberry.ID(str(p.id)),
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
    async def timeline(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description="Page size, walking to older activities.")] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor: start after this activity.")] = None,
        last: Annotated[int | None, strawberry.argument(description="Page size, walking to newer activities.")] = None,
        before: Annotated[str | None, strawberry.argument(description="Cursor: end before this activity.")] = None,
        filter: Annotated[TimelineFilter | None, strawberry.argument(description="Which activities.")] = None,
    ) -> ActivityConnection:
        try:
            page = await timelines.read_page(
                info.context.resources,
                ActivityScope(person_id=int(self.id)),
                filter.to_domain() if filter is not None else None,
                timelines.PageArgs(first=first, after=after, last=last, before=before),
                definitions=cached_definitions(info),
                watermark=wants(info, "syncWatermark"),
            )
        except DomainError as error:
            raise QueryInputError(error) from None
        await prefetch_types(info, page)
        return activity_connection(page)


@connection("A page of persons ordered by id.", edges="The persons on this page.",
            edge="A person and the cursor that points at them.", node="The person.")
class PersonConnection(Connection[Person]):
    pass
