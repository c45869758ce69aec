"""Build one variant of a plan (its @skip/@include values fixed): graphql-core's own field collection, then one
generated Python function per synchronous object selection (as graphql-jit generates JavaScript)."""

from __future__ import annotations

import keyword
import operator
from collections.abc import Callable
from dataclasses import dataclass, replace
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
from strawberry.types.arguments import convert_arguments

from app.api.compiled.registry import FALLBACK, REGISTRY, Call, CompiledField, Selection
from app.api.compiled.values import Built, checked, finish, leaf, listing
from app.api.fast_execution import SELF_COERCING, field_kind

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
            return Built(listing(item), item.is_async, True, None, item.fields, item.below)
        if is_leaf_type(type_):
            return Built(leaf(type_.coerce_output_value), False, True, SELF_COERCING.get(type_.name))
        if is_object_type(type_):
            assert isinstance(type_, GraphQLObjectType)
            schema, static = self.static.schema, self.static
            grouped = collect_subfields(
                schema, static.fragments, self.variables, static.operation, type_, fdl
            ).grouped_field_set
            built = self._object(type_, grouped)
            return replace(built, complete=checked(built.complete, built.is_async))
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
        return Built(complete, is_async, True, None, fields, frozenset(below))

    def _entry(self, type_: GraphQLObjectType, response_name: str, fdl: FieldDetailsList) -> _Entry:
        node = fdl[0].node
        name = node.name.value
        if name == "__typename":
            return _Entry(response_name, None, constant=type_.name)
        field_def = type_.fields[name]
        child = self._output(field_def.type, fdl)
        registered = REGISTRY.get((type_.name, name))
        if registered is not None:
            strawberry_field = self.strawberry.get_field_for_type(name, type_.name)
            converter = self.strawberry.schema_converter

            config = self.strawberry.config

            def convert(call: Call) -> dict[str, Any]:
                raw = get_argument_values(field_def, node, call.variables)
                return convert_arguments(raw, strawberry_field.arguments, converter.scalar_registry, config)

            arguments: Callable[[Call], dict[str, Any]] = convert
            if not registered.is_async:  # the plan admits only literal arguments here: the same for every request
                arguments = _constant(convert(Call(None, None, self.variables)))  # type: ignore[arg-type]
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

    Per field: read the attribute (or call the accessor / compiled resolver), then complete it inline: leaves whose
    class needs no coercion pass as they are, None is allowed only where the type is nullable, everything else
    goes through the field's completer (which raises FALLBACK for anything graphql-core would treat as an error).
    """
    namespace: dict[str, Any] = {}
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
        namespace[f"c{i}"] = child.complete
        if child.same is not None:
            namespace[f"t{i}"] = child.same
            test = f"type({v}) is not t{i}"
            lines.append(f"    if {v} is not None and {test}:" if child.nullable else f"    if {test}:")
            lines.append(f"        {v} = c{i}({v}, call)")
        elif child.nullable:
            lines.append(f"    if {v} is not None:")
            lines.append(f"        {v} = c{i}({v}, call)")
        else:
            lines.append(f"    {v} = c{i}({v}, call)")
    if single:
        lines.append("    return v0")
    else:
        keys = ", ".join(f"{e.response_name!r}: v{i}" for i, e in enumerate(entries))
        lines.append(f"    return {{{keys}}}")
    source = "\n".join(lines)
    exec(compile(source, f"<compiled {type_name or 'field'}>", "exec"), namespace)  # text built above from the schema
    complete: Getter = namespace["complete"]
    return complete
