"""GraphQL hardening: depth, token, alias and cost limits, introspection switch, error masking (no resolve hooks).

Every check here runs once per document (parse or validation time); none wraps field resolution, so big
result lists pay nothing for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from graphql import GraphQLError, ValidationRule
from starlette.requests import Request
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    IgnoreContext,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from app.api.execution.internals import is_limit_error, limiter_rules
from app.api.execution.wiring import cache_extensions
from app.api.query_cost import cost_key, cost_rule, expanded_size
from app.api.text_guard import StorableArguments
from app.domain.errors import ErrorCode
from app.settings import Limits, Settings


class QueryCostLimiter(SchemaExtension):
    """Adds the cost rule to validation. The rule needs the variables, but only the integer ones (page sizes),
    so `rules` (memoised) hands out one rule class per (operation, integer variables): the validation cache hits."""

    def __init__(self, limits: Limits, rules: Callable[..., type[ValidationRule]] | None = None) -> None:
        self.limits = limits
        self.rules = rules

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            if expanded_size(document) > self.limits.max_query_cost:
                # Set before validation runs, so Strawberry skips the (expansion-walking) validators entirely.
                context.pre_execution_errors = [
                    GraphQLError(
                        f"Query is too large once its fragments are expanded (more than {self.limits.max_query_cost} "
                        "fields).",
                        extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value, "maxCost": self.limits.max_query_cost},
                    )
                ]
        yield

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        variables = context.variables if isinstance(context.variables, Mapping) else {}
        if self.rules is None:
            rule = cost_rule(variables, context.operation_name, self.limits)
        else:
            rule = self.rules(context.operation_name, cost_key(variables))
        context.validation_rules = (*context.validation_rules, rule)
        yield


# Codes of request errors, as Apollo Server names them, so clients can tell a typo from a bad variable.
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
BAD_REQUEST = "BAD_REQUEST"
STREAMING_ACCEPT = ("multipart/mixed", "text/event-stream")


class ErrorCodes(SchemaExtension):
    """Every request error gets an `extensions.code`: QUERY_TOO_COMPLEX for the built-in limiters (which give only
    text), else GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED by phase, and BAD_USER_INPUT for variables that do
    not coerce (graphql-core reports those at execution, without a path). A subscription sent as a plain HTTP
    request is refused here with BAD_REQUEST: it would otherwise fail inside its resolver as "Unexpected error."."""

    def _tag(self, default: str) -> None:
        for error in self.execution_context.pre_execution_errors or ():
            if not (error.extensions or {}).get("code"):
                code = ErrorCode.QUERY_TOO_COMPLEX.value if is_limit_error(error) else default
                error.extensions = {**(error.extensions or {}), "code": code}

    def on_parse(self) -> Iterator[None]:
        yield
        self._tag(PARSE_FAILED)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        # Before validation: errors present when it starts end the request (Strawberry checks inside the phase).
        if not context.pre_execution_errors and _plain_http_subscription(context):
            context.pre_execution_errors = [GraphQLError(
                "Subscriptions are served over WebSocket (graphql-transport-ws) or a streaming HTTP response "
                "(Accept: multipart/mixed or text/event-stream), not a plain request.",
                extensions={"code": BAD_REQUEST},
            )]
        yield
        self._tag(VALIDATION_FAILED)

    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or ():
            if error.path is None and not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": BAD_USER_INPUT}


def _plain_http_subscription(context: Any) -> bool:
    if context.operation_type.value != "subscription":  # Strawberry's enum lives in a non-public module
        return False
    request = getattr(context.context, "request", None)
    if not isinstance(request, Request):  # a WebSocket
        return False
    accept = request.headers.get("accept", "")
    return not any(kind in accept for kind in STREAMING_ACCEPT)


def _ignore_introspection(context: IgnoreContext) -> bool:
    return context.field_name.startswith("__")


def should_mask(error: GraphQLError) -> bool:
    """Mask anything caused by an unexpected exception; errors we raise on purpose are GraphQLErrors."""
    original = getattr(error, "original_error", None)
    return original is not None and not isinstance(original, GraphQLError)


Factory = Callable[[], SchemaExtension]


def security_extensions(settings: Settings) -> list[Factory]:
    """The extension factories for `build_schema`; all limits come from `settings.limits`."""
    limits = settings.limits
    # Rule classes are built once, not per request, so validation results can be cached (validation_cache.py).
    static_rules = [
        *limiter_rules(QueryDepthLimiter(max_depth=limits.max_query_depth, should_ignore=_ignore_introspection)),
        *limiter_rules(MaxAliasesLimiter(max_alias_count=limits.max_query_aliases)),
    ]

    @lru_cache(maxsize=1024)
    def cost_rules(operation_name: str | None, ints: tuple[tuple[str, int], ...]) -> type[ValidationRule]:
        return cost_rule(dict(ints), operation_name, limits)

    parse_cache, validation_cache = cache_extensions(settings.execution)
    factories: list[Factory] = [
        lambda: MaxTokensLimiter(max_token_count=limits.max_query_tokens),
        *parse_cache,  # after MaxTokensLimiter: keyed by the parse options it sets
        lambda: AddValidationRules(static_rules),
        lambda: QueryCostLimiter(limits, cost_rules),
        *validation_cache,  # after QueryCostLimiter: its fragment gate must run first
        ErrorCodes,
    ]
    if not settings.introspection_enabled:
        factories.append(DisableIntrospection)
    factories.append(StorableArguments)  # after the validation cache (see StorableArguments)
    factories.append(lambda: MaskErrors(should_mask_error=should_mask))
    return factories
