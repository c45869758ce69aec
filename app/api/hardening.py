"""GraphQL hardening: depth, token, alias and cost limits, introspection switch, error masking (no resolve hooks).

Every check here runs once per document (parse or validation time); none wraps field resolution, so big
result lists pay nothing for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
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
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.extensions.query_depth_limiter import IgnoreContext

from app.api.parse_cache import CachedParse, DocumentCache
from app.domain.errors import ErrorCode
from app.settings import Limits, Settings

PAGE_ARGUMENTS = ("first", "last")
STEP_BUDGET_FACTOR = 4
"""The estimator visits at most max_query_cost * this many nodes, so fragment bombs cannot stall it."""


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
            total += child * (
                _page_size(selection, definition, walk) if definition and _is_connection(definition) else 1
            )
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
                        "(each field costs 1; a connection's selection costs `first`/`last` times). "
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


class QueryCostLimiter(SchemaExtension):
    """Adds the cost rule to validation. The rule needs the variables, but only the integer ones (page sizes),
    so `rules` (memoised) hands out one rule class per (operation, integer variables): CachedValidation hits."""

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
            ints = tuple(sorted((k, v) for k, v in variables.items() if type(v) is int))
            rule = self.rules(context.operation_name, ints)
        context.validation_rules = (*context.validation_rules, rule)
        yield


class CachedValidation(SchemaExtension):
    """Strawberry's ValidationCache, minus overwriting errors an earlier extension set (the fragment gate).

    Validation was ~25% of a timeline request's CPU (see BENCHMARKS.md). Documents compare structurally and the
    rule classes are stable, so a repeated query skips it. (Parsing is cached by app/api/parse_cache.py, which
    unlike Strawberry's ParserCache leaves parse errors to LimitErrorCodes.)
    """

    def __init__(self, maxsize: int = 512) -> None:
        self.validate = cached_validate_document(maxsize)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None:
            context.pre_execution_errors = self.validate(
                context.schema._schema, context.graphql_document, context.validation_rules
            )
        yield


@cache
def cached_validate_document(maxsize: int) -> Callable[..., list[GraphQLError]]:
    from strawberry.schema.schema import validate_document

    return lru_cache(maxsize=maxsize)(validate_document)


LIMIT_MESSAGES = ("exceeds maximum operation depth", "aliases found. Allowed", "Document contains more than")


class LimitErrorCodes(SchemaExtension):
    """Give the built-in limiters' errors our QUERY_TOO_COMPLEX code, so clients can tell them from typos."""

    def _tag(self) -> None:
        for error in self.execution_context.pre_execution_errors or ():
            if any(text in error.message for text in LIMIT_MESSAGES):
                error.extensions = {**(error.extensions or {}), "code": ErrorCode.QUERY_TOO_COMPLEX.value}

    def on_parse(self) -> Iterator[None]:
        yield
        self._tag()

    def on_validate(self) -> Iterator[None]:
        yield
        self._tag()


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
    # Rule classes are built once, not per request, so validation results can be cached (CachedValidation).
    static_rules = [
        *QueryDepthLimiter(max_depth=limits.max_query_depth, should_ignore=_ignore_introspection).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_query_aliases).validation_rules,
    ]

    @lru_cache(maxsize=1024)
    def cost_rules(operation_name: str | None, ints: tuple[tuple[str, int], ...]) -> type[ValidationRule]:
        return cost_rule(dict(ints), operation_name, limits)

    documents = DocumentCache()
    factories: list[Factory] = [
        lambda: MaxTokensLimiter(max_token_count=limits.max_query_tokens),
        lambda: CachedParse(documents),  # keyed by the parse options MaxTokensLimiter set
        lambda: AddValidationRules(static_rules),
        lambda: QueryCostLimiter(limits, cost_rules),
        CachedValidation,  # after QueryCostLimiter: its fragment gate must run first
        LimitErrorCodes,
    ]
    if not settings.introspection:
        factories.append(DisableIntrospection)
    factories.append(lambda: MaskErrors(should_mask_error=should_mask))
    return factories
