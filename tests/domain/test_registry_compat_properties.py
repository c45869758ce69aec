"""Soundness of the compatibility rules: if a change is not breaking, every record valid before stays valid."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app.domain.activity_types import ActivityTypeDefinition, FieldDataType, FieldSpec
from app.domain.compatibility import diff
from app.domain.registry_rules import check_definition
from app.domain.validation import ValidatedRecord, compile_validator

T = FieldDataType
NUMERIC = (T.INTEGER, T.FLOAT, T.CURRENCY)
POOL: dict[FieldDataType, st.SearchStrategy[Any]] = {
    T.STRING: st.sampled_from(["a", "b", "c", "abcdefgh", "x" * 40]),
    T.TEXT: st.sampled_from(["a", "b", "long " * 20]),
    T.BOOLEAN: st.booleans(),
    T.INTEGER: st.integers(-20, 20),
    T.FLOAT: st.floats(-20, 20),
    T.CURRENCY: st.integers(-20, 20),
    T.DATE: st.sampled_from(["2026-01-01", "1999-12-31"]),
    T.DATETIME: st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-01T01:00:00+01:00"]),
    T.EMAIL: st.sampled_from(["a@b.co", "long.name@example.com"]),
    T.LINK: st.sampled_from(["https://e.com/", "http://example.org/a/very/long/path"]),
    T.PHONE: st.sampled_from(["+1 555 0100", "5550100"]),
}
small = st.one_of(st.none(), st.integers(-10, 10).map(float))


@st.composite
def fields(draw: st.DrawFn, api_name: str) -> FieldSpec:
    kind = draw(st.sampled_from(list(FieldDataType)))
    spec = FieldSpec(api_name, api_name.upper(), kind, required=draw(st.booleans()))
    if kind in (T.STRING, T.TEXT):
        spec = replace(spec, max_length=draw(st.one_of(st.none(), st.integers(1, 50))))
    if kind is T.STRING and draw(st.booleans()):
        spec = replace(spec, allowed_values=tuple(draw(st.sets(st.sampled_from("abc"), min_size=1))))
    if kind in NUMERIC:
        low, high = sorted([draw(small) or 0.0, draw(small) or 0.0])
        low_or_none, high_or_none = draw(st.sampled_from([None, low])), draw(st.sampled_from([None, high]))
        spec = replace(spec, min_value=low_or_none, max_value=high_or_none)
    return spec


@st.composite
def definitions(draw: st.DrawFn) -> ActivityTypeDefinition:
    names = draw(st.lists(st.sampled_from(["p", "f1", "f2", "f3", "f4"]), min_size=1, max_size=4, unique=True))
    specs = [draw(fields(n)) for n in names]
    return ActivityTypeDefinition("t", "T", "Does T", "Did T", specs[0], fields=tuple(specs[1:]))


@st.composite
def edited(draw: st.DrawFn, d: ActivityTypeDefinition) -> ActivityTypeDefinition:
    """`d` after one to three random admin edits (some additive, some breaking)."""
    for _ in range(draw(st.integers(1, 3))):
        specs = [d.primary_field, *d.fields]
        index = draw(st.integers(0, len(specs) - 1))
        spec = specs[index]
        edits = ["constraint", "length", "range", "required", "type", "add", "remove", "rename", "promote", "text"]
        edit = draw(st.sampled_from(edits))
        if edit == "length" and spec.data_type in (T.STRING, T.TEXT):
            specs[index] = replace(spec, max_length=draw(st.one_of(st.none(), st.integers(1, 50))))
        elif edit == "range" and spec.data_type in NUMERIC:
            specs[index] = replace(spec, min_value=draw(small), max_value=draw(small))
        elif edit == "constraint":
            regenerated = draw(fields(spec.api_name))
            if regenerated.data_type is spec.data_type:
                specs[index] = replace(regenerated, required=spec.required, name=spec.name)
        elif edit == "required":
            specs[index] = replace(spec, required=not spec.required)
        elif edit == "type":
            specs[index] = draw(fields(spec.api_name))
        elif edit == "add":
            specs.append(draw(fields(f"n{len(specs)}")))
        elif edit == "remove" and index > 0:
            del specs[index]
        elif edit == "rename" and index > 0:
            specs[index] = replace(spec, api_name=f"r{index}")
        elif edit == "promote":
            specs[0], specs[index] = specs[index], specs[0]
        elif edit == "text":
            specs[index] = replace(spec, name=spec.name + "x", description="changed")
        d = replace(d, primary_field=specs[0], fields=tuple(specs[1:]))
    return d


def valid(d: ActivityTypeDefinition) -> bool:
    return check_definition(d, max_fields=10, max_string_length=255, max_text_length=65_536) == []


@st.composite
def records(draw: st.DrawFn, d: ActivityTypeDefinition) -> tuple[Any, dict[str, Any]]:
    def value(spec: FieldSpec) -> Any:
        choice = POOL[spec.data_type] if spec.required else st.one_of(st.none(), POOL[spec.data_type])
        return draw(choice)

    primary = value(d.primary_field)
    values = {f.api_name: value(f) for f in d.fields}
    return primary, {k: v for k, v in values.items() if v is not None}


@settings(deadline=None, max_examples=600, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.data())
def test_non_breaking_changes_keep_old_records_valid(data: st.DataObject) -> None:
    old = data.draw(definitions())
    new = data.draw(edited(old))
    assume(valid(old) and valid(new))
    assume(not any(c.breaking for c in diff(old, new)))
    primary, values = data.draw(records(old))
    before = compile_validator(old).validate(primary, values)
    assume(isinstance(before, ValidatedRecord))
    after = compile_validator(new).validate(primary, values)
    assert isinstance(after, ValidatedRecord), (old, new, primary, values, after)
