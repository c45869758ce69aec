"""An executor that completes plain object subtrees (attribute access + scalar coercion) without per-field execution."""

from __future__ import annotations

import operator
import types
from collections.abc import Callable
from typing import Any, TypeVar, cast

from graphql import (
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    Undefined,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.language import FieldNode
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

Completer = Callable[[Any], Any]
Accessor = Callable[[Any], Any]
F = TypeVar("F", bound=Callable[..., Any])

FAST_RESOLVER_ATTRIBUTE = "__fast_resolver__"
MISSING: Any = object()
"""What a fast resolver returns when it cannot answer synchronously (the normal path then runs the resolver)."""

# Values of these classes are never awaitable, never exceptions, and complete as themselves or via coercion.
INERT_CLASSES: frozenset[type] = frozenset({str, int, float, bool, dict, list, tuple})
# Built-in scalars whose coercion returns values of exactly this class unchanged (graphql-core's serializers).
SELF_COERCING: dict[str, type] = {"String": str, "ID": str, "Boolean": bool}


class _Fallback(Exception):  # control flow, never escapes this module
    """The fast path met something only the normal path completes exactly (errors, awaitables, nulls...)."""


_FALLBACK = _Fallback()


def fast_resolver(fast: Callable[[Any, Any], Any]) -> Callable[[F], F]:
    """Mark a resolver (no arguments besides info) as answerable by `fast(source, context)` when that returns a value.

    `fast` must return exactly what the resolver would return, or MISSING; the executor then completes the value
    like a plain attribute, so a subtree under such a field can still take the fast path.
    """

    def mark(resolver: F) -> F:
        setattr(resolver, FAST_RESOLVER_ATTRIBUTE, fast)
        return resolver

    return mark


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Completes selections whose fields are all plain in one pass; everything else goes the normal way.

    A subtree qualifies when every selected field (after graphql-core's own field collection: aliases, fragments,
    type conditions, @skip/@include, __typename) is a Strawberry field without resolver, arguments or extensions
    (or a resolver marked with `fast_resolver`), of scalar, enum, plain object or list type. Any value the fast
    path cannot complete exactly as graphql-core would (null for a non-null field, an error, an awaitable, a
    non-list for a list, a scalar that fails to coerce) makes it hand the whole value back to the normal path.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self._fast_enabled = manager is None or not manager.middlewares
        self._plans: dict[tuple[GraphQLOutputType, int], tuple[FieldDetailsList, Completer | None]] = {}
        self._inert: set[type] = set(INERT_CLASSES)

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if self._fast_enabled:
            key = (return_type, id(field_details_list))
            cached = self._plans.get(key)
            if cached is None:
                cached = (field_details_list, self._plan(return_type, field_details_list))
                self._plans[key] = cached  # keeps the list alive, so its id cannot be reused
            plan = cached[1]
            if plan is not None:
                try:
                    self._check(result)
                    return plan(result)
                except Exception:  # _Fallback, or an error the normal path below reports exactly as it should
                    pass
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def _plan(self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList) -> Completer | None:
        """A completer for composite types only: leaves alone are cheap enough the normal way."""
        named: Any = return_type
        while is_non_null_type(named) or is_list_type(named):
            named = named.of_type
        if not is_object_type(named):
            return None
        return self._compile(return_type, field_details_list)

    def _check(self, value: Any) -> None:
        """Fall back on values the normal path treats specially: awaitables and exceptions."""
        cls = type(value)
        if cls in self._inert:
            return
        if isinstance(value, Exception) or self.is_awaitable(value):
            raise _FALLBACK
        if cls is not types.GeneratorType:  # generator awaitability depends on the instance
            self._inert.add(cls)

    def _compile(self, type_: GraphQLOutputType, fdl: FieldDetailsList) -> Completer | None:
        if is_non_null_type(type_):
            inner = self._compile(type_.of_type, fdl)
            if inner is None:
                return None

            def non_null(value: Any) -> Any:
                completed = inner(value)
                if completed is None:
                    raise _FALLBACK
                return completed

            return non_null
        if is_list_type(type_):
            if any(d.name.value == "stream" for f in fdl for d in (f.node.directives or ())):
                return None
            item = self._compile(type_.of_type, fdl)
            if item is None:
                return None
            check = self._check

            def listing(value: Any) -> Any:
                if value is None:
                    return None
                if type(value) is not list and type(value) is not tuple:
                    raise _FALLBACK
                out = []
                for element in value:
                    check(element)
                    out.append(item(element))
                return out

            return listing
        if is_leaf_type(type_):
            return self._leaf(type_)
        if is_object_type(type_):
            return self._object(type_, fdl)
        return None  # interfaces and unions: the normal path resolves the runtime type

    def _leaf(self, type_: Any) -> Completer:
        coerce = type_.coerce_output_value

        def leaf(value: Any) -> Any:
            if value is None:
                return None
            coerced = coerce(value)
            if coerced is None or coerced is Undefined:
                raise _FALLBACK
            return coerced

        return leaf

    def _object(self, type_: GraphQLObjectType, fdl: FieldDetailsList) -> Completer | None:
        if type_.is_type_of is not None:
            return None
        grouped, new_defer_usages, _forbidden = self.collect_subfields(type_, fdl)
        if new_defer_usages:
            return None
        entries: list[tuple[str, Accessor]] = []
        for response_name, sub_fdl in grouped.items():
            node: FieldNode = sub_fdl[0].node
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

        def complete(value: Any) -> Any:
            if value is None:
                return None
            out = {}
            for response_name, field in frozen:
                out[response_name] = field(value)
            return out

        return complete

    def _field(self, accessor: Accessor, type_: GraphQLOutputType, completer: Completer) -> Completer:
        """Read one field of a source and complete it, with leaves inlined (they are most of a page's fields)."""
        check, inert = self._check, self._inert
        non_null = is_non_null_type(type_)
        named: Any = cast(Any, type_).of_type if non_null else type_
        if not is_leaf_type(named):

            def field(source: Any) -> Any:
                value = accessor(source)
                if type(value) not in inert:
                    check(value)
                return completer(value)

            return field
        same = SELF_COERCING.get(named.name)  # None matches no value's type
        coerce = named.coerce_output_value

        def leaf_field(source: Any) -> Any:
            value = accessor(source)
            if type(value) is same:
                return value
            if value is None:
                if non_null:
                    raise _FALLBACK
                return None
            if type(value) not in inert:
                check(value)
            coerced = coerce(value)
            if coerced is None or coerced is Undefined:
                raise _FALLBACK
            return coerced

        return leaf_field

    def _accessor(self, type_: GraphQLObjectType, name: str, field_def: GraphQLField) -> Accessor | None:
        kind, data = field_kind(self.schema, type_, name, field_def)
        if kind != "fast":
            return cast("Accessor | None", data)
        fast, context = data, self.context_value

        def shortcut(source: Any) -> Any:
            found = fast(source, context)
            if found is MISSING:
                raise _FALLBACK
            return found

        return shortcut


def _constant(value: Any) -> Accessor:
    return lambda _source: value


# Per schema field: ("plain", accessor), ("fast", fast resolver) or ("none", None). Keyed by the field object's id
# (kept alive in the value, so the id is not reused); a schema has a fixed, small set of fields.
_KINDS: dict[int, tuple[GraphQLField, str, Any]] = {}


def field_kind(schema: Any, type_: GraphQLObjectType, name: str, field_def: GraphQLField) -> tuple[str, Any]:
    """How a field completes without graphql-core: ("plain", accessor), ("fast", fast resolver) or ("none", None)."""
    found = _KINDS.get(id(field_def))
    if found is None:
        kind, data = _classify(schema, type_, name, field_def)
        _KINDS[id(field_def)] = found = (field_def, kind, data)
    return found[1], found[2]


def _classify(schema: Any, type_: GraphQLObjectType, name: str, field_def: GraphQLField) -> tuple[str, Any]:
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    if strawberry_schema is None:
        return "none", None
    field = strawberry_schema.get_field_for_type(name, type_.name)
    if not isinstance(field, StrawberryField) or field.extensions:
        return "none", None
    if field.base_resolver is None:
        if getattr(field_def.resolve, "__name__", None) != "_get_basic_result":
            return "none", None  # e.g. field exception handlers wrap it
        default_resolver = strawberry_schema.config.default_resolver
        attribute = field.python_name
        if default_resolver is getattr:
            return "plain", operator.attrgetter(attribute)
        return "plain", lambda source: default_resolver(source, attribute)
    fast = getattr(field.base_resolver.wrapped_func, FAST_RESOLVER_ATTRIBUTE, None)
    if fast is None or field.arguments:
        return "none", None
    return "fast", fast
