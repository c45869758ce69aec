"""GraphQL smart lists: saved lists and previews with an exact count and keyset member pages; payloads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app.api.activities.errors import FIRST_DESCRIPTION, checked_first
from app.api.connections import KEYSET_CURSOR, Connection, connection
from app.api.context import Info
from app.api.errors import UserError
from app.api.global_ids import ROW_ID, Node, to_global_id
from app.api.payloads import query_errors
from app.api.persons.types import Person, PersonConnection
from app.domain.cursors import encode_id_cursor
from app.domain.smart_list_resolve import ResolvedSmartList
from app.domain.smart_lists import SavedSmartList, SmartListDefinition
from app.services import smart_lists

MEMBERS = "Persons in the list now, by ascending id; keyset cursors, so nobody appears on two pages."
COUNT = "The exact number of persons in the list now."


async def _count(info: Info, lst: ResolvedSmartList) -> int:
    return await smart_lists.count(info.context.resources, lst)


async def _members(info: Info, lst: ResolvedSmartList, first: int | None, after: str | None) -> PersonConnection:
    size = checked_first(first, info.context.settings.limits.max_page_size)
    persons, more = await smart_lists.members(info.context.resources, lst, first=size, after=after)
    return PersonConnection.page(
        persons, lambda p: encode_id_cursor(p.id), Person.from_domain, has_next=more, has_previous=after is not None
    )


First = Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)]
After = Annotated[str | None, strawberry.argument(description="Cursor: start after this person.")]


@strawberry.type(description="Who a definition selects now, without saving it.")
class SmartListPreview:
    resolved: strawberry.Private[ResolvedSmartList]

    @strawberry.field(description=COUNT)
    @query_errors
    async def count(self, info: Info) -> int:
        return await _count(info, self.resolved)

    @strawberry.field(description=MEMBERS)
    @query_errors
    async def members(self, info: Info, first: First = None, after: After = None) -> PersonConnection:
        return await _members(info, self.resolved, first, after)


@strawberry.type(description="A saved smart list: a named definition whose members are computed when asked.")
class SmartList(Node):
    row_id: strawberry.ID = strawberry.field(description=ROW_ID)
    name: str = strawberry.field(description="Unique name (case-insensitive).")
    description: str | None = strawberry.field(description="What the list is for.")
    definition: JSON = strawberry.field(
        description="The definition as saved, shaped as SmartListInput (it can be sent back as one)."
    )
    created_at: datetime = strawberry.field(description="When the list was created.")
    updated_at: datetime = strawberry.field(description="When the list was last changed.")
    saved: strawberry.Private[SmartListDefinition]

    @classmethod
    def from_domain(cls, s: SavedSmartList) -> SmartList:
        return cls(
            id=to_global_id("SmartList", s.id),
            row_id=strawberry.ID(str(s.id)),
            name=s.name,
            description=s.description,
            definition=s.definition.to_json(),  # type: ignore[arg-type]
            created_at=s.created_at,
            updated_at=s.updated_at,
            saved=s.definition,
        )

    async def _resolved(self, info: Info) -> ResolvedSmartList:
        # Checked against the types as they are now: a field the definition names may have been removed since.
        return await smart_lists.resolve(info.context.resources, self.saved)

    @strawberry.field(description=COUNT + " A definition that no longer fits the types is a typed error.")
    @query_errors
    async def count(self, info: Info) -> int:
        return await _count(info, await self._resolved(info))

    @strawberry.field(description=MEMBERS)
    @query_errors
    async def members(self, info: Info, first: First = None, after: After = None) -> PersonConnection:
        return await _members(info, await self._resolved(info), first, after)


@connection("A page of saved smart lists ordered by id.", edges="The lists on this page.",
            edge="A smart list and the cursor that points at it.", node="The smart list.", cursor=KEYSET_CURSOR)
class SmartListConnection(Connection[SmartList]):
    pass


@strawberry.type(description="Result of createSmartList and updateSmartList.")
class SmartListPayload:
    smart_list: SmartList | None = strawberry.field(default=None, description="The list as saved; null on errors.")
    errors: list[UserError] = strawberry.field(default_factory=list, description="Why nothing was saved.")


@strawberry.type(description="Result of deleteSmartList.")
class DeleteSmartListPayload:
    deleted_smart_list_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of the deleted list."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing was deleted (e.g. NOT_FOUND)."
    )
