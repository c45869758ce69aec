"""Scope checks, made once at each root field (never per list item)."""

from __future__ import annotations

from graphql import GraphQLError

from app.api.context import Info
from app.domain.access import Principal, Scope
from app.domain.errors import ErrorCode


class AccessDenied(GraphQLError):
    """Goes to the top-level `errors` list with a code in `extensions`; never masked."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message, extensions={"code": code.value})


def require(info: Info, scope: Scope) -> Principal:
    """The caller, if they hold `scope`; otherwise an UNAUTHENTICATED or FORBIDDEN error."""
    return require_principal(info.context.principal, scope)


def require_principal(principal: Principal | None, scope: Scope) -> Principal:
    """`require` for code that holds the principal rather than the resolver's info (the compiled plans)."""
    if principal is None:
        raise AccessDenied(ErrorCode.UNAUTHENTICATED, "Authentication required: send 'Authorization: Bearer <key>'.")
    if not principal.allows(scope):
        raise AccessDenied(ErrorCode.FORBIDDEN, f"This API key lacks the '{scope.value}' scope.")
    return principal
