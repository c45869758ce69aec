"""Generated Python for synchronous object selections: attribute reads and inline completion, compiled once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from graphql.type.scalars import GRAPHQL_MAX_INT, GRAPHQL_MIN_INT, serialize_int
from strawberry.schema.types.base_scalars import isoformat

from app.api.compiled.registry import FALLBACK, Call, CompiledField, Selection
from app.api.compiled.values import Built, check, inert
from app.api.fast_execution import INERT_CLASSES, SELF_COERCING

Getter = Callable[[Any, Call], Any]


@dataclass(frozen=True, slots=True)
class Entry:
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


def generate(entries: list[Entry], type_name: str, single: bool = False) -> Getter:
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


def passes(type_: Any) -> str | None:
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
