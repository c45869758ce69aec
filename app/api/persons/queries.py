"""Person queries: one person by id, email or external id; a searchable, keyset-paginated list."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.api.activities.errors import FIRST_DESCRIPTION, checked_first
from app.api.context import Info
from app.api.global_ids import parsed_id
from app.api.payloads import query_errors
from app.api.permissions import require
from app.api.persons import reads
from app.api.persons.types import Person, PersonConnection
from app.domain.access import Scope
from app.domain.activities import parse_id
from app.domain.cursors import encode_id_cursor
from app.services import persons


async def person_node(info: Info, id: str) -> Person | None:
    """node(id:) for a Person id: the read behind Query.person."""
    require(info, Scope.READ)
    person_id = parsed_id(id, "Person", parse_id)
    found = await persons.get(info.context.resources, person_id=person_id) if person_id is not None else None
    return Person.from_domain(found) if found is not None else None


@strawberry.type
class PersonQueries:
    @strawberry.field(description="One person, by exactly one of id, email (case-insensitive) or externalId.")
    @query_errors
    async def person(
        self,
        info: Info,
        id: Annotated[strawberry.ID | None, strawberry.argument(description="Internal id.")] = None,
        email: Annotated[str | None, strawberry.argument(description="Email, case-insensitive.")] = None,
        external_id: Annotated[str | None, strawberry.argument(description="External id.")] = None,
    ) -> Person | None:
        # The compiled plans answer this field too (app/api/execution/compiled/fields.py): change the read in
        # persons/reads.py, and declare any new argument there.
        require(info, Scope.READ)
        return await reads.person(info.context.resources, id=id, email=email, external_id=external_id)

    @strawberry.field(description="Persons ordered by id; `search` matches email, externalId or names (substring).")
    @query_errors
    async def persons(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor: start after this person.")] = None,
        search: Annotated[str | None, strawberry.argument(description="Case-insensitive substring.")] = None,
    ) -> PersonConnection:
        require(info, Scope.READ)
        size = checked_first(first, info.context.settings.limits.max_page_size)
        rows, more = await persons.page(info.context.resources, first=size, after=after, search=search)
        return PersonConnection.page(
            rows, lambda p: encode_id_cursor(p.id), Person.from_domain, has_next=more, has_previous=after is not None
        )
