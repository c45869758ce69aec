"""GraphQL types for API keys, the viewer and audit log entries, built from domain objects."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from app.api.connections import KEYSET_CURSOR, Connection, connection
from app.api.enums import described_enum
from app.api.errors import UserError
from app.api.global_ids import ROW_ID, Node, to_global_id
from app.domain.access import Principal, Scope
from app.domain.api_keys import ApiKey as DomainApiKey
from app.domain.audit import AuditEntry

ApiKeyScopeEnum = described_enum(
    Scope,
    name="ApiKeyScope",
    description="What a key may do; a key holds one or more scopes.",
    values={
        "READ": "All queries and subscriptions.",
        "ACTIVITIES_WRITE": "Record and import activities, manage persons and ingestion jobs.",
        "TYPES_ADMIN": "Define, approve and delete activity types; erase persons.",
        "KEYS_ADMIN": "Manage API keys and read the audit log.",
        "LISTS_ADMIN": "Create, change and delete saved smart lists.",
        "TRIGGERS_ADMIN": "Define, pause, replay and read triggers (webhooks) and their deliveries.",
    },
)


@strawberry.type(description="An API key. Its secret is shown once, by `createApiKey`, and never stored.")
class ApiKey(Node):
    row_id: strawberry.ID = strawberry.field(description=ROW_ID + " The CLI's `keys revoke` takes this id.")
    name: str = strawberry.field(description="Label chosen at creation.")
    prefix: str = strawberry.field(description="First characters of the key, to recognise it (`ak_<prefix>_…`).")
    scopes: list[ApiKeyScopeEnum] = strawberry.field(description="What the key may do.")  # type: ignore[valid-type]
    created_at: datetime = strawberry.field(description="When the key was created.")
    last_used_at: datetime | None = strawberry.field(description="Last successful use, to the minute.")
    revoked_at: datetime | None = strawberry.field(description="When the key was revoked; null while active.")
    active: bool = strawberry.field(description="True until the key is revoked.")

    @classmethod
    def from_domain(cls, key: DomainApiKey) -> ApiKey:
        return cls(
            id=to_global_id("ApiKey", key.id),
            row_id=strawberry.ID(str(key.id)),
            name=key.name,
            prefix=key.prefix,
            scopes=sorted(key.scopes, key=list(Scope).index),
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
            active=key.active,
        )


@connection("A page of API keys, newest first.", edges="The keys on this page.",
            edge="An API key and the opaque cursor that points at it.", node="The key.", cursor=KEYSET_CURSOR)
class ApiKeyConnection(Connection[ApiKey]):
    pass


@strawberry.type(description="The caller of this request, as identified by its API key.")
class Viewer:
    id: strawberry.ID = strawberry.field(description="Key id (`local` for the local developer when auth is off).")
    name: str = strawberry.field(description="Key name.")
    scopes: list[ApiKeyScopeEnum] = strawberry.field(description="What the caller may do.")  # type: ignore[valid-type]

    @classmethod
    def from_principal(cls, principal: Principal) -> Viewer:
        scopes = sorted(principal.scopes, key=list(Scope).index)
        return cls(id=strawberry.ID(principal.id), name=principal.name, scopes=scopes)


@strawberry.type(description="One admin action: who did what to which object, and when.")
class AuditLogEntry:
    id: strawberry.ID = strawberry.field(description="Identifier; entries are numbered in the order they happened.")
    at: datetime = strawberry.field(description="When the action was committed.")
    actor: str = strawberry.field(description="Who acted: `<key name> (<key id>)`.")
    action: str = strawberry.field(description="What happened, e.g. `apiKey.create` or `activityType.approve`.")
    target: str | None = strawberry.field(description="The object acted on (key id, activity type, person id).")
    details: JSON = strawberry.field(description="Action-specific details (never secrets).")

    @classmethod
    def from_domain(cls, entry: AuditEntry) -> AuditLogEntry:
        return cls(
            id=strawberry.ID(str(entry.id)),
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            details=cast(JSON, entry.details),
        )


@connection("A page of the audit log, newest first.", edges="The entries on this page.",
            edge="An audit log entry and the opaque cursor that points at it.", node="The entry.", cursor=KEYSET_CURSOR)
class AuditLogConnection(Connection[AuditLogEntry]):
    pass


@strawberry.input(description="A new API key.")
class CreateApiKeyInput:
    name: str = strawberry.field(description="Label, 1..100 characters (e.g. who or what uses it).")
    scopes: list[ApiKeyScopeEnum] = strawberry.field(description="What the key may do; at least one.")  # type: ignore[valid-type]


@strawberry.type(description="Result of `createApiKey`.")
class CreateApiKeyPayload:
    api_key: ApiKey | None = strawberry.field(default=None, description="The new key; null on error.")
    secret: str | None = strawberry.field(
        default=None,
        description="The bearer token (`Authorization: Bearer <secret>`). Shown only in this response: store it now."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description="Why the key was not created.")


@strawberry.type(description="Result of `revokeApiKey`.")
class RevokeApiKeyPayload:
    api_key: ApiKey | None = strawberry.field(default=None, description="The revoked key; null on error.")
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why the key could not be revoked."
    )
