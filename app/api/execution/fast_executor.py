"""An executor that completes plain object subtrees (attribute access + scalar coercion) without per-field execution."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from graphql import (
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)

from app.api.execution.completion import FALLBACK, NO_INFO, check, coerce_leaf, inert, is_sequence, same_class
from app.api.execution.field_kinds import MISSING, field_kind
from app.api.execution.internals import NOT_COMPLETED, FieldDetailsList, HookedExecutor, executor_subfields

Completer = Callable[[Any], Any]
Accessor = Callable[[Any], Any]


class FastExecutionContext(HookedExecutor):
    """Completes selections whose fields are all plain in one pass; everything else goes the normal way.

    A subtree qualifies when every selected field (after graphql-core's own field collection: aliases, fragments,
    type conditions, @skip/@include, __typename) is a Strawberry field without resolver, arguments or extensions
    (or a resolver marked with `fast_resolver`), of scalar, enum, plain object or list type. Any value the fast
    path cannot complete exactly as graphql-core would (null for a non-null field, an error, an awaitable, a
    non-list for a list, a scalar that fails to coerce) makes it hand the whole value back to the normal path.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fast_enabled = not self.uses_middleware()
        self._plans: dict[tuple[GraphQLOutputType, int], tuple[FieldDetailsList, Completer | None]] = {}

    def complete_fast(self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList, result: Any) -> Any:
        if not self._fast_enabled:
            return NOT_COMPLETED
        key = (return_type, id(field_details_list))
        cached = self._plans.get(key)
        if cached is None:
            cached = (field_details_list, self._plan(return_type, field_details_list))
            self._plans[key] = cached  # keeps the list alive, so its id cannot be reused
        plan = cached[1]
        if plan is None:
            return NOT_COMPLETED
        try:
            check(result)
            return plan(result)
        except Exception:  # FALLBACK, or an error the normal path reports exactly as it should
            return NOT_COMPLETED

    def _plan(self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList) -> Completer | None:
        """A completer for composite types only: leaves alone are cheap enough the normal way."""
        named: Any = return_type
        while is_non_null_type(named) or is_list_type(named):
            named = named.of_type
        if not is_object_type(named):
            return None
        return self._compile(return_type, field_details_list)

    def _compile(self, type_: GraphQLOutputType, fdl: FieldDetailsList) -> Completer | None:
        if is_non_null_type(type_):
            inner = self._compile(type_.of_type, fdl)
            if inner is None:
                return None

            def non_null(value: Any) -> Any:
                completed = inner(value)
                if completed is None:
                    raise FALLBACK
                return completed

            return non_null
        if is_list_type(type_):
            if any(d.name.value == "stream" for f in fdl for d in (f.node.directives or ())):
                return None
            item = self._compile(type_.of_type, fdl)
            if item is None:
                return None

            def listing(value: Any) -> Any:
                if value is None:
                    return None
                if not is_sequence(value):
                    raise FALLBACK
                out = []
                for element in value:
                    check(element)
                    out.append(item(element))
                return out

            return listing
        if is_leaf_type(type_):
            leaf = coerce_leaf(type_)
            return lambda value: None if value is None else leaf(value)
        if is_object_type(type_):
            return self._object(type_, fdl)
        return None  # interfaces and unions: the normal path resolves the runtime type

    def _object(self, type_: GraphQLObjectType, fdl: FieldDetailsList) -> Completer | None:
        grouped = executor_subfields(self, type_, fdl)
        if grouped is None:
            return None
        entries: list[tuple[str, Accessor]] = []
        for response_name, sub_fdl in grouped.items():
            node = sub_fdl[0].node
            name = node.name.value
            if name == "__typename":
                entries.append((response_name, _constant(type_.name)))
                continue
            field_def = self.schema.get_field(type_, name)
            if field_def is None:
                continue  # the normal path leaves it out of the result too
            if field_def.args or node.arguments:
                return None
            accessor = self._accessor(type_, name, field_def)
            if accessor is None:
                return None
            completer = self._compile(field_def.type, sub_fdl)
            if completer is None:
                return None
            entries.append((response_name, self._field(accessor, field_def.type, completer)))
        frozen = tuple(entries)
        is_type_of = type_.is_type_of  # set on types implementing an interface (Node): graphql-core checks it

        def complete(value: Any) -> Any:
            if value is None:
                return None
            if is_type_of is not None and not is_type_of(value, NO_INFO):
                raise FALLBACK  # the normal path reports the wrong runtime type
            out = {}
            for response_name, field in frozen:
                out[response_name] = field(value)
            return out

        return complete

    def _field(self, accessor: Accessor, type_: GraphQLOutputType, completer: Completer) -> Completer:
        """Read one field of a source and complete it, with leaves inlined (they are most of a page's fields)."""
        non_null = is_non_null_type(type_)
        named: Any = cast(Any, type_).of_type if non_null else type_
        if not is_leaf_type(named):

            def field(source: Any) -> Any:
                value = accessor(source)
                if type(value) not in inert:
                    check(value)
                return completer(value)

            return field
        same = same_class(named)  # None matches no value's type
        leaf = coerce_leaf(named)

        def leaf_field(source: Any) -> Any:
            value = accessor(source)
            if type(value) is same:
                return value
            if value is None:
                if non_null:
                    raise FALLBACK
                return None
            return leaf(value)

        return leaf_field

    def _accessor(self, type_: GraphQLObjectType, name: str, field_def: GraphQLField) -> Accessor | None:
        kind, data = field_kind(self.schema, type_, name, field_def)
        if kind == "plain":
            return cast(Accessor, data)
        if kind == "none":
            return None
        fast, context = data, self.context_value

        def shortcut(source: Any) -> Any:
            found = fast(source, context)
            if found is MISSING:
                raise FALLBACK
            return found

        return shortcut


def _constant(value: Any) -> Accessor:
    return lambda _source: value
