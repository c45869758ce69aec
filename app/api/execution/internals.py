"""The one place that reaches private or undocumented Strawberry and graphql-core names; each has a contract test.

Everything else in the project imports only documented modules of the two libraries (tests/api/execution/
test_fence.py checks it). Each entry below names what it relies on; `NAMES` lists them, and
tests/api/execution/test_internals.py has one `test_<name>` per entry, so a library upgrade that renames or changes
one fails a named test instead of silently switching a fast path off (or making it answer differently).
Versions these were checked against are pinned in pyproject.toml; `scripts/test-newest` runs the suite against the
newest releases.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from graphql import (
    ASTValidationRule,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
)
from graphql.execution import VariableValues
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    collect_fields,
    collect_subfields,
    does_fragment_condition_match,
)
from graphql.type.scalars import serialize_int
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import SchemaExtension
from strawberry.file_uploads.utils import replace_placeholders_with_files as _replace_placeholders
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.http.parse_content_type import parse_content_type
from strawberry.relay import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext, validate_document
from strawberry.schema.types.base_scalars import DateTimeDefinition, isoformat
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage as LegacyStartMessage
from strawberry.types import ExecutionContext
from strawberry.types.arguments import InputContext, convert_argument
from strawberry.types.base import StrawberryList, StrawberryMaybe, StrawberryOptional, has_object_definition
from strawberry.types.field import StrawberryField
from strawberry.types.unset import UnsetType

NAMES = (
    # Strawberry
    "graphql_schema",
    "strawberry_schema",
    "provided_operation_name",
    "stream_transport_requested",
    "TransportWSHandler",
    "LegacyWSHandler",
    "LegacyStartMessage",
    "ASGIWebSocketAdapter",
    "WebSocketDisconnected",
    "SubscribeMessage",
    "UnsetType",
    "BaseExecutor",
    "executor_is_awaitable",
    "validate_document",
    "limiter_rules",
    "is_limit_error",
    "is_isoformat",
    "specified_datetime",
    "fast_datetime_parser",
    "returns_its_argument",
    "strawberry_field_facts",
    "argument_specs",
    "resolves_by_default",
    "parse_content_type",
    "StrawberryField",
    "starlette_request",
    "replace_placeholders_with_files",
    "input_definitions",
    "input_fields",
    "install_from_input",
    "convert_input",
    # graphql-core
    "HookedExecutor",
    "executor_subfields",
    "collect_root_fields",
    "collect_object_subfields",
    "FieldDetailsList",
    "FragmentDetails",
    "does_fragment_condition_match",
    "is_int_serializer",
    "strip_suggestions",
)
"""Every library name reached here (tests/api/execution/test_internals.py has one `test_<name>` for each)."""

__all__ = [
    "NOT_COMPLETED",
    "ASGIWebSocketAdapter",
    "ArgumentSpec",
    "BaseExecutor",
    "FieldDetailsList",
    "FieldFacts",
    "FragmentDetails",
    "HookedExecutor",
    "InputField",
    "LegacyStartMessage",
    "LegacyWSHandler",
    "StrawberryField",
    "SubscribeMessage",
    "TransportWSHandler",
    "UnsetType",
    "WebSocketDisconnected",
    "argument_specs",
    "collect_object_subfields",
    "collect_root_fields",
    "convert_input",
    "does_fragment_condition_match",
    "executor_is_awaitable",
    "executor_subfields",
    "fast_datetime_parser",
    "graphql_schema",
    "input_definitions",
    "input_fields",
    "install_from_input",
    "is_int_serializer",
    "is_isoformat",
    "is_limit_error",
    "limiter_rules",
    "parse_content_type",
    "provided_operation_name",
    "replace_placeholders_with_files",
    "resolves_by_default",
    "returns_its_argument",
    "specified_datetime",
    "starlette_request",
    "strawberry_field_facts",
    "strawberry_schema",
    "stream_transport_requested",
    "strip_suggestions",
    "validate_document",
]

Context = TypeVar("Context")
RootValue = TypeVar("RootValue")


# --- Schemas and requests -------------------------------------------------------------------------------------------


def graphql_schema(schema: Any) -> GraphQLSchema:
    """The graphql-core schema of a Strawberry schema (Strawberry keeps it as the private `Schema._schema`)."""
    found: GraphQLSchema = schema._schema
    return found


def strawberry_schema(schema: GraphQLSchema) -> Any | None:
    """The Strawberry schema a graphql-core schema was converted from (`GraphQLSchema._strawberry_schema`), or None."""
    return getattr(schema, "_strawberry_schema", None)


def provided_operation_name(context: ExecutionContext) -> object:
    """The request's own operationName (None when absent), unlike `context.operation_name`, which falls back to the
    document's first operation; `...` when Strawberry no longer keeps it
    (`ExecutionContext._provided_operation_name`)."""
    return getattr(context, "_provided_operation_name", ...)


def starlette_request(adapter: Any) -> Any:
    """The Starlette Request behind the adapter Strawberry's ASGI view hands to `parse_multipart`
    (`StarletteRequestAdapter._request`): app/api/multipart_stream.py reads its body as a stream."""
    return adapter._request


def replace_placeholders_with_files(
    operations: Any, files_map: Mapping[str, Any], files: Mapping[str, Any]
) -> Any:
    """Put each file at the variable paths `map` names (`strawberry.file_uploads.utils`), as Strawberry's own
    multipart parsing does."""
    return _replace_placeholders(operations, files_map, files)


def stream_transport_requested(view: Any, headers: Mapping[str, str]) -> bool:
    """Whether Strawberry would answer over a streaming transport (multipart or SSE), chosen by the Accept header
    (`AsyncBaseHTTPView._get_stream_transport_from_headers`); True when that method is gone, so nothing is compiled."""
    choose = getattr(view, "_get_stream_transport_from_headers", None)
    if choose is None:
        return True
    # Both transports need their media type in Accept; Strawberry's multipart check parses the header with the
    # email package (~15-60 us on every request), so an Accept naming neither is answered here.
    accept = next((value for key, value in headers.items() if key.lower() == "accept"), "").lower()
    if "multipart/mixed" not in accept and "text/event-stream" not in accept:
        return False
    return choose(headers) is not None


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, RootValue], Generic[Context, RootValue]):
    """Strawberry's graphql-transport-ws handler with one public hook, `keeps_socket_open(error)`.

    Strawberry closes the socket (4400) on any pre-execution parse error it deems fatal
    (`BaseGraphQLTransportWSHandler._get_pre_execution_close_reason`, a static method it calls on the instance);
    errors the hook accepts are answered as an `error` message instead and the connection keeps serving.
    """

    def keeps_socket_open(self, error: GraphQLError) -> bool:
        return False

    def _get_pre_execution_close_reason(self, error: GraphQLError) -> str | None:  # type: ignore[override]
        if self.keeps_socket_open(error):
            return None
        return BaseGraphQLTransportWSHandler._get_pre_execution_close_reason(error)


LegacyWSHandler = BaseGraphQLWSHandler
"""Strawberry's handler of the legacy `graphql-ws` protocol (subscriptions-transport-ws); `handle_start(message)` runs
each `start` message's operation."""


# --- Execution ------------------------------------------------------------------------------------------------------

BaseExecutor = StrawberryGraphQLCoreExecutionContext
"""The execution context class Strawberry uses by default (graphql-core 3.3's `Executor`, incremental delivery)."""

executor_is_awaitable: Callable[[Any], bool] = optimized_is_awaitable
"""The awaitable test Strawberry passes to graphql-core's executor: values it accepts complete as values there."""

NOT_COMPLETED: Any = object()
"""What `complete_fast` returns to let graphql-core complete the value itself."""


class HookedExecutor(BaseExecutor):
    """Strawberry's executor with a hook in front of graphql-core's (private) `Executor.complete_value`."""

    def complete_fast(self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList, result: Any) -> Any:
        return NOT_COMPLETED

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        completed = self.complete_fast(return_type, field_details_list, result)
        if completed is NOT_COMPLETED:
            return super().complete_value(return_type, field_details_list, info, path, result, position_context)
        return completed

    def uses_middleware(self) -> bool:
        manager = self.middleware_manager
        return manager is not None and bool(manager.middlewares)


def executor_subfields(
    executor: Any, type_: GraphQLObjectType, field_details_list: FieldDetailsList
) -> dict[str, FieldDetailsList] | None:
    """The executor's memoised sub-field collection (`Executor.collect_subfields`, graphql-core 3.3's 3-tuple
    `CollectedFields`), or None when it found @defer usages (the normal path delivers those)."""
    grouped, new_defer_usages, _forbidden = executor.collect_subfields(type_, field_details_list)
    return None if new_defer_usages else dict(grouped)


def collect_root_fields(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDetails],
    variables: VariableValues,
    root_type: GraphQLObjectType,
    operation: Any,
) -> dict[str, FieldDetailsList]:
    """graphql-core's own field collection for the root selection set (`graphql.execution.collect_fields`)."""
    return dict(collect_fields(schema, fragments, variables, root_type, operation).grouped_field_set)


def collect_object_subfields(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDetails],
    variables: VariableValues,
    operation: Any,
    type_: GraphQLObjectType,
    field_details_list: FieldDetailsList,
) -> dict[str, FieldDetailsList]:
    """graphql-core's sub-field collection (aliases, fragments, @skip/@include) for one object type."""
    collected = collect_subfields(schema, fragments, variables, operation, type_, field_details_list)
    return dict(collected.grouped_field_set)


# --- Validation -----------------------------------------------------------------------------------------------------

# validate_document (strawberry.schema.schema) is Strawberry's own validation step: graphql-core's validate plus the
# rules Strawberry always adds (Maybe null checks, @oneOf); caching it keeps exactly what Strawberry would run.
# Caching by document relies on graphql-core AST nodes hashing and comparing by content (tested with it).


def limiter_rules(extension: SchemaExtension) -> list[type[ASTValidationRule]]:
    """The validation rules of a Strawberry limiter (QueryDepthLimiter, MaxAliasesLimiter subclass AddValidationRules
    and keep them in `validation_rules`), so they can be built once instead of per request."""
    return list(extension.validation_rules)  # type: ignore[attr-defined]


LIMIT_MESSAGES = (
    "exceeds maximum operation depth",  # strawberry QueryDepthLimiter
    "aliases found. Allowed",  # strawberry MaxAliasesLimiter
    "Document contains more than",  # graphql-core parser, max_tokens (set by strawberry MaxTokensLimiter)
)


def is_limit_error(error: GraphQLError) -> bool:
    """Whether a pre-execution error comes from the depth, alias or token limit; they carry no code, only text."""
    return any(text in error.message for text in LIMIT_MESSAGES)


_SUGGESTION = re.compile(r" Did you mean .*\?$")


def strip_suggestions(message: str) -> str:
    """A validation message without graphql-core's trailing " Did you mean 'x'?" (it would map the schema)."""
    return _SUGGESTION.sub("", message)


# --- Scalars --------------------------------------------------------------------------------------------------------


def is_isoformat(coerce: Callable[[Any], Any]) -> bool:
    """Whether a scalar serializes with Strawberry's `isoformat` (DateTime, Date, Time in base_scalars)."""
    return coerce is isoformat


def specified_datetime(description: str, url: str) -> Any:
    """Strawberry's DateTime scalar (its parser behind a fast path, and the `isoformat` serializer the fast paths
    recognise) with another description and `@specifiedBy(url:)`; for Schema(scalar_overrides={datetime: ...})."""
    parse = DateTimeDefinition.parse_value
    assert parse is not None
    return dataclasses.replace(DateTimeDefinition, description=description, specified_by_url=url,
                               parse_value=fast_datetime_parser(parse))


# Plain RFC 3339 instants: ISO 8601 with seconds, milli- or microseconds and an offset or Z. Both parsers read these
# to the same instant and offset (datetime.fromisoformat's timezone rather than dateutil's tzutc/tzoffset, which
# print and compare the same); anything else, and any string fromisoformat refuses, goes to Strawberry's parser.
_PLAIN_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3}|\.\d{6})?(?:Z|[+-]\d\d:\d\d)")


def fast_datetime_parser(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`parse` (Strawberry's DateTime parser: dateutil's isoparse, ~40 us a value) with `datetime.fromisoformat`
    (~1 us) in front for plain instants; its results and errors are `parse`'s otherwise."""

    def parse_value(value: Any) -> Any:
        if type(value) is str and _PLAIN_INSTANT.fullmatch(value):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass
        return parse(value)

    return parse_value


def is_int_serializer(coerce: Callable[[Any], Any]) -> bool:
    """Whether a scalar serializes with graphql-core's `serialize_int` (the Int scalar; not exported publicly)."""
    return coerce is serialize_int


def _identity(value: Any) -> Any:
    return value


def returns_its_argument(function: Any) -> bool:
    """Whether a serializer is `lambda v: v` (Strawberry's JSON scalar): compared by bytecode, as it is a lambda."""
    code = getattr(function, "__code__", None)
    return (
        code is not None
        and code.co_argcount == 1
        and code.co_code == _identity.__code__.co_code
        and not getattr(function, "__defaults__", None)
    )


# --- Strawberry fields ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldFacts:
    """What the fast paths need to know of one Strawberry field (from StrawberryField's undocumented attributes)."""

    python_name: str
    resolver: Callable[..., Any] | None
    """The decorated resolver function (`base_resolver.wrapped_func`); None for a plain attribute."""
    has_arguments: bool
    has_extensions: bool
    default_resolver: Callable[[Any, str], Any]
    """`StrawberryConfig.default_resolver` (getattr unless configured)."""


def strawberry_field_facts(schema: GraphQLSchema, type_name: str, field_name: str) -> FieldFacts | None:
    """Facts of a field of a Strawberry-built schema, or None (not a StrawberryField, or not built by Strawberry)."""
    owner = strawberry_schema(schema)
    if owner is None:
        return None
    field = owner.get_field_for_type(field_name, type_name)
    if not isinstance(field, StrawberryField):
        return None
    resolver: Any = field.base_resolver.wrapped_func if field.base_resolver is not None else None
    return FieldFacts(
        python_name=field.python_name,
        resolver=resolver,
        has_arguments=bool(field.arguments),
        has_extensions=bool(field.extensions),
        default_resolver=owner.config.default_resolver,
    )


@dataclass(frozen=True, slots=True)
class ArgumentSpec:
    """One argument of a Strawberry field: its GraphQL and Python names and how to convert its coerced value."""

    name: str
    python_name: str
    convert: Callable[[Any], Any] | None
    """None when Strawberry passes the coerced value as it is (scalars, not Maybe/Optional, not GlobalID)."""


def argument_specs(schema: GraphQLSchema, type_name: str, field_name: str) -> list[ArgumentSpec]:
    """Strawberry's argument conversion (`convert_arguments`) for one field, with the names and the types that need
    no conversion worked out once."""
    owner = strawberry_schema(schema)
    assert owner is not None, "a schema built by Strawberry"
    field = owner.get_field_for_type(field_name, type_name)
    registry, config = owner.schema_converter.scalar_registry, owner.config
    specs = []
    for argument in field.arguments:
        name = config.name_converter.from_argument(argument)
        type_ = argument.type
        convert = None
        if not _plain_argument(type_, registry):

            def convert(value: Any, type_: Any = type_, name: str = name) -> Any:
                return convert_argument(value, type_, registry, config, None, path=(name,))

        specs.append(ArgumentSpec(name, argument.python_name, convert))
    return specs


def _plain_argument(type_: Any, registry: Any) -> bool:
    """Whether Strawberry's convert_argument returns values of this argument type as they are (None included)."""
    if isinstance(type_, StrawberryOptional) and not isinstance(type_, StrawberryMaybe):
        type_ = type_.of_type
    return not isinstance(type_, StrawberryMaybe | StrawberryOptional) and type_ is not GlobalID and is_scalar(
        type_, registry
    )


def resolves_by_default(field_def: GraphQLField) -> bool:
    """Whether Strawberry resolves a field with its plain attribute read (`_get_basic_result`, used only for fields
    without resolver, permission, extension or field exception handler)."""
    return getattr(field_def.resolve, "__name__", None) == "_get_basic_result"


# --- Input objects --------------------------------------------------------------------------------------------------

LEAF, LEAF_LIST, OBJECT, OBJECT_LIST, OTHER = "leaf", "leaf_list", "object", "object_list", "other"


@dataclass(frozen=True, slots=True)
class InputField:
    """One field of an input type as Strawberry's `convert_argument` converts it: names, whether it is set to None
    when absent (no default), and its shape: LEAF (the coerced value as it is), LEAF_LIST (a copy of the list),
    OBJECT / OBJECT_LIST (input objects of `of`, None items kept) or OTHER (anything else: Strawberry converts it)."""

    name: str
    python_name: str
    none_when_absent: bool
    shape: str
    type: Any
    of: type | None


def input_definitions(schema: GraphQLSchema, own: Callable[..., Any] | None = None) -> list[Any]:
    """The Strawberry definitions behind the schema's input object types (the converter's `strawberry-definition`
    extension), except generic, @oneOf and Maybe-field ones, and those with a `from_input` hook other than `own`:
    Strawberry checks a Maybe field's null in the document only for types without the hook."""
    found = []
    for type_ in schema.type_map.values():
        definition: Any = (getattr(type_, "extensions", None) or {}).get("strawberry-definition")
        if not (isinstance(type_, GraphQLInputObjectType) and getattr(definition, "is_input", False)):
            continue
        if definition.from_input not in (None, own) or definition.is_one_of or definition.type_var_map or any(
                isinstance(f.type, StrawberryMaybe) for f in definition.fields):
            continue
        found.append(definition)
    return found


def input_fields(definition: Any, config: Any, registry: Any) -> list[InputField]:
    """The fields of an input definition, named and shaped as `convert_argument` treats them."""
    fields = []
    for field in definition.fields:
        type_ = field.resolve_type(type_definition=definition)
        shape, of = _input_shape(type_, registry)
        fields.append(InputField(config.name_converter.from_field(field), field.python_name,
                                 field.default_value is dataclasses.MISSING
                                 and field.default_factory is dataclasses.MISSING, shape, type_, of))
    return fields


def _input_shape(type_: Any, registry: Any) -> tuple[str, type | None]:
    if isinstance(type_, StrawberryOptional) and not isinstance(type_, StrawberryMaybe):
        type_ = type_.of_type
    if isinstance(type_, StrawberryList):
        item = type_.of_type
        if isinstance(item, StrawberryOptional) and not isinstance(item, StrawberryMaybe):
            item = item.of_type
        if _leaf(item, registry):
            return LEAF_LIST, None
        if isinstance(item, type) and _input_object(item):
            return OBJECT_LIST, item
        return OTHER, None
    if _leaf(type_, registry):
        return LEAF, None
    if isinstance(type_, type) and _input_object(type_):
        return OBJECT, type_
    return OTHER, None


def _leaf(type_: Any, registry: Any) -> bool:
    return type_ is not GlobalID and not isinstance(type_, StrawberryMaybe | StrawberryOptional | StrawberryList) \
        and is_scalar(type_, registry)


def _input_object(type_: type) -> bool:
    return has_object_definition(type_) and type_.__strawberry_definition__.is_input


def install_from_input(definition: Any, build: Callable[[type, Mapping[str, Any], InputContext], Any]) -> None:
    """Make `build(cls, value, context)` build the definition's values (`StrawberryObjectDefinition.from_input`, the
    hook `convert_argument` calls instead of converting the fields itself)."""
    definition.from_input = build


def convert_input(value: Any, type_: Any, context: InputContext, path: tuple[str | int, ...]) -> Any:
    """Strawberry's own conversion of one value (`convert_argument`) in the hook's context, at `path`."""
    return convert_argument(value, type_, context.scalar_registry, context.config, context.info, path=path)
