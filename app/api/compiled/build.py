"""Build one variant of a plan (its @skip/@include values fixed): graphql-core's own field collection, then one
generated Python function per synchronous object selection (codegen.py, as graphql-jit generates JavaScript)."""

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
from strawberry.relay import GlobalID
from strawberry.scalars import is_scalar
from strawberry.types.arguments import convert_argument
from strawberry.types.base import StrawberryMaybe, StrawberryOptional

from app.api.compiled.codegen import Entry, Getter, generate, passes
from app.api.compiled.registry import FALLBACK, REGISTRY, Call, Selection
from app.api.compiled.values import Built, checked, finish, leaf, listing
from app.api.fast_execution import field_kind


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
            return Built(leaf(type_.coerce_output_value), False, True, passes=passes(type_))
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
        complete = _async_object(entries) if is_async else generate(entries, type_.name)
        fields = frozenset(fdl[0].node.name.value for fdl in grouped.values())
        return Built(complete, is_async, True, fields=fields, below=frozenset(below))

    def _entry(self, type_: GraphQLObjectType, response_name: str, fdl: FieldDetailsList) -> Entry:
        node = fdl[0].node
        name = node.name.value
        if name == "__typename":
            return Entry(response_name, None, constant=type_.name)
        field_def = type_.fields[name]
        child = self._output(field_def.type, fdl)
        registered = REGISTRY.get((type_.name, name))
        if registered is not None:
            arguments = self._arguments(field_def, node, self.strawberry.get_field_for_type(name, type_.name))
            if not registered.is_async:  # the plan admits only literal arguments here: the same for every request
                arguments = _constant(arguments(Call(None, None, self.variables)))  # type: ignore[arg-type]
            selection = Selection(child.fields, child.below)
            return Entry(response_name, child, resolver=registered, arguments=arguments, selection=selection)
        kind, accessor = field_kind(self.static.schema, type_, name, field_def)
        if kind != "plain":
            raise FALLBACK  # the plan's static check admits only plain and registered fields
        attribute = self.strawberry.get_field_for_type(name, type_.name).python_name
        if self.strawberry.config.default_resolver is getattr and attribute.isidentifier() and not keyword.iskeyword(
            attribute
        ):
            return Entry(response_name, child, attribute=attribute)
        return Entry(response_name, child, accessor=accessor)

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
