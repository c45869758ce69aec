"""GraphQL enums over domain enums, with a description for every value (the domain stays free of Strawberry)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar

import strawberry

E = TypeVar("E", bound=type[Enum])


def described_enum(cls: E, *, name: str, description: str, values: Mapping[str, str]) -> E:
    """`strawberry.enum(cls)` plus one description per value; a value left out (or one that does not exist) fails
    at import, so a new domain value cannot reach the schema undocumented."""
    wrapped = strawberry.enum(cls, name=name, description=description)
    definition: Any = wrapped.__strawberry_definition__  # type: ignore[attr-defined]
    names = {value.name for value in definition.values}
    if names != set(values):
        raise ValueError(f"{name}: describe exactly its values; missing {names - set(values)}, "
                         f"unknown {set(values) - names}")
    for value in definition.values:
        value.description = values[value.name]
    return wrapped
