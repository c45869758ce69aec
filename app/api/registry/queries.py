"""Activity-type queries: a keyset-paginated list, one type by apiName, and a dry-run record check."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from app.api.activities.errors import FIRST_DESCRIPTION, checked_first
from app.api.context import Info
from app.api.errors import user_errors
from app.api.global_ids import parsed_id
from app.api.payloads import query_errors
from app.api.permissions import require
from app.api.registry.types import ActivityType, ActivityTypeConnection, ActivityTypeStatusEnum, RecordCheck
from app.domain.access import Scope
from app.domain.activities import parse_id
from app.domain.activity_types import TypeStatus
from app.domain.cursors import decode_id_cursor, encode_id_cursor
from app.domain.validation import ValidatedRecord
from app.services import registry


async def activity_type_node(info: Info, id: str) -> ActivityType | None:
    """node(id:) for an ActivityType id; deleted types too, like activityType(apiName:)."""
    require(info, Scope.READ)
    type_id = parsed_id(id, "ActivityType", parse_id)
    return await info.context.loaders.activity_type_by_id.load(type_id) if type_id is not None else None


@strawberry.type
class RegistryQueries:
    @strawberry.field(
        description="Activity types ordered by creation (standard types first). Deleted types only with status."
    )
    @query_errors
    async def activity_types(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor: start after this type.")] = None,
        status: Annotated[
            ActivityTypeStatusEnum | None,  # type: ignore[valid-type]
            strawberry.argument(description="Only types with this status (DELETED lists deleted ones)."),
        ] = None,
        include_system: Annotated[
            bool | None, strawberry.argument(description="Include the standard (system) types; null means true.")
        ] = True,
    ) -> ActivityTypeConnection:
        require(info, Scope.READ)
        size = checked_first(first, info.context.settings.limits.max_page_size)
        after_id = decode_id_cursor(after) if after is not None else None
        found = await registry.list_types(
            info.context.resources,
            after_id=after_id,
            limit=size + 1,
            status=TypeStatus(status) if status is not None else None,
            include_system=include_system is not False,  # nullable in the schema: null means the default
        )
        return ActivityTypeConnection.page(
            found[:size], lambda t: encode_id_cursor(t.id), ActivityType.from_domain,
            has_next=len(found) > size, has_previous=after is not None,
        )

    @strawberry.field(description="One activity type by apiName (case-insensitive), deleted ones included.")
    async def activity_type(
        self, info: Info, api_name: Annotated[str, strawberry.argument(description="The type's apiName.")]
    ) -> ActivityType | None:
        require(info, Scope.READ)
        found = await registry.get_type(info.context.resources, api_name)
        return ActivityType.from_domain(found) if found is not None else None

    @strawberry.field(
        description=(
            "Validate one record against a type's live version (or its draft) without storing it: see how "
            "values would be normalised, or try a draft before approving it."
        )
    )
    @query_errors
    async def check_activity_record(
        self,
        info: Info,
        api_name: Annotated[str, strawberry.argument(description="The type's apiName.")],
        primary_value: Annotated[JSON | None, strawberry.argument(description="The primary value.")] = None,
        fields: Annotated[JSON | None, strawberry.argument(description="Field values by apiName.")] = None,
        use_draft: Annotated[bool, strawberry.argument(description="Check against the pending draft.")] = False,
        from_text: Annotated[
            bool, strawberry.argument(description="Treat values as CSV cells (\"42\" -> 42, \"\" -> missing).")
        ] = False,
    ) -> RecordCheck:
        require(info, Scope.READ)
        version, result = await registry.check_record(
            info.context.resources, api_name, primary_value, fields, use_draft=use_draft, from_text=from_text
        )
        if isinstance(result, ValidatedRecord):
            fields_json = cast(JSON, result.fields)
            return RecordCheck(
                valid=True, version=version, primary_value=result.primary_value, fields=fields_json, errors=[]
            )
        return RecordCheck(valid=False, version=version, primary_value=None, fields=None, errors=user_errors(result))
