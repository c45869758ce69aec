"""One wrapper for resolver error handling: a raised DomainError becomes the payload's errors or a query error."""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import ParamSpec, TypeVar

from app.api.activities.errors import QueryInputError
from app.api.errors import user_errors
from app.domain.errors import DomainError, Issue

P = ParamSpec("P")
T = TypeVar("T")


def payload(
    payload_type: Callable[..., T], *, prefix: str | None = None
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """For a mutation returning `payload_type`: a DomainError it raises is returned as `payload_type(errors=...)`.

    As Saleor's BaseMutation does, the resolver only raises for an expected failure; the other fields of the
    payload keep their defaults (null, 0, []), so every payload type gives each of them one. `prefix` nests the
    errors' field paths under an argument (`input.apiName`) for services that name fields of the input itself.
    Put it under `@strawberry.mutation`; the resolver's signature is kept (functools.wraps).
    """

    def wrap(resolver: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(resolver)
        async def resolve(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return await resolver(*args, **kwargs)
            except DomainError as error:
                return payload_type(errors=user_errors(_prefixed(error.issues, prefix)))

        return resolve

    return wrap


def query_errors(resolver: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """For a query field: a DomainError it raises (bad argument, cursor, filter) becomes a typed QueryInputError.

    Queries have no payload, so the refusal is a top-level error with `code`, `field` and every issue in its
    extensions (app/api/activities/errors.py). Put it under `@strawberry.field`.
    """

    @functools.wraps(resolver)
    async def resolve(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await resolver(*args, **kwargs)
        except DomainError as error:
            raise QueryInputError(error) from None

    return resolve


def subscription_errors(
    resolver: Callable[P, AsyncGenerator[T, None]],
) -> Callable[P, AsyncGenerator[T, None]]:
    """For a subscription: a DomainError its stream raises (unknown id, bad filter) ends the stream with a typed
    QueryInputError, as a query's refusal, instead of an unexpected error logged with a traceback.

    Put it under `@strawberry.subscription`.
    """

    @functools.wraps(resolver)
    async def resolve(*args: P.args, **kwargs: P.kwargs) -> AsyncGenerator[T, None]:
        try:
            async with aclosing(resolver(*args, **kwargs)) as stream:
                async for item in stream:
                    yield item
        except DomainError as error:
            raise QueryInputError(error) from None

    return resolve


def _prefixed(issues: list[Issue], prefix: str | None) -> list[Issue]:
    if prefix is None:
        return issues
    return [Issue(i.code, f"{prefix}.{i.field}" if i.field else prefix, i.message) for i in issues]

