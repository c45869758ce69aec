"""One contract test per private Strawberry/graphql-core name the project reaches (app/api/execution/internals.py).

When a library upgrade renames or changes one of them, the test named after it fails here, before any benchmark
or differential test has to notice that a fast path switched itself off or answers differently.
"""

from __future__ import annotations

import inspect
import sys
from datetime import UTC, datetime
from typing import Any, get_type_hints

import pytest
import strawberry
from graphql import (
    GraphQLError,
    GraphQLInt,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    get_variable_values,
    parse,
    specified_rules,
)
from graphql.execution import Executor
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.asgi import GraphQL
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)

from app.api.activities.inputs import TimelineFilter
from app.api.execution import internals
from app.api.execution.field_kinds import FAST_RESOLVER_ATTRIBUTE
from app.api.execution.internals import (
    NAMES,
    NOT_COMPLETED,
    ASGIWebSocketAdapter,
    BaseExecutor,
    FieldDetailsList,
    FragmentDetails,
    HookedExecutor,
    LegacyStartMessage,
    LegacyWSHandler,
    StrawberryField,
    SubscribeMessage,
    TransportWSHandler,
    UnsetType,
    WebSocketDisconnected,
    argument_specs,
    collect_object_subfields,
    collect_root_fields,
    convert_input,
    does_fragment_condition_match,
    executor_is_awaitable,
    executor_subfields,
    fast_datetime_parser,
    graphql_schema,
    input_definitions,
    input_fields,
    install_from_input,
    is_int_serializer,
    is_isoformat,
    is_limit_error,
    limiter_rules,
    parse_content_type,
    provided_operation_name,
    replace_placeholders_with_files,
    resolves_by_default,
    returns_its_argument,
    specified_datetime,
    starlette_request,
    strawberry_field_facts,
    strawberry_schema,
    stream_transport_requested,
    strip_suggestions,
    validate_document,
)
from app.api.schema import build_schema

APP = build_schema()
SCHEMA = graphql_schema(APP)


@strawberry.type(description="An item.")
class Item:
    name: str
    size: int


@strawberry.input(one_of=True, description="Exactly one of two.")
class Pick:
    a: int | None = strawberry.UNSET
    b: int | None = strawberry.UNSET


@strawberry.type(description="Root.")
class Query:
    @strawberry.field(description="Items.")
    def items(self) -> list[Item]:
        return [Item(name="x", size=1), Item(name="y", size=2)]

    @strawberry.field(description="An echo of a oneOf input.")
    def pick(self, pick: Pick) -> int:
        return 0


def small_schema(**kwargs: Any) -> strawberry.Schema:
    return strawberry.Schema(query=Query, **kwargs)


def test_every_name_has_its_contract_test() -> None:
    module = sys.modules[__name__]
    assert set(NAMES) <= set(internals.__all__)
    assert [n for n in NAMES if not hasattr(internals, n)] == []
    assert [n for n in NAMES if not callable(getattr(module, f"test_{n}", None))] == []


# --- Strawberry -----------------------------------------------------------------------------------------------------


def test_graphql_schema() -> None:
    assert isinstance(SCHEMA, GraphQLSchema)
    assert isinstance(SCHEMA.get_type("Person"), GraphQLObjectType)


def test_strawberry_schema() -> None:
    assert strawberry_schema(SCHEMA) is APP
    assert strawberry_schema(GraphQLSchema()) is None


def test_provided_operation_name() -> None:
    seen: list[object] = []

    class Capture(SchemaExtension):
        def on_execute(self):  # type: ignore[no-untyped-def]
            seen.append(provided_operation_name(self.execution_context))
            yield

    schema = small_schema(extensions=[Capture])
    assert schema.execute_sync("query A { items { name } }").errors is None
    assert schema.execute_sync("query A { items { name } } query B { items { size } }", operation_name="B").data
    assert seen == [None, "B"]  # not "A": Strawberry's own operation_name falls back to the first operation


def test_stream_transport_requested() -> None:
    """The compiled path answers only what Strawberry would answer as a single JSON response."""
    streaming = GraphQL(small_schema(), subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,
                                                                 MULTIPART_SUBSCRIPTION_PROTOCOL))
    assert stream_transport_requested(streaming, {"accept": "multipart/mixed;subscriptionSpec=1.0"})
    assert not stream_transport_requested(streaming, {"accept": "application/json"})
    plain = GraphQL(small_schema())
    assert not stream_transport_requested(plain, {"accept": "multipart/mixed;subscriptionSpec=1.0"})
    # The shortcut for an Accept naming neither media type agrees with Strawberry on case and lists.
    assert stream_transport_requested(streaming, {"Accept": "multipart/mixed;subscriptionSpec=1.0"})
    sse = GraphQL(small_schema(), subscription_protocols=(GRAPHQL_SSE_PROTOCOL,))
    assert stream_transport_requested(sse, {"accept": "application/json, Text/Event-Stream"})
    assert not stream_transport_requested(sse, {"accept": "application/graphql-response+json, */*"})


def test_TransportWSHandler() -> None:
    """Strawberry decides whether a pre-execution error closes the socket in this static method, called on the
    handler instance (tests/api/test_hardening_ws.py checks the token limit keeps the socket open end to end)."""
    base = TransportWSHandler.__mro__[1]
    assert isinstance(inspect.getattr_static(base, "_get_pre_execution_close_reason"), staticmethod)
    assert "self._get_pre_execution_close_reason(" in inspect.getsource(base)
    syntax = GraphQLSyntaxError(None, 0, "Unexpected <EOF>.")  # type: ignore[arg-type]
    assert base._get_pre_execution_close_reason(syntax) == syntax.message  # type: ignore[attr-defined]
    assert base._get_pre_execution_close_reason(GraphQLError("field error")) is None  # type: ignore[attr-defined]

    class Keeping(TransportWSHandler[Any, None]):
        def keeps_socket_open(self, error: GraphQLError) -> bool:
            return True

    handler = object.__new__(Keeping)  # the override reads nothing of the instance
    assert handler._get_pre_execution_close_reason(syntax) is None
    assert object.__new__(TransportWSHandler)._get_pre_execution_close_reason(syntax) == syntax.message


def test_LegacyWSHandler() -> None:
    """The legacy graphql-ws handler runs each `start` message through `handle_start(message)` (after checking the
    connection is acknowledged) and sends through `send_message`; views choose it as `graphql_ws_handler_class`."""
    assert list(inspect.signature(LegacyWSHandler.handle_start).parameters) == ["self", "message"]
    assert inspect.iscoroutinefunction(LegacyWSHandler.handle_start)
    assert "await self.handle_start(" in inspect.getsource(LegacyWSHandler.handle_message)
    assert inspect.iscoroutinefunction(LegacyWSHandler.send_message)
    assert "self.connection_acknowledged" in inspect.getsource(LegacyWSHandler.handle_start)
    assert getattr(GraphQL.graphql_ws_handler_class, "__origin__", None) is LegacyWSHandler  # BaseGraphQLWSHandler[..]


def test_LegacyStartMessage() -> None:
    """A `start` message: {type, id, payload: {query, variables?, operationName?}} (RateLimitedLegacyWSHandler)."""
    assert {"type", "id", "payload"} <= set(LegacyStartMessage.__annotations__)


def test_ASGIWebSocketAdapter() -> None:
    """TextWebSocketAdapter overrides send_json and writes through `self.ws` (a Starlette WebSocket)."""
    assert list(inspect.signature(ASGIWebSocketAdapter.__init__).parameters) == ["self", "view", "request", "response"]
    assert inspect.iscoroutinefunction(ASGIWebSocketAdapter.send_json)
    assert "self.ws = " in inspect.getsource(ASGIWebSocketAdapter.__init__)
    assert GraphQL.websocket_adapter_class is ASGIWebSocketAdapter


def test_WebSocketDisconnected() -> None:
    assert issubclass(WebSocketDisconnected, Exception)
    assert "WebSocketDisconnected" in inspect.getsource(ASGIWebSocketAdapter)  # what the adapter raises


def test_SubscribeMessage() -> None:
    hints = get_type_hints(SubscribeMessage)
    assert {"id", "type", "payload"} <= set(hints)


def test_UnsetType() -> None:
    assert isinstance(strawberry.UNSET, UnsetType)


def test_BaseExecutor() -> None:
    assert small_schema().execution_context_class is BaseExecutor
    assert issubclass(BaseExecutor, Executor)


def test_executor_is_awaitable() -> None:
    """The compiled path's awaitable test is the one Strawberry's execution uses."""
    seen: list[object] = []

    class Capture(BaseExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            seen.append(self.is_awaitable)

    assert small_schema(execution_context_class=Capture).execute_sync("{ items { name } }").errors is None
    assert seen == [executor_is_awaitable]

    async def coroutine() -> None:
        return None

    pending = coroutine()
    assert executor_is_awaitable(pending) and not executor_is_awaitable(3)
    pending.close()


def test_validate_document() -> None:
    """Strawberry's own validation step (its extra rules included), and documents usable as cache keys."""
    schema = small_schema()
    text = "{ pick(pick: {a: 1, b: 2}) }"
    ours = validate_document(graphql_schema(schema), parse(text), tuple(specified_rules))
    theirs = schema.execute_sync(text).errors or []
    assert [e.message for e in ours] == [e.message for e in theirs] and ours  # the @oneOf rule is Strawberry's
    assert parse(text) == parse(text) and hash(parse(text)) == hash(parse(text))
    assert validate_document(graphql_schema(schema), parse("{ items { name } }"), tuple(specified_rules)) == []


def test_limiter_rules() -> None:
    for limiter in (QueryDepthLimiter(max_depth=2), MaxAliasesLimiter(max_alias_count=1)):
        rules = limiter_rules(limiter)
        assert rules and all(isinstance(rule, type) for rule in rules)


def test_is_limit_error() -> None:
    schema = small_schema(extensions=[
        lambda: QueryDepthLimiter(max_depth=0),
        lambda: MaxAliasesLimiter(max_alias_count=1),
        lambda: MaxTokensLimiter(max_token_count=40),
    ])
    refused = {
        "depth": "{ items { name } }",
        "aliases": "{ a: items { name } b: items { size } }",
        "tokens": "{ " + " ".join(["items { name }"] * 10) + " }",
    }
    for why, document in refused.items():
        errors = schema.execute_sync(document).errors or []
        assert errors and all(is_limit_error(e) for e in errors), (why, errors)
    assert not is_limit_error(GraphQLError("Cannot query field 'nope' on type 'Query'."))


def test_is_isoformat() -> None:
    datetime_type: Any = SCHEMA.get_type("DateTime")
    assert is_isoformat(datetime_type.serialize)
    assert not is_isoformat(GraphQLString.serialize)
    moment = datetime(2026, 11, 2, 10, 0, 0, 123456, tzinfo=UTC)
    assert datetime_type.serialize(moment) == moment.isoformat()


def test_specified_datetime() -> None:
    datetime_type: Any = SCHEMA.get_type("DateTime")
    assert datetime_type.specified_by_url == "https://datatracker.ietf.org/doc/html/rfc3339"
    assert is_isoformat(datetime_type.serialize)  # still the serializer the fast paths inline
    plain: Any = specified_datetime("d", "https://example.com")
    assert (plain.description, plain.specified_by_url) == ("d", "https://example.com") and is_isoformat(plain.serialize)
    assert datetime_type.parse_value("2026-11-02T10:00:00+01:00") == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@st.composite
def instants(draw: st.DrawFn) -> str:
    """Date-times written the ways clients write them, plain RFC 3339 and not."""
    m = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)))
    fraction = draw(st.sampled_from(["", f".{m.microsecond // 1000:03d}", f".{m.microsecond:06d}", ".5", ".1234567"]))
    offset = draw(st.sampled_from(["Z", "z", "+00:00", "-00:00", "+05:30", "-12:00", "+23:59", "+24:00", "+0530", "+05",
                                   ""]))
    clock = draw(st.sampled_from([f"{m.hour:02d}:{m.minute:02d}:{m.second:02d}", "24:00:00", "23:59:60"]))
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{clock}{fraction}{offset}"


def outcome(parse: Any, value: Any) -> Any:
    try:
        moment = parse(value)
    except Exception as error:
        return type(error), str(error)
    return moment, moment.utcoffset(), moment.isoformat()


@given(st.one_of(instants(), st.text(max_size=40)))
@settings(max_examples=400, deadline=None)
def test_fast_datetime_parser(value: str) -> None:
    slow = DateTimeDefinition.parse_value
    assert outcome(fast_datetime_parser(slow), value) == outcome(slow, value)


def test_returns_its_argument() -> None:
    json_type: Any = SCHEMA.get_type("JSON")
    assert returns_its_argument(json_type.serialize)
    value = {"a": [1, None]}
    assert json_type.serialize(value) is value
    assert not returns_its_argument(GraphQLString.serialize)


def test_strawberry_field_facts() -> None:
    email = strawberry_field_facts(SCHEMA, "Person", "email")
    assert email is not None and email.python_name == "email" and email.resolver is None
    assert email.default_resolver is getattr and not email.has_arguments and not email.has_extensions
    timeline = strawberry_field_facts(SCHEMA, "Person", "timeline")
    assert timeline is not None and timeline.has_arguments and callable(timeline.resolver)
    activity_type = strawberry_field_facts(SCHEMA, "Activity", "activityType")
    assert activity_type is not None and hasattr(activity_type.resolver, FAST_RESOLVER_ATTRIBUTE)
    assert strawberry_field_facts(GraphQLSchema(), "Person", "email") is None


def test_argument_specs() -> None:
    specs = {s.name: s for s in argument_specs(SCHEMA, "Person", "timeline")}
    assert set(specs) == {"first", "after", "last", "before", "filter"}
    assert specs["first"].convert is None and specs["first"].python_name == "first"
    converted = specs["filter"].convert({"activityTypes": ["x"]}) if specs["filter"].convert else None
    assert isinstance(converted, TimelineFilter) and converted.activity_types == ["x"]
    person = {s.name: s.python_name for s in argument_specs(SCHEMA, "Query", "person")}
    assert person == {"id": "id", "email": "email", "externalId": "external_id"}


def test_resolves_by_default() -> None:
    person: Any = SCHEMA.get_type("Person")
    assert resolves_by_default(person.fields["email"])
    assert not resolves_by_default(person.fields["timeline"])


def test_parse_content_type() -> None:
    assert parse_content_type("application/json; charset=utf-8") == ("application/json", {"charset": "utf-8"})


def test_starlette_request() -> None:
    from starlette.requests import Request
    from strawberry.asgi import GraphQL as View

    request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": []})
    assert starlette_request(View.request_adapter_class(request)) is request


def test_replace_placeholders_with_files() -> None:
    upload = object()
    operations = {"query": "q", "variables": {"input": {"file": None, "files": [None, None]}}}
    done = replace_placeholders_with_files(
        operations, {"0": ["variables.input.file", "variables.input.files.1"]}, {"0": upload})
    assert done["variables"]["input"] == {"file": upload, "files": [None, upload]}
    assert operations["variables"]["input"]["file"] is None  # a copy: the parsed JSON is not changed


def test_StrawberryField() -> None:
    """app/api/connections.py names it as a dataclass field specifier next to strawberry.field."""
    assert isinstance(strawberry.field(description="x"), StrawberryField)


# --- graphql-core ---------------------------------------------------------------------------------------------------


def test_HookedExecutor() -> None:
    """graphql-core 3.3's complete_value(..., position_context), which the hook overrides."""
    parameters = list(inspect.signature(Executor.complete_value).parameters)
    assert parameters == ["self", "return_type", "field_details_list", "info", "path", "result", "position_context"]
    seen: list[str] = []

    class Counting(HookedExecutor):
        def complete_fast(self, return_type: Any, field_details_list: FieldDetailsList, result: Any) -> Any:
            seen.append(str(return_type))
            return NOT_COMPLETED if str(return_type) != "String!" else "hooked"

    result = small_schema(execution_context_class=Counting).execute_sync("{ items { name size } }")
    assert result.errors is None and result.data == {"items": [{"name": "hooked", "size": 1}, {"name": "hooked",
                                                                                               "size": 2}]}
    assert "[Item!]!" in seen and "Int!" in seen


def test_executor_subfields() -> None:
    collected: list[Any] = []

    class Collecting(HookedExecutor):
        def complete_fast(self, return_type: Any, field_details_list: FieldDetailsList, result: Any) -> Any:
            if str(return_type) == "Item!":
                collected.append(executor_subfields(self, return_type.of_type, field_details_list))
            return NOT_COMPLETED

    schema = small_schema(execution_context_class=Collecting)
    assert schema.execute_sync("{ items { n: name ... on Item { size } } }").errors is None
    assert collected and all(list(c) == ["n", "size"] for c in collected)
    assert collected[0]["n"][0].node.name.value == "name"
    fields = inspect.signature(Executor.collect_subfields).return_annotation
    assert "CollectedFields" in str(fields)


def _variables(schema: GraphQLSchema, operation: OperationDefinitionNode, values: dict[str, Any]) -> Any:
    coerced = get_variable_values(schema, operation.variable_definitions or (), values)
    assert not isinstance(coerced, list)
    return coerced


def test_collect_root_fields() -> None:
    document = parse(
        "query($no: Boolean!) { a: person(id: 1) { id } version @skip(if: $no) ... { limits { maxPageSize } } }"
    )
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode) and SCHEMA.query_type is not None
    grouped = collect_root_fields(SCHEMA, {}, _variables(SCHEMA, operation, {"no": True}), SCHEMA.query_type,
                                  operation)
    assert list(grouped) == ["a", "limits"]


def test_collect_object_subfields() -> None:
    document = parse("query { person(id: 1) { e: email ...F id @include(if: false) } } fragment F on Person { email }")
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode) and SCHEMA.query_type is not None
    fragment = document.definitions[1]
    fragments = {"F": FragmentDetails(fragment, None)}  # type: ignore[arg-type]
    variables = _variables(SCHEMA, operation, {})
    root = collect_root_fields(SCHEMA, fragments, variables, SCHEMA.query_type, operation)
    person: Any = SCHEMA.get_type("Person")
    grouped = collect_object_subfields(SCHEMA, fragments, variables, operation, person, root["person"])
    assert list(grouped) == ["e", "email"]


def test_FieldDetailsList() -> None:
    document = parse("{ version }")
    operation: Any = document.definitions[0]
    assert SCHEMA.query_type is not None
    grouped = collect_root_fields(SCHEMA, {}, _variables(SCHEMA, operation, {}), SCHEMA.query_type, operation)
    details: FieldDetailsList = grouped["version"]
    assert isinstance(details, list) and details[0].node.name.value == "version"


def test_FragmentDetails() -> None:
    fragment: Any = parse("fragment F on Person { id }").definitions[0]
    details = FragmentDetails(fragment, None)
    assert details.definition is fragment


def test_does_fragment_condition_match() -> None:
    fragment: Any = parse("{ ... on Person { id } }").definitions[0]
    inline = fragment.selection_set.selections[0]
    assert isinstance(inline, InlineFragmentNode)
    person: Any = SCHEMA.get_type("Person")
    activity: Any = SCHEMA.get_type("Activity")
    assert does_fragment_condition_match(SCHEMA, inline, person)
    assert not does_fragment_condition_match(SCHEMA, inline, activity)


def test_is_int_serializer() -> None:
    int_type: Any = SCHEMA.get_type("Int")
    assert int_type is GraphQLInt or int_type.serialize is GraphQLInt.serialize
    assert is_int_serializer(int_type.serialize) and not is_int_serializer(GraphQLString.serialize)


@pytest.mark.parametrize("document", ["{ persn(id: 1) { id } }", "{ person(id: 1) { emial } }"])
def test_strip_suggestions(document: str) -> None:
    errors = validate_document(SCHEMA, parse(document), tuple(specified_rules))
    assert errors and " Did you mean " in errors[0].message
    stripped = strip_suggestions(errors[0].message)
    assert "Did you mean" not in stripped and stripped.startswith("Cannot query field")


@strawberry.input(description="A plain input.")
class Plain:
    name: str
    tags: list[str] | None = None
    inner: Pick | None = None


@strawberry.type(description="Root.")
class InputQuery:
    @strawberry.field(description="Echo.")
    def echo(self, value: Plain) -> str:
        return value.name


INPUT_APP = strawberry.Schema(query=InputQuery)


def test_input_definitions() -> None:
    names = {d.name for d in input_definitions(graphql_schema(INPUT_APP))}
    assert names == {"Plain"}  # Pick is @oneOf: left to Strawberry
    from app.api.execution.input_builders import build

    app_names = {d.name for d in input_definitions(SCHEMA, build)}
    assert {"ActivityInput", "RecordActivitiesInput", "PersonRefInput"} <= app_names


def test_input_fields() -> None:
    (plain,) = input_definitions(graphql_schema(INPUT_APP))
    fields = {f.name: f for f in input_fields(plain, INPUT_APP.config, INPUT_APP.schema_converter.scalar_registry)}
    assert [(f.python_name, f.none_when_absent, f.shape) for f in fields.values()] == [
        ("name", True, "leaf"), ("tags", False, "leaf_list"), ("inner", False, "object")]
    assert fields["inner"].of is Pick


@strawberry.input(description="Built by a hook.")
class Hooked:
    n: int


@strawberry.type(description="Root.")
class HookQuery:
    @strawberry.field(description="Echo.")
    def echo(self, value: Hooked) -> int:
        return value.n


def test_install_from_input() -> None:
    calls: list[object] = []

    def build(cls: type, value: Any, context: Any) -> Any:
        calls.append(context.path)
        return cls(n=value["n"] * 2)

    install_from_input(Hooked.__strawberry_definition__, build)  # type: ignore[attr-defined]
    result = strawberry.Schema(query=HookQuery).execute_sync("{ echo(value: {n: 2}) }")
    assert result.data == {"echo": 4} and calls == [("value",)]


def test_convert_input() -> None:
    context = type("Context", (), {"scalar_registry": INPUT_APP.schema_converter.scalar_registry,
                                   "config": INPUT_APP.config, "info": None, "path": ()})()
    built = convert_input({"name": "n", "inner": {"a": 1}}, Plain, context, ("value",))
    assert isinstance(built, Plain) and built.inner == Pick(a=1) and built.tags is None
