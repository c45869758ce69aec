"""Refuse a request whose arguments hold text PostgreSQL cannot store (NUL) before it runs: INVALID_VALUE."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    ListValueNode,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
    VariableDefinitionNode,
    Visitor,
    visit,
)
from strawberry.extensions import SchemaExtension

from app.api.activities.errors import QueryInputError
from app.domain.errors import DomainError
from app.domain.text import storable, unstorable_issue, unstorable_path


class StorableArguments(SchemaExtension):
    """Checks every string in the variables and in the document's argument literals (the domain's rule, see
    app/domain/text.py) once the document is valid: one answer for every field and transport (HTTP, WebSocket),
    instead of the database refusing the value mid-request with "Unexpected error.". Field paths are the
    variable's or the argument's name, then keys and list positions ("input.activities.0.person.email").

    It sets the error on entering validation (Strawberry decides whether to execute before the exits run), after
    the validation cache's entry: a document the cache knows to be invalid keeps its errors; otherwise validation
    is skipped for a refused request."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if not context.pre_execution_errors and context.graphql_document is not None:
            path = unstorable_path(context.variables) if context.variables else None
            if path is None:
                path = literal_path(context.graphql_document)
            if path is not None:  # a new list: the validation cache may hand out the one it holds
                context.pre_execution_errors = [QueryInputError(DomainError([unstorable_issue(path)]))]
        yield


def literal_path(document: DocumentNode) -> str | None:
    """The path of the first argument literal (or variable default) holding text that cannot be stored."""
    finder = _Literals()
    visit(document, finder)
    return finder.found


class _Literals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: str | None = None

    def enter_argument(self, node: ArgumentNode, *_: Any) -> Any:
        self._check(node.value, node.name.value)
        return self.SKIP

    def enter_variable_definition(self, node: VariableDefinitionNode, *_: Any) -> Any:
        if node.default_value is not None:
            self._check(node.default_value, node.variable.name.value)
        return self.SKIP

    def _check(self, node: ValueNode, path: str) -> None:
        if self.found is None:
            self.found = _value_path(node, path)


def _value_path(node: ValueNode, path: str) -> str | None:
    if isinstance(node, StringValueNode):
        return None if storable(node.value) else path
    if isinstance(node, ObjectValueNode):
        for field in node.fields:
            found = _value_path(field.value, f"{path}.{field.name.value}")
            if found is not None:
                return found
    elif isinstance(node, ListValueNode):
        for i, item in enumerate(node.values):
            found = _value_path(item, f"{path}.{i}")
            if found is not None:
                return found
    return None
