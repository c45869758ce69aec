"""Saved smart-list changes (lists:admin): create, update, delete; each audited, each with typed errors."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.api.context import Info
from app.api.global_ids import raw_id, to_global_id
from app.api.payloads import payload
from app.api.permissions import require
from app.api.smart_lists.inputs import CreateSmartListInput, UpdateSmartListInput
from app.api.smart_lists.types import DeleteSmartListPayload, SmartList, SmartListPayload
from app.domain.access import Scope
from app.domain.activities import parse_id
from app.domain.errors import DomainError, ErrorCode
from app.services import smart_lists

ListId = Annotated[strawberry.ID, strawberry.argument(description="Id of the smart list.")]


def _id(raw: str) -> int:
    try:
        return parse_id(raw_id(raw, "SmartList"))
    except ValueError:
        raise DomainError.of(ErrorCode.NOT_FOUND, "No such smart list.", "id") from None


@strawberry.type
class SmartListMutations:
    @strawberry.mutation(
        description="Save a smart list (checked against the live types; nothing is saved on errors). Needs lists:admin."
    )
    @payload(SmartListPayload)
    async def create_smart_list(
        self, info: Info, input: Annotated[CreateSmartListInput, strawberry.argument(description="The list.")]
    ) -> SmartListPayload:
        actor = require(info, Scope.LISTS_ADMIN)
        saved = await smart_lists.create(
            info.context.resources, actor, input.name, input.description, input.definition.to_domain()
        )
        return SmartListPayload(smart_list=SmartList.from_domain(saved), errors=[])

    @strawberry.mutation(description="Change a saved smart list's name, description or definition. Needs lists:admin.")
    @payload(SmartListPayload)
    async def update_smart_list(
        self,
        info: Info,
        id: ListId,
        input: Annotated[UpdateSmartListInput, strawberry.argument(description="The changes.")],
    ) -> SmartListPayload:
        actor = require(info, Scope.LISTS_ADMIN)
        change = smart_lists.ListChange(
            name=input.name,
            description=input.description,
            definition=input.definition.to_domain() if input.definition is not None else None,
        )
        saved = await smart_lists.update(info.context.resources, actor, _id(id), change)
        return SmartListPayload(smart_list=SmartList.from_domain(saved), errors=[])

    @strawberry.mutation(description="Delete a saved smart list. Needs lists:admin.")
    @payload(DeleteSmartListPayload)
    async def delete_smart_list(self, info: Info, id: ListId) -> DeleteSmartListPayload:
        actor = require(info, Scope.LISTS_ADMIN)
        deleted = await smart_lists.delete(info.context.resources, actor, _id(id))
        return DeleteSmartListPayload(deleted_smart_list_id=to_global_id("SmartList", deleted.id), errors=[])
