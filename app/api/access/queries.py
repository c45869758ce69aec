"""Access queries: `viewer` (any key), `apiKeys` and `auditLog` (keys:admin)."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry

from app.api.access.types import ApiKey, ApiKeyConnection, AuditLogConnection, AuditLogEntry, Viewer
from app.api.activities.errors import FIRST_DESCRIPTION, checked_first
from app.api.context import Info
from app.api.global_ids import parsed_id
from app.api.payloads import query_errors
from app.api.permissions import AccessDenied, require
from app.domain import api_keys as key_domain
from app.domain.access import Scope
from app.domain.cursors import decode_id_cursor, encode_id_cursor
from app.domain.errors import ErrorCode
from app.services import api_keys, audit


async def api_key_node(info: Info, id: str) -> ApiKey | None:
    """node(id:) for an ApiKey id; the same scope as apiKeys."""
    require(info, Scope.KEYS_ADMIN)
    key_id = parsed_id(id, "ApiKey", uuid.UUID)
    key = await api_keys.get_key(info.context.resources, key_id) if key_id is not None else None
    return ApiKey.from_domain(key) if key else None


@strawberry.type
class AccessQueries:
    @strawberry.field(description="The caller: its key id, name and scopes. Needs any valid key.")
    def viewer(self, info: Info) -> Viewer:
        principal = info.context.principal
        if principal is None:
            raise AccessDenied(ErrorCode.UNAUTHENTICATED, "Authentication required.")
        return Viewer.from_principal(principal)

    @strawberry.field(description="API keys, newest first. Needs keys:admin.")
    @query_errors
    async def api_keys(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor from a previous page.")] = None,
        include_revoked: Annotated[bool, strawberry.argument(description="Also list revoked keys.")] = True,
    ) -> ApiKeyConnection:
        require(info, Scope.KEYS_ADMIN)
        size = checked_first(first, info.context.settings.limits.max_page_size)
        position = key_domain.decode_cursor(after) if after is not None else None
        keys = await api_keys.list_keys(info.context.resources, size + 1, position, include_revoked)
        return ApiKeyConnection.page(
            keys[:size], lambda k: key_domain.encode_cursor(k.created_at, k.id), ApiKey.from_domain,
            has_next=len(keys) > size, has_previous=after is not None,
        )

    @strawberry.field(
        description="Admin actions (type changes, key changes, person erasure), newest first. Needs keys:admin."
    )
    @query_errors
    async def audit_log(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor from a previous page.")] = None,
        action: Annotated[
            str | None,
            strawberry.argument(
                description="Only this action (`apiKey.revoke`), or all under a prefix ending in `.` (`apiKey.`)."
            ),
        ] = None,
    ) -> AuditLogConnection:
        require(info, Scope.KEYS_ADMIN)
        size = checked_first(first, info.context.settings.limits.max_page_size)
        before_id = decode_id_cursor(after) if after is not None else None
        entries = await audit.list_entries(info.context.resources, size + 1, before_id, action)
        return AuditLogConnection.page(
            entries[:size], lambda e: encode_id_cursor(e.id), AuditLogEntry.from_domain,
            has_next=len(entries) > size, has_previous=after is not None,
        )
