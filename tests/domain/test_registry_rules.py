"""Registry rules: identifiers, definition checks, lifecycle transitions, compatibility of versions, draft edits."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.domain.activity_types import ActivityTypeDefinition, FieldDataType, FieldSpec, TypeStatus
from app.domain.compatibility import Rule, diff
from app.domain.errors import DomainError, ErrorCode, Issue
from app.domain.registry_rules import Action, apply_field_changes, check_definition, promote_primary, transition
from app.domain.standard_types import STANDARD_TYPES

T = FieldDataType
LIMITS = {"max_fields": 100, "max_string_length": 255, "max_text_length": 65_536}


def deposit(*fields: FieldSpec) -> ActivityTypeDefinition:
    return ActivityTypeDefinition(
        api_name="depositCheck",
        name="Deposit Check",
        trigger_name="Deposits a Check",
        filter_name="Deposited a Check",
        primary_field=FieldSpec("branch", "Branch", T.STRING, required=True),
        fields=fields
        or (
            FieldSpec("amount", "Amount", T.CURRENCY, required=True, min_value=0),
            FieldSpec("currency", "Currency", T.STRING, allowed_values=("USD", "EUR")),
            FieldSpec("note", "Note", T.TEXT, max_length=500),
        ),
    )


def test_standard_types_are_valid_and_distinct() -> None:
    names = {"visitWebpage", "fillOutForm", "clickLink", "openEmail", "clickEmail", "emailDelivered", "newPerson"}
    assert names | {"changeDataValue"} <= {t.api_name for t in STANDARD_TYPES}
    for definition in STANDARD_TYPES:
        assert check_definition(definition, **LIMITS) == [], definition.api_name
    for attr in ("api_name", "name", "trigger_name", "filter_name"):
        values = [getattr(t, attr).lower() for t in STANDARD_TYPES]
        assert len(values) == len(set(values)), attr


@pytest.mark.parametrize("api_name", ["a", "depositCheck", "deposit_check_2", "A" * 64])
def test_good_identifiers(api_name: str) -> None:
    assert check_definition(replace(deposit(), api_name=api_name), **LIMITS) == []


@pytest.mark.parametrize("api_name", ["", "2fast", "_x", "has space", "dash-ed", "ünïcode", "A" * 65, "a.b"])
def test_bad_identifiers(api_name: str) -> None:
    issues = check_definition(replace(deposit(), api_name=api_name), **LIMITS)
    assert [(i.code, i.field) for i in issues] == [(ErrorCode.INVALID_IDENTIFIER, "apiName")]


def test_reserved_and_duplicate_field_names() -> None:
    d = deposit(FieldSpec("PersonEmail", "Who", T.EMAIL), FieldSpec("BRANCH", "Other", T.STRING))
    issues = check_definition(d, **LIMITS)
    assert [(i.code, i.field) for i in issues] == [
        (ErrorCode.INVALID_IDENTIFIER, "fields.PersonEmail.apiName"),
        (ErrorCode.DUPLICATE, "fields.BRANCH.apiName"),
    ]
    same_name = deposit(FieldSpec("a", "Label", T.STRING), FieldSpec("b", "label", T.STRING))
    assert [i.field for i in check_definition(same_name, **LIMITS)] == ["fields.b.name"]


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        (FieldSpec("x", "X", T.BOOLEAN, max_length=3), "fields.x.maxLength"),
        (FieldSpec("x", "X", T.STRING, max_length=0), "fields.x.maxLength"),
        (FieldSpec("x", "X", T.EMAIL, max_length=300), "fields.x.maxLength"),
        (FieldSpec("x", "X", T.DATE, min_value=1), "fields.x.minValue"),
        (FieldSpec("x", "X", T.INTEGER, min_value=1.5), "fields.x.minValue"),
        (FieldSpec("x", "X", T.INTEGER, max_value=2.0**64), "fields.x.maxValue"),
        (FieldSpec("x", "X", T.FLOAT, max_value=float("inf")), "fields.x.maxValue"),
        (FieldSpec("x", "X", T.FLOAT, min_value=2, max_value=1), "fields.x.minValue"),
        (FieldSpec("x", "X", T.STRING, allowed_values=()), "fields.x.allowedValues"),
        (FieldSpec("x", "X", T.STRING, max_length=2, allowed_values=("abc",)), "fields.x.allowedValues"),
        (FieldSpec("x", "X", T.BOOLEAN, allowed_values=("true",)), "fields.x.allowedValues"),
        (FieldSpec("x", " X", T.STRING), "fields.x.name"),
        (FieldSpec("x", "X", T.STRING, description="d" * 2001), "fields.x.description"),
    ],
)
def test_constraints_must_fit_the_type(spec: FieldSpec, path: str) -> None:
    assert [i.field for i in check_definition(deposit(spec), **LIMITS)] == [path]


def test_field_limit() -> None:
    many = tuple(FieldSpec(f"f{i}", f"F{i}", T.STRING) for i in range(4))
    issues = check_definition(deposit(*many), **{**LIMITS, "max_fields": 3})
    assert [(i.code, i.field) for i in issues] == [(ErrorCode.LIMIT_EXCEEDED, "fields")]


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        (TypeStatus.DRAFT, Action.CHANGE, TypeStatus.DRAFT),
        (TypeStatus.DRAFT, Action.APPROVE, TypeStatus.APPROVED),
        (TypeStatus.DRAFT, Action.DISCARD, ErrorCode.INVALID_STATE),
        (TypeStatus.DRAFT, Action.DELETE, TypeStatus.DELETED),
        (TypeStatus.APPROVED, Action.CHANGE, TypeStatus.APPROVED_WITH_DRAFT),
        (TypeStatus.APPROVED, Action.APPROVE, ErrorCode.NO_DRAFT),
        (TypeStatus.APPROVED, Action.DISCARD, ErrorCode.NO_DRAFT),
        (TypeStatus.APPROVED, Action.DELETE, TypeStatus.DELETED),
        (TypeStatus.APPROVED_WITH_DRAFT, Action.CHANGE, TypeStatus.APPROVED_WITH_DRAFT),
        (TypeStatus.APPROVED_WITH_DRAFT, Action.APPROVE, TypeStatus.APPROVED),
        (TypeStatus.APPROVED_WITH_DRAFT, Action.DISCARD, TypeStatus.APPROVED),
        (TypeStatus.APPROVED_WITH_DRAFT, Action.DELETE, TypeStatus.DELETED),
        *[(TypeStatus.DELETED, a, ErrorCode.NOT_FOUND) for a in Action],
    ],
)
def test_transitions(status: TypeStatus, action: Action, expected: TypeStatus | ErrorCode) -> None:
    result = transition(status, action, "depositCheck")
    assert (result.code if isinstance(result, Issue) else result) == expected


def rules(old: ActivityTypeDefinition, new: ActivityTypeDefinition) -> list[Rule | None]:
    return [c.rule for c in diff(old, new)]


def test_compatibility_rules() -> None:
    old = deposit()
    amount, currency, note = old.fields
    assert diff(old, old) == []
    assert rules(old, replace(old, fields=(amount, currency))) == [Rule.FIELD_REMOVED]
    assert rules(old, replace(old, fields=(amount, currency, replace(note, api_name="remark")))) == [
        Rule.FIELD_RENAMED
    ]
    assert rules(old, replace(old, fields=(replace(amount, data_type=T.FLOAT), currency, note))) == [
        Rule.DATA_TYPE_CHANGED
    ]
    assert rules(old, replace(old, fields=(amount, currency, replace(note, required=True)))) == [Rule.MADE_REQUIRED]
    required = FieldSpec("teller", "Teller", T.STRING, required=True)
    assert rules(old, replace(old, fields=(*old.fields, required))) == [Rule.REQUIRED_FIELD_ADDED]
    assert rules(old, promote_primary(old, "currency")) == [Rule.PRIMARY_FIELD_CHANGED]
    for narrowed in (
        replace(note, max_length=100),
        replace(amount, min_value=1),
        replace(amount, max_value=10),
        replace(currency, allowed_values=("USD",)),
        replace(currency, max_length=3),
    ):
        fields = tuple(narrowed if f.api_name == narrowed.api_name else f for f in old.fields)
        assert rules(old, replace(old, fields=fields)) == [Rule.CONSTRAINT_NARROWED], narrowed
    primary_narrowed = replace(old, primary_field=replace(old.primary_field, max_length=5))
    assert rules(old, primary_narrowed) == [Rule.CONSTRAINT_NARROWED]


def test_additive_changes_are_not_breaking() -> None:
    old = deposit()
    amount, currency, note = old.fields
    for new in (
        replace(old, name="Deposit", description="more", trigger_name="T", filter_name="F"),
        replace(old, fields=(*old.fields, FieldSpec("teller", "Teller", T.STRING))),
        replace(old, fields=(replace(amount, required=False, min_value=None), currency, note)),
        replace(old, fields=(amount, replace(currency, allowed_values=("USD", "EUR", "GBP")), note)),
        replace(old, fields=(amount, replace(currency, allowed_values=None), replace(note, max_length=5000))),
        replace(old, fields=(amount, currency, replace(note, name="Remark", description="why"))),
    ):
        changes = diff(old, new)
        assert changes and not any(c.breaking for c in changes), changes


def test_field_edits() -> None:
    d = deposit()
    changed = apply_field_changes(d, "note", {"max_length": None, "required": None, "name": "Remark"})
    assert changed.fields[2] == replace(d.fields[2], max_length=None, name="Remark")
    # A type change drops constraints the new type cannot have.
    retyped = apply_field_changes(d, "currency", {"data_type": T.INTEGER})
    assert retyped.fields[1] == FieldSpec("currency", "Currency", T.INTEGER)
    assert apply_field_changes(d, "primary", {"name": "Where"}).primary_field.name == "Where"
    assert apply_field_changes(d, "BRANCH", {"required": False}).primary_field.required is False
    with pytest.raises(DomainError) as missing:
        apply_field_changes(d, "ghost", {"name": "x"})
    assert missing.value.issues[0].code is ErrorCode.NOT_FOUND
    promoted = promote_primary(d, "currency")
    assert promoted.primary_field.api_name == "currency"
    assert [f.api_name for f in promoted.fields] == ["amount", "branch", "note"]
    assert promote_primary(d, "branch") == d
