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
    LISTS_ADMIN = "lists:admin"
    TRIGGERS_ADMIN = "triggers:admin"


ALL_SCOPES = frozenset(Scope)
ADMIN_SCOPES = (Scope.TYPES_ADMIN, Scope.KEYS_ADMIN)
"""Admins: keys trusted with audited, destructive actions; they may act on other keys' jobs and exports."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request: an API key, or the local developer when auth is off."""

    id: str
    name: str
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes

    @property
    def is_admin(self) -> bool:
        return any(s in self.scopes for s in ADMIN_SCOPES)

    @classmethod
    def local_admin(cls) -> Principal:
        return cls(id="local", name="local developer", scopes=ALL_SCOPES)
