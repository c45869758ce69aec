"""The schema: Query, Mutation and Subscription composed from each feature's mixins."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from app.api.access.mutations import AccessMutations
from app.api.access.queries import AccessQueries
from app.api.activities.queries import ActivityQueries
from app.api.execution import input_builders
from app.api.execution.internals import graphql_schema, specified_datetime
from app.api.execution.wiring import executor_class
from app.api.exports.resolvers import ExportMutations, ExportQueries, ExportSubscriptions
from app.api.ingestion.resolvers import IngestionMutations, IngestionQueries, IngestionSubscriptions
from app.api.nodes import NodeQueries
from app.api.persons.mutations import PersonMutations
from app.api.persons.queries import PersonQueries
from app.api.registry.mutations import RegistryMutations
from app.api.registry.queries import RegistryQueries
from app.api.smart_lists.mutations import SmartListMutations
from app.api.smart_lists.queries import SmartListQueries
from app.api.system import SystemQueries
from app.api.triggers.resolvers import TriggerMutations, TriggerQueries
from app.settings import Execution

QUERY_MIXINS: tuple[type, ...] = (
    SystemQueries, AccessQueries, PersonQueries, ActivityQueries, RegistryQueries, IngestionQueries, ExportQueries,
    SmartListQueries, TriggerQueries, NodeQueries,
)
MUTATION_MIXINS: tuple[type, ...] = (
    AccessMutations, PersonMutations, RegistryMutations, IngestionMutations, ExportMutations, SmartListMutations,
    TriggerMutations,
)
SUBSCRIPTION_MIXINS: tuple[type, ...] = (IngestionSubscriptions, ExportSubscriptions)

DATETIME = specified_datetime(
    "An instant as an RFC 3339 date-time with an offset, e.g. `2026-11-02T10:00:00Z` (outputs: `+00:00`).",
    "https://datatracker.ietf.org/doc/html/rfc3339",
)

logger = logging.getLogger("strawberry.execution")


class Schema(strawberry.Schema):
    """Logs bugs at ERROR with a traceback; expected errors (bad queries, access, limits) at INFO, briefly."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        for error in errors:
            original = error.original_error
            if original is None or isinstance(original, GraphQLError):
                code = (error.extensions or {}).get("code", "GRAPHQL_ERROR")
                logger.info("request refused (%s): %s", code, error.message)
            else:
                logger.error("unexpected error in %s", error.path, exc_info=original)


def _merge(name: str, description: str, mixins: Sequence[type]) -> type | None:
    if not mixins:
        return None
    return strawberry.type(type(name, tuple(mixins), {}), name=name, description=description)


def build_schema(
    extensions: Sequence[type[SchemaExtension] | Callable[[], SchemaExtension]] = (),
    execution: Execution | None = None,
) -> strawberry.Schema:
    """Build the schema; the SDL never depends on `extensions` (limits, masking) or `execution` (the fast executor's
    switch, default on), only behaviour does."""
    query = _merge("Query", "Read activity types, persons, timelines and ingestion jobs.", QUERY_MIXINS)
    mutation = _merge("Mutation", "Define activity types, manage persons and ingest activities.", MUTATION_MIXINS)
    subscription = _merge("Subscription", "Live job progress and live timelines.", SUBSCRIPTION_MIXINS)
    kwargs: dict[str, Any] = {}
    if mutation is not None:
        kwargs["mutation"] = mutation
    if subscription is not None:
        kwargs["subscription"] = subscription
    execution = execution or Execution()
    schema = Schema(
        query=query,  # type: ignore[arg-type]
        config=StrawberryConfig(disable_field_suggestions=False),
        scalar_overrides={datetime: DATETIME},
        extensions=list(extensions),
        execution_context_class=executor_class(execution),
        **kwargs,
    )
    if execution.input_builders:
        input_builders.enable(schema, graphql_schema(schema))
    return schema


def schema_sdl() -> str:
    """The SDL written to schema.graphql by `activities export-schema`."""
    return build_schema().as_str() + "\n"
