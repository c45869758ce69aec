"""Input objects built from a plan worked out once per type and schema, not field by field for every object.

Strawberry's `convert_argument` resolves each field's type and GraphQL name again for every input object it
builds: for recordActivities' 300 ActivityInputs that was ~60% of the call's API CPU (py-spy, bench load). The
plan does the same conversion (same None for absent fields without a default, the same lists, nested objects and
classes, Strawberry's own conversion for anything else at the same path), so results and errors are the same;
tests/api/execution/test_input_builders.py compares the two on every input type of the schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLSchema
from strawberry import UNSET

from app.api.execution.internals import (
    LEAF,
    LEAF_LIST,
    OBJECT,
    OBJECT_LIST,
    OTHER,
    InputField,
    convert_input,
    input_definitions,
    input_fields,
    install_from_input,
)


@dataclass(slots=True)
class Plan:
    """How to build one input class: its absent-field Nones and each field's conversion."""

    cls: type
    nones: dict[str, None] = field(default_factory=dict)
    fields: list[tuple[str, str, str, Any]] = field(default_factory=list)  # name, python name, shape, plan or type


# Plans of each enabled schema, by the id of its StrawberryConfig (the hook's context names the config, not the
# schema); the config is kept alive with them so its id is not reused.
_ENABLED: dict[int, tuple[object, dict[type, Plan]]] = {}


def enable(schema: Any, graphql_schema: GraphQLSchema) -> int:
    """Build the input objects of `schema` (a Strawberry schema and its graphql-core one) from plans; the number of
    input types that got one. Other schemas sharing the classes keep Strawberry's conversion (`_default`)."""
    config, registry = schema.config, schema.schema_converter.scalar_registry
    definitions = input_definitions(graphql_schema, build)
    fields = {d.origin: input_fields(d, config, registry) for d in definitions}
    plans = {cls: Plan(cls) for cls in fields}
    for cls, plan in plans.items():
        for f in fields[cls]:
            if f.none_when_absent:
                plan.nones[f.python_name] = None
            plan.fields.append(_step(f, plans))
    _ENABLED[id(config)] = (config, plans)
    for definition in definitions:
        install_from_input(definition, build)
    return len(plans)


def _step(f: InputField, plans: dict[type, Plan]) -> tuple[str, str, str, Any]:
    if f.shape in (OBJECT, OBJECT_LIST):
        child = plans.get(f.of) if f.of is not None else None
        if child is not None:
            return f.name, f.python_name, f.shape, child
        return f.name, f.python_name, OTHER, f.type  # a class without a plan: Strawberry builds it
    return f.name, f.python_name, f.shape, f.type


def build(cls: type, value: Mapping[str, Any], context: Any) -> Any:
    """The `from_input` hook of every planned input type."""
    enabled = _ENABLED.get(id(context.config))
    plan = enabled[1].get(cls) if enabled is not None else None
    if plan is None:
        return _default(cls, value, context)
    return _build(plan, value, context, context.path)


def _build(plan: Plan, value: Mapping[str, Any], context: Any, path: tuple[str | int, ...]) -> Any:
    kwargs: dict[str, Any] = dict(plan.nones)
    for name, python_name, shape, how in plan.fields:
        if name not in value:
            continue
        item = value[name]
        if item is None or item is UNSET or shape is LEAF:
            kwargs[python_name] = item
        elif shape is LEAF_LIST:
            kwargs[python_name] = list(item)  # a copy, as Strawberry makes: defaults are shared between requests
        elif shape is OBJECT:
            kwargs[python_name] = _build(how, item, context, (*path, name))
        elif shape is OBJECT_LIST:
            at = (*path, name)
            kwargs[python_name] = [None if x is None else _build(how, x, context, (*at, i)) for i, x in enumerate(item)]
        else:
            kwargs[python_name] = convert_input(item, how, context, (*path, name))
    return plan.cls(**kwargs)


def _default(cls: type, value: Mapping[str, Any], context: Any) -> Any:
    """What `convert_argument` does for a type without the hook: absent fields without a default are None, each
    present field converted at its path, then the class called with them."""
    definition: Any = cls.__strawberry_definition__  # type: ignore[attr-defined]
    fields = input_fields(definition, context.config, context.scalar_registry)
    kwargs: dict[str, Any] = {f.python_name: None for f in fields if f.none_when_absent}
    for f in fields:
        if f.name in value:
            kwargs[f.python_name] = convert_input(value[f.name], f.type, context, (*context.path, f.name))
    return cls(**kwargs)
