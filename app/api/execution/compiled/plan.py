"""A plan: one validated query document and operation, checked once to be compilable, run per request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    VariableNode,
    get_named_type,
    get_variable_values,
    is_leaf_type,
    is_object_type,
)

from app.api.context import Context
from app.api.execution.compiled import fields as _fields  # noqa: F401  # registers the compiled fields
from app.api.execution.compiled.build import Static, VariantBuilder
from app.api.execution.compiled.registry import CONDITIONS, FALLBACK, REGISTRY, Call, CompiledField
from app.api.execution.compiled.values import Built
from app.api.execution.field_kinds import field_kind
from app.api.execution.internals import FragmentDetails, does_fragment_condition_match
from app.api.query_cost import cost_allows, cost_key
from app.settings import Limits

MAX_VARIANTS = 64
"""Distinct @skip/@include value combinations kept per plan; further ones are built per request."""
MAX_COERCION_ERRORS = 50  # graphql-core's default, as the normal path uses it


@dataclass
class Plan:
    """Everything about one (document, operation name) that does not depend on the request."""

    static: Static
    document: DocumentNode
    operation_name: str | None
    conditions: tuple[str, ...]
    """Variables read by @skip/@include: their values pick the variant."""
    variants: dict[tuple[bool, ...], Built] = field(default_factory=dict)
    costs: dict[tuple[tuple[str, int], ...], bool] = field(default_factory=dict)

    def within_cost(self, variables: Mapping[str, Any], limits: Limits) -> bool:
        """The cost rule's verdict (QueryCostLimiter), memoised by the variables it reads (query_cost.cost_key)."""
        ints = cost_key(variables)
        verdict = self.costs.get(ints)
        if verdict is None:
            verdict = cost_allows(self.static.schema, self.document, self.operation_name, dict(ints), limits)
            if len(self.costs) >= MAX_VARIANTS:
                self.costs.clear()
            self.costs[ints] = verdict
        return verdict

    async def execute(self, variables: dict[str, Any], context: Context) -> Any:
        """The operation's `data`, or FALLBACK for anything the normal path must answer (errors included)."""
        static = self.static
        coerced = get_variable_values(
            static.schema, static.operation.variable_definitions or (), variables, max_errors=MAX_COERCION_ERRORS
        )
        if isinstance(coerced, list):
            raise FALLBACK
        key = tuple(coerced.coerced.get(name) for name in self.conditions)
        if not all(type(value) is bool for value in key):
            raise FALLBACK  # missing or null: graphql-core reports it
        built = self.variants.get(key)  # type: ignore[arg-type]
        if built is None:
            built = VariantBuilder(static, coerced).root()
            if len(self.variants) < MAX_VARIANTS:
                self.variants[key] = built  # type: ignore[index]
        data = built.complete(None, Call(context, coerced))
        return (await data) if built.is_async else data


def compile_plan(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> Plan | None:
    """A plan for a validated document's `query` operation whose every field is compilable, else None."""
    operation: OperationDefinitionNode | None = None
    fragments: dict[str, FragmentDetails] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            if operation_name is None:
                if operation is not None:
                    return None  # graphql-core: "Must provide operation name..."
                operation = definition
            elif definition.name is not None and definition.name.value == operation_name:
                operation = definition
        elif isinstance(definition, FragmentDefinitionNode):
            if definition.variable_definitions or definition.directives:
                return None
            fragments[definition.name.value] = FragmentDetails(definition, None)
        else:
            return None
    if operation is None or operation.operation != OperationType.QUERY or operation.directives:
        return None
    if any(d.directives for d in operation.variable_definitions or ()) or schema.query_type is None:
        return None
    checker = _Checker(schema, fragments)
    if not checker.selection_set(operation.selection_set, schema.query_type):
        return None
    static = Static(schema, operation, fragments)
    return Plan(static, document, operation_name, tuple(checker.conditions))


class _Checker:
    """Walks every selection (whatever @skip/@include decide) of the types fragments apply to."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDetails]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.conditions: dict[str, None] = {}
        self.checked: set[tuple[str, str]] = set()

    def selection_set(self, selection_set: SelectionSetNode, type_: GraphQLObjectType) -> bool:
        for selection in selection_set.selections:
            if not self.directives(selection.directives):
                return False
            if isinstance(selection, FieldNode):
                if not self.field(selection, type_):
                    return False
            elif isinstance(selection, InlineFragmentNode):
                if does_fragment_condition_match(self.schema, selection, type_) and not self.selection_set(
                    selection.selection_set, type_
                ):
                    return False
            elif isinstance(selection, FragmentSpreadNode):
                if getattr(selection, "arguments", None) or not self.spread(selection.name.value, type_):
                    return False
            else:
                return False
        return True

    def spread(self, name: str, type_: GraphQLObjectType) -> bool:
        details = self.fragments.get(name)
        if details is None:
            return False
        key = (name, type_.name)
        if key in self.checked or not does_fragment_condition_match(self.schema, details.definition, type_):
            return True
        self.checked.add(key)  # fragments cannot cycle (validated), so marking before the walk is safe
        return self.selection_set(details.definition.selection_set, type_)

    def field(self, node: FieldNode, type_: GraphQLObjectType) -> bool:
        name = node.name.value
        if name == "__typename":
            return True
        field_def = type_.fields.get(name)
        if field_def is None:  # __schema, __type: introspection stays on the normal path
            return False
        registered = REGISTRY.get((type_.name, name))
        if registered is not None:
            if not handles(registered, field_def, node):
                return False
        elif field_def.args or node.arguments or field_kind(self.schema, type_, name, field_def)[0] == "none":
            return False
        named = get_named_type(field_def.type)
        if is_leaf_type(named):
            return node.selection_set is None
        if not is_object_type(named) or node.selection_set is None:
            return False  # interfaces and unions resolve their runtime type on the normal path
        assert isinstance(named, GraphQLObjectType)
        return self.selection_set(node.selection_set, named)  # is_type_of is checked per value (values.checked)

    def directives(self, directives: tuple[DirectiveNode, ...] | None) -> bool:
        for directive in directives or ():
            arguments = directive.arguments or ()
            if directive.name.value not in CONDITIONS or len(arguments) != 1 or arguments[0].name.value != "if":
                return False
            value = arguments[0].value
            if isinstance(value, VariableNode):
                self.conditions[value.name.value] = None
            elif not isinstance(value, BooleanValueNode):
                return False
        return True


def handles(registered: CompiledField, field_def: GraphQLField, node: FieldNode) -> bool:
    """Whether a compiled field handles this use of it: only declared arguments and directives, and no undeclared
    argument whose default would reach the Strawberry resolver (a non-null default)."""
    if any(argument.name.value not in registered.arguments for argument in node.arguments or ()):
        return False
    if any(directive.name.value not in registered.directives for directive in node.directives or ()):
        return False
    for name, argument in field_def.args.items():
        if name not in registered.arguments and argument.default_value not in (None, Undefined):
            return False
    return registered.arguments <= field_def.args.keys()
