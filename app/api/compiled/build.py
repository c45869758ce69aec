"""Build one variant of a plan (its @skip/@include values fixed): graphql-core's own field collection, then one
generated Python function per synchronous object selection (as graphql-jit generates JavaScript)."""

from __future__ import annotations

import keyword
import operator
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from graphql import (
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    OperationDefinitionNode,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList, FragmentDetails, collect_fields, collect_subfields
from graphql.execution.values import VariableValues, get_argument_values
from graphql.type.scalars import GRAPHQL_MAX_INT, GRAPHQL_MIN_INT, serialize_int
from strawberry.relay import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.types.base_scalars import isoformat
from strawberry.types.arguments import convert_argument
from strawberry.types.base import StrawberryMaybe, StrawberryOptional

from app.api.compiled.registry import FALLBACK, REGISTRY, Call, CompiledField, Selection
from app.api.compiled.values import Built, check, checked, finish, inert, leaf, listing
from app.api.fast_execution import INERT_CLASSES, SELF_COERCING, field_kind

Getter = Callable[[Any, Call], Any]


@dataclass(frozen=True, slots=True)
class Static:
    """What every variant of a plan shares: the schema, the operation and its fragments."""

    schema: GraphQLSchema
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDetails]


@dataclass(frozen=True, slots=True)
class _Entry:
    """One response key of an object: how to read the field's value, and how to complete it."""

    response_name: str
    child: Built | None  # None for __typename
    constant: str | None = None  # __typename
    attribute: str | None = None  # a plain attribute read inline
    accessor: Callable[[Any], Any] | None = None  # any other plain field
    resolver: CompiledField | None = None
    arguments: Callable[[Call], dict[str, Any]] | None = None
    selection: Selection | None = None

    @property
    def is_async(self) -> bool:
        return bool((self.resolver and self.resolver.is_async) or (self.child and self.child.is_async))


class VariantBuilder:
    """Completers for one set of variable values (only @skip/@include read them here)."""

    def __init__(self, static: Static, variables: VariableValues) -> None:
        self.static = static
        self.variables = variables
        self.strawberry = static.schema._strawberry_schema  # type: ignore[attr-defined]

    def root(self) -> Built:
        schema = self.static.schema
        query = schema.query_type
        assert query is not None
        grouped = collect_fields(
            schema, self.static.fragments, self.variables, query, self.static.operation
        ).grouped_field_set
        return self._object(query, grouped)

    def _output(self, type_: GraphQLOutputType, fdl: FieldDetailsList) -> Built:
        if is_non_null_type(type_):
            return replace(self._output(type_.of_type, fdl), nullable=False)
        if is_list_type(type_):
            item = self._output(type_.of_type, fdl)
            return Built(listing(item), item.is_async, True, item=item, fields=item.fields, below=item.below)
        if is_leaf_type(type_):
            return Built(leaf(type_.coerce_output_value), False, True, passes=_passes(type_))
        if is_object_type(type_):
            assert isinstance(type_, GraphQLObjectType)
            schema, static = self.static.schema, self.static
            grouped = collect_subfields(
                schema, static.fragments, self.variables, static.operation, type_, fdl
            ).grouped_field_set
            built = self._object(type_, grouped)
            return replace(built, complete=checked(built.complete, built.is_async), obj=built.complete)
        raise FALLBACK  # the plan's static check admits no interfaces or unions

    def _object(self, type_: GraphQLObjectType, grouped: dict[str, FieldDetailsList]) -> Built:
        entries = [self._entry(type_, response_name, fdl) for response_name, fdl in grouped.items()]
        below = {(type_.name, fdl[0].node.name.value) for fdl in grouped.values()}
        for entry in entries:
            if entry.child is not None:
                below |= entry.child.below
        is_async = any(e.is_async for e in entries)
        complete = _async_object(entries) if is_async else _generate(entries, type_.name)
        fields = frozenset(fdl[0].node.name.value for fdl in grouped.values())
        return Built(complete, is_async, True, fields=fields, below=frozenset(below))

    def _entry(self, type_: GraphQLObjectType, response_name: str, fdl: FieldDetailsList) -> _Entry:
        node = fdl[0].node
        name = node.name.value
        if name == "__typename":
            return _Entry(response_name, None, constant=type_.name)
        field_def = type_.fields[name]
        child = self._output(field_def.type, fdl)
        registered = REGISTRY.get((type_.name, name))
        if registered is not None:
            arguments = self._arguments(field_def, node, self.strawberry.get_field_for_type(name, type_.name))
            if not registered.is_async:  # the plan admits only literal arguments here: the same for every request
                arguments = _constant(arguments(Call(None, None, self.variables)))  # type: ignore[arg-type]
            selection = Selection(child.fields, child.below)
            return _Entry(response_name, child, resolver=registered, arguments=arguments, selection=selection)
        kind, accessor = field_kind(self.static.schema, type_, name, field_def)
        if kind != "plain":
            raise FALLBACK  # the plan's static check admits only plain and registered fields
        attribute = self.strawberry.get_field_for_type(name, type_.name).python_name
        if self.strawberry.config.default_resolver is getattr and attribute.isidentifier() and not keyword.iskeyword(
            attribute
        ):
            return _Entry(response_name, child, attribute=attribute)
        return _Entry(response_name, child, accessor=accessor)

    def _arguments(self, field_def: Any, node: Any, field: Any) -> Callable[[Call], dict[str, Any]]:
        """graphql-core's argument coercion, then Strawberry's conversion (convert_arguments, with the names and the
        types that need no conversion worked out once)."""
        registry, config = self.strawberry.schema_converter.scalar_registry, self.strawberry.config
        specs = [
            (config.name_converter.from_argument(a), a.python_name, a.type, _plain_argument(a.type, registry))
            for a in field.arguments
        ]

        def convert(call: Call) -> dict[str, Any]:
            raw = get_argument_values(field_def, node, call.variables)
            kwargs = {}
            for name, python_name, type_, plain in specs:
                if name in raw:
                    value = raw[name]
                    kwargs[python_name] = (
                        value if plain else convert_argument(value, type_, registry, config, None, path=(name,))
                    )
            return kwargs

        return convert


def _plain_argument(type_: Any, registry: Any) -> bool:
    """Whether Strawberry's convert_argument returns values of this argument type as they are (None included)."""
    if isinstance(type_, StrawberryOptional) and not isinstance(type_, StrawberryMaybe):
        type_ = type_.of_type
    return not isinstance(type_, StrawberryMaybe | StrawberryOptional) and type_ is not GlobalID and is_scalar(
        type_, registry
    )


def _constant(arguments: dict[str, Any]) -> Callable[[Call], dict[str, Any]]:
    return lambda _call: arguments


def _async_object(entries: list[_Entry]) -> Callable[[Any, Call], Any]:
    """An object with an asynchronous resolver below it: its fields one after the other (reads only)."""
    steps: list[tuple[str, Getter, bool]] = []
    for entry in entries:
        if entry.is_async:
            steps.append((entry.response_name, _async_field(entry), True))
        else:
            steps.append((entry.response_name, _generate([entry], "", single=True), False))

    async def complete(source: Any, call: Call) -> Any:
        out = {}
        for response_name, get, is_async in steps:
            value = get(source, call)
            out[response_name] = (await value) if is_async else value
        return out

    return complete


def _async_field(entry: _Entry) -> Getter:
    child = entry.child
    assert child is not None
    if entry.resolver is None:
        read = operator.attrgetter(entry.attribute) if entry.attribute else entry.accessor
        assert read is not None

        async def plain(source: Any, call: Call) -> Any:
            return await finish(read(source), child, call)

        return plain
    resolve, resolver_async = entry.resolver.resolve, entry.resolver.is_async
    arguments, selection = entry.arguments, entry.selection
    assert arguments is not None and selection is not None

    async def resolved(source: Any, call: Call) -> Any:
        value = resolve(source, arguments(call), call, selection)
        if resolver_async:
            value = await value
        return await finish(value, child, call)

    return resolved


def _generate(entries: list[_Entry], type_name: str, single: bool = False) -> Getter:
    """Python source for a synchronous object completer (or, `single`, one field's completed value), compiled once.

    Per field: read the attribute (or call the accessor / compiled resolver), then complete it inline: leaves that
    complete as themselves pass, None is allowed only where the type is nullable, objects and lists of objects are
    checked and completed in place, everything else goes through the field's completer. Anything graphql-core
    would report as an error raises FALLBACK.
    """
    namespace: dict[str, Any] = {"FALLBACK": FALLBACK, "INERT": inert, "check": check}
    namespace.update(DATETIME=datetime, UTC=UTC, JSON_PLAIN=INERT_CLASSES)
    lines = ["def complete(src, call):"]
    for i, entry in enumerate(entries):
        v = f"v{i}"
        if entry.constant is not None:
            lines.append(f"    {v} = {entry.constant!r}")
            continue
        child = entry.child
        assert child is not None
        if entry.attribute is not None:
            lines.append(f"    {v} = src.{entry.attribute}")
        elif entry.resolver is not None:
            assert entry.arguments is not None
            namespace[f"r{i}"], namespace[f"s{i}"] = entry.resolver.resolve, entry.selection
            namespace[f"a{i}"] = entry.arguments(None)  # type: ignore[arg-type]  # constant (see _entry)
            lines.append(f"    {v} = r{i}(src, a{i}, call, s{i})")
        else:
            namespace[f"g{i}"] = entry.accessor
            lines.append(f"    {v} = g{i}(src)")
        lines.extend(_completion(v, f"{i}", child, namespace))
    if single:
        lines.append("    return v0")
    else:
        keys = ", ".join(f"{e.response_name!r}: v{i}" for i, e in enumerate(entries))
        lines.append(f"    return {{{keys}}}")
    source = "\n".join(lines)
    exec(compile(source, f"<compiled {type_name or 'field'}>", "exec"), namespace)  # text built above from the schema
    complete: Getter = namespace["complete"]
    return complete


def _completion(v: str, n: str, child: Built, namespace: dict[str, Any], indent: str = "    ") -> list[str]:
    """Lines that replace the value in variable `v` by its completion (names of helpers end in `n`)."""
    if child.passes is not None:
        namespace[f"c{n}"] = child.complete
        test = f"not ({child.passes.format(v=v)})"
        if child.nullable:
            test = f"{v} is not None and {test}"
        return [f"{indent}if {test}:", f"{indent}    {v} = c{n}({v}, call)"]
    if child.nullable:
        inner = _completion(v, n, replace(child, nullable=False), namespace, indent + "    ")
        return [f"{indent}if {v} is not None:", *inner]
    if child.obj is not None:
        namespace[f"o{n}"] = child.obj
        return [
            f"{indent}if {v} is None:",
            f"{indent}    raise FALLBACK",
            f"{indent}if type({v}) not in INERT:",
            f"{indent}    check({v})",
            f"{indent}{v} = o{n}({v}, call)",
        ]
    item = child.item
    if item is not None and item.obj is not None and not item.nullable:
        namespace[f"o{n}"] = item.obj
        return [
            f"{indent}if type({v}) is not list and type({v}) is not tuple:",
            f"{indent}    raise FALLBACK",
            f"{indent}l{n} = []",
            f"{indent}for e{n} in {v}:",
            f"{indent}    if e{n} is None:",
            f"{indent}        raise FALLBACK",
            f"{indent}    if type(e{n}) not in INERT:",
            f"{indent}        check(e{n})",
            f"{indent}    l{n}.append(o{n}(e{n}, call))",
            f"{indent}{v} = l{n}",
        ]
    namespace[f"c{n}"] = child.complete
    return [f"{indent}{v} = c{n}({v}, call)"]


def _passes(type_: Any) -> str | None:
    """A test for leaf values that complete as themselves, so the generated code need not call the coercion."""
    same = SELF_COERCING.get(type_.name)
    coerce = type_.coerce_output_value
    if same is not None:
        return f"type({{v}}) is {same.__name__}"
    if coerce is serialize_int:
        return f"type({{v}}) is int and {GRAPHQL_MIN_INT} <= {{v}} <= {GRAPHQL_MAX_INT}"
    if coerce is isoformat:
        # orjson writes exactly isoformat()'s text for UTC datetimes (tested on 200k values incl. years 1 and 9999)
        return "type({v}) is DATETIME and {v}.tzinfo is UTC"
    if _returns_its_argument(coerce):  # the JSON scalar: graphql-core would hand the value to orjson unchanged
        return "type({v}) in JSON_PLAIN"
    return None


def _identity(value: Any) -> Any:
    return value


def _returns_its_argument(function: Any) -> bool:
    code = getattr(function, "__code__", None)
    return (
        code is not None
        and code.co_argcount == 1
        and code.co_code == _identity.__code__.co_code
        and not getattr(function, "__defaults__", None)
    )
