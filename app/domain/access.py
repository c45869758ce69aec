"""Who is calling and what they may do: scopes and the principal resolved from an API key."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    """Permission scopes carried by API keys."""

    READ = "read"
    ACTIVITIES_WRITE = "activities:write"
    TYPES_ADMIN = "types:admin"
    KEYS_ADMIN = "keys:admin"
    TRIGGERS_ADMIN = "triggers:admin"


ALL_SCOPES = frozenset(Scope)


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request: an API key, or the local developer when auth is off."""

    id: str
    name: str
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes

    @classmethod
    def local_admin(cls) -> Principal:
        return cls(id="local", name="local developer", scopes=ALL_SCOPES)
