"""Build one variant of a plan (its @skip/@include values fixed): graphql-core's own field collection, then one
generated Python function per synchronous object selection (codegen.py, as graphql-jit generates JavaScript)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    OperationDefinitionNode,
    VariableValues,
    get_argument_values,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)

from app.api.execution.compiled.codegen import Entry, Getter, generate
from app.api.execution.compiled.registry import REGISTRY, Call, CompiledField, RowReaders, Selection
from app.api.execution.compiled.values import Built, checked, finish, leaf, listing
from app.api.execution.completion import FALLBACK, passes
from app.api.execution.field_kinds import MISSING, field_kind, plain_attribute
from app.api.execution.internals import (
    FieldDetailsList,
    FragmentDetails,
    argument_specs,
    collect_object_subfields,
    collect_root_fields,
)


@dataclass(frozen=True, slots=True)
class Static:
    """What every variant of a plan shares: the schema, the operation and its fragments."""

    schema: GraphQLSchema
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDetails]


class VariantBuilder:
    """Completers for one set of variable values (only @skip/@include read them here)."""

    def __init__(self, static: Static, variables: VariableValues) -> None:
        self.static = static
        self.variables = variables

    def root(self) -> Built:
        schema = self.static.schema
        query = schema.query_type
        assert query is not None
        grouped = collect_root_fields(schema, self.static.fragments, self.variables, query, self.static.operation)
        return self._object(query, grouped)

    def _output(self, type_: GraphQLOutputType, fdl: FieldDetailsList, rows: RowReaders | None = None) -> Built:
        if is_non_null_type(type_):
            return replace(self._output(type_.of_type, fdl, rows), nullable=False)
        if is_list_type(type_):
            item = self._output(type_.of_type, fdl, rows)
            return Built(listing(item), item.is_async, True, item=item, fields=item.fields, below=item.below)
        if is_leaf_type(type_):
            return Built(leaf(type_), False, True, passes=passes(type_))
        if is_object_type(type_):
            assert isinstance(type_, GraphQLObjectType)
            schema, static = self.static.schema, self.static
            grouped = collect_object_subfields(schema, static.fragments, self.variables, static.operation, type_, fdl)
            built = self._object(type_, grouped, rows)
            # A row stands for its type by construction (is_type_of would test for the Strawberry class).
            is_type_of = None if rows is not None and type_.name in rows else type_.is_type_of
            complete = checked(built.complete, built.is_async, is_type_of)
            return replace(built, complete=complete, obj=built.complete)
        raise FALLBACK  # the plan's static check admits no interfaces or unions

    def _object(
        self, type_: GraphQLObjectType, grouped: dict[str, FieldDetailsList], rows: RowReaders | None = None
    ) -> Built:
        entries = [self._entry(type_, response_name, fdl, rows) for response_name, fdl in grouped.items()]
        below = {(type_.name, fdl[0].node.name.value) for fdl in grouped.values()}
        for entry in entries:
            if entry.child is not None:
                below |= entry.child.below
        is_async = any(e.is_async for e in entries)
        complete = _async_object(entries) if is_async else generate(entries, type_.name)
        fields = frozenset(fdl[0].node.name.value for fdl in grouped.values())
        return Built(complete, is_async, True, fields=fields, below=frozenset(below))

    def _entry(
        self, type_: GraphQLObjectType, response_name: str, fdl: FieldDetailsList, rows: RowReaders | None
    ) -> Entry:
        """How to read and complete one field. `rows`: values of the types it names are rows below here (see
        CompiledField.rows); a plain field passes them on, a resolver's fresh value ends them."""
        node = fdl[0].node
        name = node.name.value
        if name == "__typename":
            return Entry(response_name, None, constant=type_.name)
        field_def = type_.fields[name]
        registered = REGISTRY.get((type_.name, name))
        if registered is not None:
            child = self._output(field_def.type, fdl, registered.rows)
            arguments = self._arguments(type_, name, field_def, node, registered)
            selection = Selection(child.fields, child.below)
            return Entry(response_name, child, resolver=registered, arguments=arguments, selection=selection)
        schema = self.static.schema
        kind, data = field_kind(schema, type_, name, field_def)
        if kind == "fast":  # fast resolvers of a row type take the row as their source
            return Entry(response_name, self._output(field_def.type, fdl), fast=data)
        if kind != "plain":
            raise FALLBACK  # the plan's static check admits only plain, fast and registered fields
        child = self._output(field_def.type, fdl, rows)
        readers = rows.get(type_.name) if rows is not None else None
        if readers is not None:
            read = readers.get(name)
            if read is None:
                raise FALLBACK  # a row has no reader for it: the normal path builds the Strawberry object
            if isinstance(read, str):
                return Entry(response_name, child, attribute=read)
            return Entry(response_name, child, accessor=read)
        attribute = plain_attribute(schema, type_, name)
        if attribute is not None:
            return Entry(response_name, child, attribute=attribute)
        return Entry(response_name, child, accessor=data)

    def _arguments(
        self, type_: GraphQLObjectType, name: str, field_def: GraphQLField, node: Any, registered: CompiledField
    ) -> Callable[[Call], dict[str, Any]]:
        """graphql-core's argument coercion, then Strawberry's conversion, of the arguments the field declares."""
        specs = [s for s in argument_specs(self.static.schema, type_.name, name) if s.name in registered.arguments]
        declared = {s.name for s in specs}

        def convert(call: Call) -> dict[str, Any]:
            raw = get_argument_values(field_def, node, call.variables)
            if any(value is not None for key, value in raw.items() if key not in declared):
                raise FALLBACK  # the plan's static check should have refused it: never pass it on silently
            kwargs = {}
            for spec in specs:
                if spec.name in raw:
                    value = raw[spec.name]
                    kwargs[spec.python_name] = value if spec.convert is None else spec.convert(value)
            return kwargs

        return convert


def _async_object(entries: list[Entry]) -> Callable[[Any, Call], Any]:
    """An object with an asynchronous resolver below it: its fields one after the other (reads only)."""
    steps: list[tuple[str, Getter, bool]] = []
    for entry in entries:
        if entry.is_async:
            steps.append((entry.response_name, _async_field(entry), True))
        else:
            steps.append((entry.response_name, generate([entry], "", single=True), False))

    async def complete(source: Any, call: Call) -> Any:
        out = {}
        for response_name, get, is_async in steps:
            value = get(source, call)
            out[response_name] = (await value) if is_async else value
        return out

    return complete


def _async_field(entry: Entry) -> Getter:
    child = entry.child
    assert child is not None
    fast = entry.fast
    if fast is not None:

        async def shortcut(source: Any, call: Call) -> Any:
            value = fast(source, call.context)
            if value is MISSING:
                raise FALLBACK
            return await finish(value, child, call)

        return shortcut
    if entry.resolver is None:
        read = entry.accessor if entry.attribute is None else _reader(entry.attribute)
        assert read is not None

        async def plain(source: Any, call: Call) -> Any:
            return await finish(read(source), child, call)

        return plain
    resolve, arguments, selection = entry.resolver.resolve, entry.arguments, entry.selection
    assert arguments is not None and selection is not None

    async def resolved(source: Any, call: Call) -> Any:
        return await finish(await resolve(source, arguments(call), call, selection), child, call)

    return resolved


def _reader(attribute: str) -> Callable[[Any], Any]:
    """Reads `attribute` of a source ("": the source itself, a row standing for its own object)."""
    return operator.attrgetter(attribute) if attribute else _itself


def _itself(source: Any) -> Any:
    return source
