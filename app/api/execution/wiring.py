"""Which fast paths run: the executor class and the cache extensions for the switches in settings.execution."""

from __future__ import annotations

from collections.abc import Callable

from strawberry.extensions import SchemaExtension

from app.api.execution.fast_executor import FastExecutionContext
from app.api.execution.internals import BaseExecutor
from app.api.execution.parse_cache import CachedParse, DocumentCache
from app.api.execution.validation_cache import CachedValidation
from app.settings import Execution

Factory = Callable[[], SchemaExtension]


def executor_class(execution: Execution) -> type[BaseExecutor]:
    """The fast executor, or Strawberry's own execution context when switched off."""
    return FastExecutionContext if execution.fast_executor else BaseExecutor


def cache_extensions(execution: Execution) -> tuple[list[Factory], list[Factory]]:
    """The parse cache's and the validation cache's extension factories (empty lists when switched off).

    Where they go in the extension list matters (hardening.security_extensions places them).
    """
    parse: list[Factory] = []
    if execution.parse_cache:
        documents = DocumentCache()
        parse.append(lambda: CachedParse(documents))
    validation: list[Factory] = [CachedValidation] if execution.validation_cache else []
    return parse, validation
