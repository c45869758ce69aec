"""Query cost: 1 per field, a connection's selection times its page size (nodes: times its ids), estimated once
per document."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

from app.domain.errors import ErrorCode
from app.settings import Limits

PAGE_ARGUMENTS = ("first", "last")
IDS_ARGUMENT = "ids"  # nodes(ids:): one selection per id
STEP_BUDGET_FACTOR = 4
"""The estimator visits at most max_query_cost * this many nodes, so fragment bombs cannot stall it."""


class ListLength(int):
    """A list variable's length in place of the list: what the cost needs, and small in a cached rule's key."""


def cost_key(variables: Mapping[str, Any]) -> tuple[tuple[str, int], ...]:
    """The variables the cost reads, hashable: integers (first/last) and list lengths (nodes(ids:))."""
    return tuple(sorted(
        (k, ListLength(len(v)) if type(v) is list else v) for k, v in variables.items() if type(v) in (int, list)
    ))


class TooComplex(Exception):
    """Internal: the estimate passed the limit (or the visit budget); stop walking."""


@dataclass
class _Walk:
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    defaults: Mapping[str, Any]
    default_page: int
    limit: int
    steps: int = 0
    visiting: set[str] = field(default_factory=set)


def _page_size(node: FieldNode, definition: GraphQLField, walk: _Walk) -> int:
    """The requested `first`/`last` (literal or variable), else the field's default, else the page cap."""
    for argument in node.arguments or ():
        if argument.name.value not in PAGE_ARGUMENTS:
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return max(0, int(value.value))
        if isinstance(value, VariableNode):
            given = walk.variables.get(value.name.value, walk.defaults.get(value.name.value))
            if isinstance(given, int) and not isinstance(given, bool):
                return max(0, given)
        return walk.default_page
    for name in PAGE_ARGUMENTS:
        arg = definition.args.get(name)
        if arg is not None and isinstance(arg.default_value, int):
            return max(0, arg.default_value)
    return walk.default_page


def _id_count(node: FieldNode, walk: _Walk) -> int:
    """How many ids a list-by-ids field (nodes) was given: a literal list or a variable's, else the page cap."""
    for argument in node.arguments or ():
        if argument.name.value != IDS_ARGUMENT:
            continue
        value = argument.value
        if isinstance(value, ListValueNode):
            return len(value.values)
        if isinstance(value, VariableNode):
            given = walk.variables.get(value.name.value)
            if isinstance(given, list):
                return len(given)
            if isinstance(given, ListLength):
                return int(given)
    return walk.default_page


def _multiplier(node: FieldNode, definition: GraphQLField | None, walk: _Walk) -> int:
    if definition is None:
        return 1
    if _is_connection(definition):
        return _page_size(node, definition, walk)
    if IDS_ARGUMENT in definition.args and is_list_type(get_nullable_type(definition.type)):
        return _id_count(node, walk)
    return 1


def _is_connection(definition: GraphQLField) -> bool:
    named = get_named_type(definition.type)
    return (
        any(a in definition.args for a in PAGE_ARGUMENTS)
        and isinstance(named, GraphQLObjectType)
        and ("edges" in named.fields or "nodes" in named.fields)
    )


def _cost(selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, walk: _Walk) -> int:
    """1 per field; a connection's sub-selection counts `first`/`last` times."""
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        walk.steps += 1
        if walk.steps > walk.limit * STEP_BUDGET_FACTOR:
            raise TooComplex
        if isinstance(selection, FieldNode):
            total += 1
            if selection.name.value.startswith("__"):
                continue  # introspection is bounded by the schema, and can be switched off
            fields = parent.fields if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)) else {}
            definition = fields.get(selection.name.value)
            child_type = get_named_type(definition.type) if definition else None
            child = _cost(selection.selection_set, child_type, walk)
            total += child * _multiplier(selection, definition, walk)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            target = walk.schema.get_type(condition.name.value) if condition else parent
            total += _cost(selection.selection_set, target, walk)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = walk.fragments.get(name)
            if fragment is None or name in walk.visiting:
                continue  # unknown fragments and cycles are reported by the standard rules
            walk.visiting.add(name)
            total += _cost(fragment.selection_set, walk.schema.get_type(fragment.type_condition.name.value), walk)
            walk.visiting.discard(name)
        if total > walk.limit:
            raise TooComplex
    return total


def query_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    limits: Limits,
) -> int | None:
    """Estimated cost of one operation, or None when it is above `limits.max_query_cost`."""
    defaults: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        if isinstance(definition.default_value, IntValueNode):
            defaults[definition.variable.name.value] = int(definition.default_value.value)
    root = schema.get_root_type(operation.operation)
    walk = _Walk(schema, fragments, variables, defaults, limits.max_page_size, limits.max_query_cost)
    try:
        return _cost(operation.selection_set, root, walk)
    except TooComplex:
        return None


def cost_rule(variables: Mapping[str, Any], operation_name: str | None, limits: Limits) -> type[ValidationRule]:
    """A validation rule bound to this request's variables (so `first: $n` is priced at the real n)."""

    class QueryCostRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            for operation in too_expensive(context.schema, context.document, operation_name, variables, limits):
                context.report_error(
                    GraphQLError(
                        f"Query is too expensive: its estimated cost exceeds {limits.max_query_cost} "
                        "(each field costs 1; a connection's selection costs `first`/`last` times, nodes' selection "
                        "once per id). "
                        "Ask for fewer items per page or fewer nested connections.",
                        operation,
                        extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value, "maxCost": limits.max_query_cost},
                    )
                )

    return QueryCostRule


def too_expensive(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any],
    limits: Limits,
) -> list[OperationDefinitionNode]:
    """The operations the cost rule refuses: the named one (or every one, unnamed) when above the limit."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    refused = []
    for operation in document.definitions:
        if not isinstance(operation, OperationDefinitionNode):
            continue
        if operation_name and (operation.name is None or operation.name.value != operation_name):
            continue
        if query_cost(schema, operation, fragments, variables, limits) is None:
            refused.append(operation)
    return refused


def cost_allows(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any],
    limits: Limits,
) -> bool:
    """What the cost rule decides for a document the other rules accepted (the compiled path asks this)."""
    return not too_expensive(schema, document, operation_name, variables, limits)


def expanded_size(document: DocumentNode) -> int:
    """Fields in the document with every fragment spread expanded, in linear time (memoised per fragment).

    Fragments that spread each other repeatedly grow exponentially when expanded; the stock depth and alias
    limiters walk that expansion, so this gate runs before them.
    """
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    memo: dict[str, int] = {}
    visiting: set[str] = set()

    def size(selection_set: SelectionSetNode | None) -> int:
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += 1 + size(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                total += size(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in memo and name in fragments and name not in visiting:
                    visiting.add(name)
                    memo[name] = size(fragments[name].selection_set)
                    visiting.discard(name)
                total += memo.get(name, 0)
        return total

    return sum(size(d.selection_set) for d in document.definitions if isinstance(d, OperationDefinitionNode))
