"""Typed errors for bad query arguments: a top-level GraphQL error with a code, a field and every issue."""

from __future__ import annotations

from graphql import GraphQLError

from app.domain.errors import DomainError, ErrorCode

DEFAULT_FIRST = 50
FIRST_DESCRIPTION = (
    f"Page size, 0 to limits.maxPageSize (default {DEFAULT_FIRST}); other values are refused, not clamped."
)
_PASS_THROUGH = {ErrorCode.NOT_FOUND, ErrorCode.INVALID_CURSOR, ErrorCode.LIMIT_EXCEEDED, ErrorCode.QUERY_TOO_COMPLEX,
                 ErrorCode.INVALID_VALUE}


class QueryInputError(GraphQLError):
    """Queries have no payload type, so refusals surface as errors with `extensions`:

    `code` (INVALID_FILTER, INVALID_CURSOR, LIMIT_EXCEEDED, QUERY_TOO_COMPLEX, INVALID_VALUE, NOT_FOUND or INVALID),
    `field` (camelCase argument path, e.g. `filter.where.0.op`) and `issues` (every problem as {code, field, message}).
    Never masked.
    """

    def __init__(self, error: DomainError) -> None:
        first = error.issues[0]
        if first.code in _PASS_THROUGH:
            code = first.code
        elif (first.field or "").startswith("filter"):
            code = ErrorCode.INVALID_FILTER
        else:
            code = ErrorCode.INVALID
        super().__init__(
            "; ".join(f"{i.field}: {i.message}" if i.field else i.message for i in error.issues),
            extensions={"code": code.value, "field": first.field, "issues": [i.as_dict() for i in error.issues]},
        )


def checked_first(first: int | None, cap: int, default: int = DEFAULT_FIRST) -> int:
    """A connection's page size: `first`, or the default; outside 0..cap it is a typed refusal, never clamped.

    Every connection field uses this rule (tests/api/test_page_sizes.py walks the schema to hold them to it).
    """
    size = min(default, cap) if first is None else first
    if size < 0 or size > cap:
        code = ErrorCode.OUT_OF_RANGE if size < 0 else ErrorCode.LIMIT_EXCEEDED
        raise DomainError.of(code, f"first must be between 0 and {cap}.", "first")
    return size
