"""Plans by (query text, operation name), made from documents the normal path has validated and run once."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from graphql import DocumentNode
from strawberry.extensions import SchemaExtension

from app.api.execution.compiled.plan import Plan, compile_plan
from app.api.execution.internals import graphql_schema, provided_operation_name
from app.api.execution.parse_cache import MAX_CACHED_QUERY
from app.settings import Limits

Key = tuple[str, str | None]


class PlanCache:
    """Least-recently-used plans (None for documents that cannot be compiled), one per app, with counters."""

    def __init__(self, limits: Limits, maxsize: int = 256) -> None:
        self.limits = limits
        self.maxsize = maxsize
        self._plans: OrderedDict[Key, Plan | None] = OrderedDict()
        self.compiled = 0
        """Documents given a plan."""
        self.answered = 0
        """Requests answered by a plan."""
        self.fell_back = 0
        """Requests a plan handed to the normal path (errors, cost refusals, unusual values)."""

    def __len__(self) -> int:
        return len(self._plans)

    def get(self, query: str, operation_name: str | None) -> Plan | None:
        key = (query, operation_name)
        plan = self._plans.get(key)
        if plan is not None:
            self._plans.move_to_end(key)
        return plan

    def offer(
        self, schema: Any, query: object, provided: object, operation_name: object, document: DocumentNode
    ) -> None:
        """Called with each document the normal path validated and is about to execute.

        `provided` is the request's operationName (the key requests look plans up by); `operation_name` is the
        one Strawberry executes: the provided one, or else the name of the document's first operation.
        """
        if not isinstance(query, str) or not 0 < len(query) <= MAX_CACHED_QUERY:
            return
        if not isinstance(provided, str | None) or not isinstance(operation_name, str | None):
            return
        key = (query, provided)
        if key in self._plans:
            return
        plan = compile_plan(schema, document, operation_name)
        self.compiled += plan is not None
        self._plans[key] = plan
        while len(self._plans) > self.maxsize:
            self._plans.popitem(last=False)

    def extension(self) -> Callable[[], SchemaExtension]:
        """The schema extension that offers every executed document (add it to `build_schema`)."""
        cache = self

        class OfferPlans(SchemaExtension):
            def on_execute(self) -> Iterator[None]:
                context = self.execution_context
                if context.graphql_document is not None:
                    provided = provided_operation_name(context)
                    schema, document = graphql_schema(context.schema), context.graphql_document
                    cache.offer(schema, context.query, provided, context.operation_name, document)
                yield

        return OfferPlans
