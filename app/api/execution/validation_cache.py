"""A validation cache: a repeated (document, rules) pair skips validation, minus overwriting earlier errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache, lru_cache

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from app.api.execution.internals import graphql_schema, validate_document


class CachedValidation(SchemaExtension):
    """Strawberry's ValidationCache, minus overwriting errors an earlier extension set (the fragment gate).

    Validation was ~25% of a timeline request's CPU (see BENCHMARKS.md). Documents compare structurally and the
    rule classes are stable (hardening.security_extensions builds them once), so a repeated query skips it. It runs
    Strawberry's own validation step, so a miss validates exactly as Strawberry would.
    """

    def __init__(self, maxsize: int = 512) -> None:
        self.validate = cached_validate_document(maxsize)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None:
            context.pre_execution_errors = self.validate(
                graphql_schema(context.schema), context.graphql_document, context.validation_rules
            )
        yield


@cache
def cached_validate_document(maxsize: int) -> Callable[..., list[GraphQLError]]:
    return lru_cache(maxsize=maxsize)(validate_document)
