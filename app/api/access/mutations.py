"""Access mutations: create and revoke API keys (keys:admin); both are audited."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry

from app.api.access.types import ApiKey, ApiKeyScopeEnum, CreateApiKeyInput, CreateApiKeyPayload, RevokeApiKeyPayload
from app.api.context import Info
from app.api.global_ids import raw_id
from app.api.payloads import payload
from app.api.permissions import require
from app.domain.access import Scope
from app.domain.errors import DomainError, ErrorCode
from app.services import api_keys


@strawberry.type
class AccessMutations:
    @strawberry.mutation(description="Create an API key; the secret is in this response only. Needs keys:admin.")
    @payload(CreateApiKeyPayload)
    async def create_api_key(
        self, info: Info, input: Annotated[CreateApiKeyInput, strawberry.argument(description="Name and scopes.")]
    ) -> CreateApiKeyPayload:
        actor = require(info, Scope.KEYS_ADMIN)
        scopes: list[Scope] = list(input.scopes)
        key, secret = await api_keys.create_key(info.context.resources, actor, input.name, [s.value for s in scopes])
        return CreateApiKeyPayload(api_key=ApiKey.from_domain(key), secret=secret)

    @strawberry.mutation(
        description="Revoke an API key (idempotent). It stops working at once on this API process and within "
        "5 seconds on every other. Needs keys:admin."
    )
    @payload(RevokeApiKeyPayload)
    async def revoke_api_key(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The key's id.")]
    ) -> RevokeApiKeyPayload:
        actor = require(info, Scope.KEYS_ADMIN)
        try:
            key_id = uuid.UUID(raw_id(id, "ApiKey"))
        except ValueError:
            raise DomainError.of(ErrorCode.NOT_FOUND, f"No API key with id {str(id)[:64]!r}.", "id") from None
        key = await api_keys.revoke_key(info.context.resources, actor, key_id)
        return RevokeApiKeyPayload(api_key=ApiKey.from_domain(key))


__all__ = ["AccessMutations", "ApiKeyScopeEnum"]
