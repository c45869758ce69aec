"""Generated Python for synchronous object selections: attribute reads and inline completion, compiled once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from app.api.execution.compiled.registry import Call, CompiledField, Selection
from app.api.execution.compiled.values import Built
from app.api.execution.completion import FALLBACK, JSON_PASSED, check, inert
from app.api.execution.field_kinds import MISSING

Getter = Callable[[Any, Call], Any]


@dataclass(frozen=True, slots=True)
class Entry:
    """One response key of an object: how to read the field's value, and how to complete it."""

    response_name: str
    child: Built | None  # None for __typename
    constant: str | None = None  # __typename
    attribute: str | None = None  # a plain attribute read inline ("": the source itself, a row: see RowReaders)
    accessor: Callable[[Any], Any] | None = None  # any other plain field
    fast: Callable[[Any, Any], Any] | None = None  # a fast resolver, called with (source, context)
    resolver: CompiledField | None = None  # always asynchronous
    arguments: Callable[[Call], dict[str, Any]] | None = None
    selection: Selection | None = None

    @property
    def is_async(self) -> bool:
        return self.resolver is not None or bool(self.child and self.child.is_async)


def generate(entries: list[Entry], type_name: str, single: bool = False) -> Getter:
    """Python source for a synchronous object completer (or, `single`, one field's completed value), compiled once.

    Per field: read the attribute (or call the accessor / fast resolver), then complete it inline: leaves that
    complete as themselves pass, None is allowed only where the type is nullable, objects and lists of objects are
    checked and completed in place, everything else goes through the field's completer. Anything graphql-core
    would report as an error raises FALLBACK.
    """
    namespace: dict[str, Any] = {"FALLBACK": FALLBACK, "INERT": inert, "check": check, "MISSING": MISSING}
    namespace.update(DATETIME=datetime, UTC=UTC, JSON_PASSED=JSON_PASSED)
    lines = ["def complete(src, call):"]
    for i, entry in enumerate(entries):
        v = f"v{i}"
        if entry.constant is not None:
            lines.append(f"    {v} = {entry.constant!r}")
            continue
        child = entry.child
        assert child is not None and entry.resolver is None, "compiled fields are asynchronous: see _async_object"
        if entry.attribute is not None:
            lines.append(f"    {v} = src.{entry.attribute}" if entry.attribute else f"    {v} = src")
        elif entry.fast is not None:
            namespace[f"f{i}"] = entry.fast
            lines.extend((f"    {v} = f{i}(src, call.context)", f"    if {v} is MISSING:", "        raise FALLBACK"))
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
