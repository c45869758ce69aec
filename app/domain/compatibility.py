"""Version compatibility: the changes between two definitions, and which of them break stored activities."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.domain.activity_types import ActivityTypeDefinition, FieldSpec


class Rule(StrEnum):
    """Why a change is breaking; named in BREAKING_CHANGE errors."""

    FIELD_REMOVED = "FIELD_REMOVED"
    FIELD_RENAMED = "FIELD_RENAMED"
    DATA_TYPE_CHANGED = "DATA_TYPE_CHANGED"
    MADE_REQUIRED = "MADE_REQUIRED"
    REQUIRED_FIELD_ADDED = "REQUIRED_FIELD_ADDED"
    PRIMARY_FIELD_CHANGED = "PRIMARY_FIELD_CHANGED"
    CONSTRAINT_NARROWED = "CONSTRAINT_NARROWED"


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two definitions; `rule` is set when stored activities may no longer conform."""

    field: str | None
    message: str
    rule: Rule | None = None

    @property
    def breaking(self) -> bool:
        return self.rule is not None


def _narrowing(old: FieldSpec, new: FieldSpec) -> list[str]:
    """Constraints `new` adds or tightens compared with `old` (None = no limit)."""
    found = []
    if new.max_length is not None and (old.max_length is None or new.max_length < old.max_length):
        found.append(f"maxLength {old.max_length or 'default'} -> {new.max_length}")
    if new.min_value is not None and (old.min_value is None or new.min_value > old.min_value):
        found.append(f"minValue {old.min_value} -> {new.min_value}")
    if new.max_value is not None and (old.max_value is None or new.max_value < old.max_value):
        found.append(f"maxValue {old.max_value} -> {new.max_value}")
    if new.allowed_values is not None and (
        old.allowed_values is None or not set(new.allowed_values) >= set(old.allowed_values)
    ):
        dropped = sorted(set(old.allowed_values or ()) - set(new.allowed_values))
        found.append(f"allowedValues no longer allow {', '.join(dropped[:5])}" if dropped else "allowedValues added")
    return found


def _field_changes(old: FieldSpec, new: FieldSpec, path: str) -> list[Change]:
    label = f"Field '{new.api_name}'"
    if old.data_type is not new.data_type:
        return [Change(path, f"{label}: data type {old.data_type} -> {new.data_type}.", Rule.DATA_TYPE_CHANGED)]
    changes = []
    if new.required and not old.required:
        changes.append(Change(path, f"{label} became required.", Rule.MADE_REQUIRED))
    narrowed = _narrowing(old, new)
    if narrowed:
        changes.append(Change(path, f"{label}: {'; '.join(narrowed)}.", Rule.CONSTRAINT_NARROWED))
    if old.required and not new.required:
        changes.append(Change(path, f"{label} became optional."))
    if (old.name, old.description) != (new.name, new.description):
        changes.append(Change(path, f"{label}: name or description changed."))
    if not narrowed and (old.max_length, old.min_value, old.max_value, old.allowed_values) != (
        new.max_length,
        new.min_value,
        new.max_value,
        new.allowed_values,
    ):
        changes.append(Change(path, f"{label}: constraints widened."))
    return changes


def _same_but_name(a: FieldSpec, b: FieldSpec) -> bool:
    return (a.name, a.data_type) == (b.name, b.data_type)


def _path(d: ActivityTypeDefinition, api_name: str) -> str:
    return "primaryField" if d.primary_field.api_name == api_name else f"fields.{api_name}"


def diff(old: ActivityTypeDefinition, new: ActivityTypeDefinition) -> list[Change]:
    """What changed from `old` to `new`, breaking changes first."""
    changes: list[Change] = []
    for attr, label in (("name", "name"), ("trigger_name", "triggerName"), ("filter_name", "filterName")):
        if getattr(old, attr) != getattr(new, attr):
            changes.append(Change(label, f"{label} '{getattr(old, attr)}' -> '{getattr(new, attr)}'."))
    if old.description != new.description:
        changes.append(Change("description", "Description changed."))
    if old.primary_field.api_name != new.primary_field.api_name:
        message = f"Primary field '{old.primary_field.api_name}' -> '{new.primary_field.api_name}'."
        changes.append(Change("primaryField", message, Rule.PRIMARY_FIELD_CHANGED))
    # Fields are matched by apiName across primary and additional ones, so promoting a field to primary
    # is one change, not a removal plus an addition.
    old_fields = {f.api_name: f for f in (old.primary_field, *old.fields)}
    new_fields = {f.api_name: f for f in (new.primary_field, *new.fields)}
    added = [f for name, f in new_fields.items() if name not in old_fields]
    for name, spec in old_fields.items():
        path = _path(new, name)
        if name in new_fields:
            changes += _field_changes(spec, new_fields[name], path)
            continue
        renamed = next((f for f in added if _same_but_name(spec, f)), None)
        if renamed is not None:
            added.remove(renamed)
            message = f"Field apiName '{name}' -> '{renamed.api_name}'."
            changes.append(Change(path, message, Rule.FIELD_RENAMED))
            changes += [c for c in _field_changes(spec, renamed, path) if c.breaking]
        else:
            changes.append(Change(path, f"Field '{name}' removed.", Rule.FIELD_REMOVED))
    for spec in added:
        path = _path(new, spec.api_name)
        if spec.required:
            changes.append(Change(path, f"Required field '{spec.api_name}' added.", Rule.REQUIRED_FIELD_ADDED))
        else:
            changes.append(Change(path, f"Optional field '{spec.api_name}' added."))
    return sorted(changes, key=lambda c: not c.breaking)
