"""Access mutations: create and revoke API keys (keys:admin); both are audited."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry

from app.api.access.types import ApiKey, ApiKeyScopeEnum, CreateApiKeyInput, CreateApiKeyPayload, RevokeApiKeyPayload
from app.api.context import Info
from app.api.errors import user_errors
from app.api.permissions import require
from app.domain.access import Scope
from app.domain.errors import DomainError, ErrorCode
from app.services import api_keys


@strawberry.type
class AccessMutations:
    @strawberry.mutation(description="Create an API key; the secret is in this response only. Needs keys:admin.")
    async def create_api_key(
        self, info: Info, input: Annotated[CreateApiKeyInput, strawberry.argument(description="Name and scopes.")]
    ) -> CreateApiKeyPayload:
        actor = require(info, Scope.KEYS_ADMIN)
        scopes: list[Scope] = list(input.scopes)
        try:
            key, secret = await api_keys.create_key(
                info.context.resources.db, actor, input.name, [s.value for s in scopes]
            )
        except DomainError as error:
            return CreateApiKeyPayload(api_key=None, secret=None, errors=user_errors(error))
        return CreateApiKeyPayload(api_key=ApiKey.from_domain(key), secret=secret, errors=[])

    @strawberry.mutation(
        description="Revoke an API key (idempotent). It stops working at once on this API process and within "
        "5 seconds on every other. Needs keys:admin."
    )
    async def revoke_api_key(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The key's id.")]
    ) -> RevokeApiKeyPayload:
        actor = require(info, Scope.KEYS_ADMIN)
        try:
            key_id = uuid.UUID(str(id))
        except ValueError:
            error = DomainError.of(ErrorCode.NOT_FOUND, f"No API key with id {str(id)[:64]!r}.", "id")
            return RevokeApiKeyPayload(api_key=None, errors=user_errors(error))
        try:
            key = await api_keys.revoke_key(info.context.resources.db, actor, key_id)
        except DomainError as error:
            return RevokeApiKeyPayload(api_key=None, errors=user_errors(error))
        return RevokeApiKeyPayload(api_key=ApiKey.from_domain(key), errors=[])


__all__ = ["AccessMutations", "ApiKeyScopeEnum"]
