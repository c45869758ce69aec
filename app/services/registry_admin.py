"""Changing the activity-type registry: create, draft changes, approve, discard, delete (each one transaction)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Concatenate, ParamSpec

from sqlalchemy import func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import registry_repo as repo
from app.db.ingestion_repo import in_session
from app.db.tables import ActivityTypeRow
from app.domain.access import Principal
from app.domain.activity_types import PRIMARY, ActivityTypeDefinition, FieldSpec, TypeStatus
from app.domain.compatibility import diff
from app.domain.errors import DomainError, ErrorCode, Issue
from app.domain.registry_model import ActivityTypeSnapshot
from app.domain.registry_rules import Action, apply_field_changes, check_definition, promote_primary, transition
from app.services.audit import record
from app.services.runtime import Resources
from app.settings import Limits

_CREATE_LOCK = 0x41435459  # advisory lock serialising creates so the type limit cannot be raced past
P = ParamSpec("P")
Change = Callable[Concatenate[AsyncSession, Principal, Limits, P], Awaitable[ActivityTypeSnapshot]]


def _transaction(change: Change[P]) -> Callable[Concatenate[Resources, Principal, P], Awaitable[ActivityTypeSnapshot]]:
    """A change as callers see it: `change(resources, actor, ...)`, run in a session of its own.

    The function below it is written against that session (and the deployment's limits); it commits once, at
    the end, with its audit entry (`_commit`).
    """

    @functools.wraps(change)
    async def run(resources: Resources, actor: Principal, /, *args: P.args, **kwargs: P.kwargs) -> ActivityTypeSnapshot:
        async with resources.db.session() as session:
            return await change(session, actor, resources.settings.limits, *args, **kwargs)

    return run


def _check(definition: ActivityTypeDefinition, limits: Limits) -> None:
    issues = check_definition(
        definition,
        max_fields=limits.max_fields_per_type,
        max_string_length=limits.max_string_length,
        max_text_length=limits.max_text_length,
    )
    if issues:
        raise DomainError(issues)


async def _check_names(session: AsyncSession, d: ActivityTypeDefinition, exclude_id: int | None) -> None:
    taken = await repo.conflicts(
        session, exclude_id=exclude_id, name=d.name, trigger_name=d.trigger_name, filter_name=d.filter_name
    )
    if taken:
        values = {"name": d.name, "triggerName": d.trigger_name, "filterName": d.filter_name}
        raise DomainError(
            [
                Issue(ErrorCode.DUPLICATE, attr, f"{attr} '{values[attr]}' is already used by type '{other}'.")
                for attr, other in taken.items()
            ]
        )


async def _commit(session: AsyncSession, row: ActivityTypeRow) -> ActivityTypeSnapshot:
    try:
        await session.commit()
    except IntegrityError as exc:  # a concurrent change took a name between our check and the write
        await session.rollback()
        raise DomainError.of(
            ErrorCode.DUPLICATE, "Another type took one of these names at the same time; pick another.", "name"
        ) from exc
    await session.refresh(row)
    return (await repo.snapshots(session, [row]))[0]


async def _locked(session: AsyncSession, api_name: str) -> tuple[ActivityTypeRow, ActivityTypeSnapshot]:
    """The type, locked for this transaction; NOT_FOUND if missing or deleted, READ_ONLY if standard."""
    row = await repo.row_by_api_name(session, api_name, for_update=True)
    if row is None or row.deleted_at is not None:
        what = "was deleted" if row is not None else "does not exist"
        raise DomainError.of(ErrorCode.NOT_FOUND, f"Activity type '{api_name}' {what}.", "apiName")
    if row.is_system:
        raise DomainError.of(
            ErrorCode.READ_ONLY, f"'{row.api_name}' is a standard type and cannot be changed.", "apiName"
        )
    return row, (await repo.snapshots(session, [row]))[0]


def _next(status: TypeStatus, action: Action, api_name: str) -> TypeStatus:
    result = transition(status, action, api_name)
    if isinstance(result, Issue):
        raise DomainError([result])
    return result


@_transaction
async def create(
    session: AsyncSession, actor: Principal, limits: Limits, definition: ActivityTypeDefinition
) -> ActivityTypeSnapshot:
    """A new type in DRAFT; it accepts activities once approved."""
    _check(definition, limits)
    await (await session.connection()).execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CREATE_LOCK})
    existing = await repo.row_by_api_name(session, definition.api_name)
    if existing is not None:
        reason = "a deleted type used it (apiNames are never reused)" if existing.deleted_at else "it exists"
        raise DomainError.of(
            ErrorCode.DUPLICATE, f"apiName '{definition.api_name}' is taken: {reason}.", "apiName"
        )
    await _check_names(session, definition, None)
    if await repo.count_custom_types(session) >= limits.max_activity_types:
        raise DomainError.of(
            ErrorCode.LIMIT_EXCEEDED,
            f"This deployment allows at most {limits.max_activity_types} custom activity types; "
            "delete an unused one or raise ACTIVITIES_LIMITS__MAX_ACTIVITY_TYPES.",
            "apiName",
        )
    row = ActivityTypeRow(
        api_name=definition.api_name,
        name=definition.name,
        trigger_name=definition.trigger_name,
        filter_name=definition.filter_name,
        status=TypeStatus.DRAFT.value,
        draft=definition.to_json(),
    )
    session.add(row)
    await record(session, actor, "activityType.create", definition.api_name, {"definition": definition.to_json()})
    return await _commit(session, row)


async def _save_draft(
    session: AsyncSession,
    actor: Principal,
    limits: Limits,
    row: ActivityTypeRow,
    before: ActivityTypeSnapshot,
    draft: ActivityTypeDefinition,
    action: str,
    details: Mapping[str, Any],
) -> ActivityTypeSnapshot:
    status = _next(before.status, Action.CHANGE, before.api_name)
    _check(draft, limits)
    await _check_names(session, draft, before.id)
    if before.live is not None and draft == before.live:
        # The draft was changed back to the live definition: nothing is pending any more.
        row.draft, row.status = None, TypeStatus.APPROVED.value
    else:
        row.draft, row.status = draft.to_json(), status.value
    row.name, row.trigger_name, row.filter_name = draft.name, draft.trigger_name, draft.filter_name
    row.updated_at = func.now()  # type: ignore[assignment]
    session.add(row)
    await record(session, actor, action, before.api_name, dict(details))
    return await _commit(session, row)


@_transaction
async def update(
    session: AsyncSession, actor: Principal, limits: Limits, api_name: str, changes: Mapping[str, Any]
) -> ActivityTypeSnapshot:
    """Change name, description, triggerName, filterName or which field is primary (in the draft)."""
    row, before = await _locked(session, api_name)
    draft = before.latest
    simple = {k: v for k, v in changes.items() if k in ("name", "description", "trigger_name", "filter_name")}
    draft = draft.with_changes(**simple)
    if changes.get("primary_field") is not None:
        draft = promote_primary(draft, changes["primary_field"])
    return await _save_draft(session, actor, limits, row, before, draft, "activityType.update", _jsonable(changes))


@_transaction
async def add_fields(
    session: AsyncSession, actor: Principal, limits: Limits, api_name: str, fields: Sequence[FieldSpec]
) -> ActivityTypeSnapshot:
    row, before = await _locked(session, api_name)
    draft = before.latest
    draft = draft.with_changes(fields=(*draft.fields, *fields))
    details = {"fields": [f.to_json() for f in fields]}
    return await _save_draft(session, actor, limits, row, before, draft, "activityType.addFields", details)


@_transaction
async def update_field(
    session: AsyncSession, actor: Principal, limits: Limits, api_name: str, field: str, changes: Mapping[str, Any]
) -> ActivityTypeSnapshot:
    row, before = await _locked(session, api_name)
    draft = apply_field_changes(before.latest, field, changes)
    details = {"field": field, "changes": _jsonable(changes)}
    return await _save_draft(session, actor, limits, row, before, draft, "activityType.updateField", details)


@_transaction
async def remove_field(
    session: AsyncSession, actor: Principal, limits: Limits, api_name: str, field: str
) -> ActivityTypeSnapshot:
    row, before = await _locked(session, api_name)
    draft = before.latest
    if field in (PRIMARY, draft.primary_field.api_name):
        raise DomainError.of(
            ErrorCode.INVALID, "The primary field cannot be removed; promote another field first.", "field"
        )
    kept = tuple(f for f in draft.fields if f.api_name != field)
    if len(kept) == len(draft.fields):
        raise DomainError.of(ErrorCode.NOT_FOUND, f"'{api_name}' has no field '{field}'.", "field")
    draft = draft.with_changes(fields=kept)
    details = {"field": field}
    return await _save_draft(session, actor, limits, row, before, draft, "activityType.removeField", details)


@_transaction
async def approve(session: AsyncSession, actor: Principal, limits: Limits, api_name: str) -> ActivityTypeSnapshot:
    """Make the draft the new live version, unless it breaks activities already recorded."""
    row, before = await _locked(session, api_name)
    _next(before.status, Action.APPROVE, before.api_name)
    draft = before.latest
    _check(draft, limits)
    changes = diff(before.live, draft) if before.live is not None else []
    breaking = [c for c in changes if c.breaking]
    if breaking and await repo.is_used(session, before.id):
        raise DomainError(
            [
                Issue(
                    ErrorCode.BREAKING_CHANGE,
                    c.field,
                    f"{c.rule}: {c.message} Activities already recorded with '{before.api_name}' could no longer "
                    "conform. Make the change additive (e.g. add a new optional field instead), or discard the draft.",
                )
                for c in breaking
            ]
        )
    number = (before.version or 0) + 1
    session.add(repo.new_version(before.id, number, draft, f"{actor.name} ({actor.id})"))
    row.current_version, row.draft, row.status = number, None, TypeStatus.APPROVED.value
    row.updated_at = func.now()  # type: ignore[assignment]
    session.add(row)
    details = {"version": number, "changes": [c.message for c in changes]}
    await record(session, actor, "activityType.approve", before.api_name, details)
    return await _commit(session, row)


@_transaction
async def discard_draft(
    session: AsyncSession, actor: Principal, _limits: Limits, api_name: str
) -> ActivityTypeSnapshot:
    """Drop pending changes; the live version's names take their place again."""
    row, before = await _locked(session, api_name)
    _next(before.status, Action.DISCARD, before.api_name)
    assert before.live is not None
    live = before.live
    try:
        await _check_names(session, live, before.id)
    except DomainError as exc:
        raise DomainError(
            [
                Issue(
                    i.code,
                    i.field,
                    f"{i.message} The draft renamed this type and the old value was taken since; "
                    "rename that type, or approve this draft.",
                )
                for i in exc.issues
            ]
        ) from exc
    row.name, row.trigger_name, row.filter_name = live.name, live.trigger_name, live.filter_name
    row.draft, row.status = None, TypeStatus.APPROVED.value
    row.updated_at = func.now()  # type: ignore[assignment]
    session.add(row)
    await record(session, actor, "activityType.discardDraft", before.api_name, {})
    return await _commit(session, row)


@_transaction
async def delete(session: AsyncSession, actor: Principal, _limits: Limits, api_name: str) -> ActivityTypeSnapshot:
    """Soft-delete: the type stops accepting activities; refused while activities or jobs depend on it."""
    row, before = await _locked(session, api_name)
    _next(before.status, Action.DELETE, before.api_name)
    issues = []
    if await repo.is_used(session, before.id):
        issues.append(
            Issue(
                ErrorCode.IN_USE,
                "apiName",
                f"Activities of type '{before.api_name}' are stored; deleting the type would orphan them. "
                "Keep the type (it can stay unused), or erase those activities first (e.g. with deletePerson).",
            )
        )
    jobs = await in_session.active_naming_type(session, before.api_name)
    if jobs:
        issues.append(
            Issue(
                ErrorCode.IN_USE,
                "apiName",
                f"Queued or running ingestion jobs use '{before.api_name}' ({', '.join(jobs)}). "
                "Wait for them to finish or cancel them with cancelIngestionJob, then delete again.",
            )
        )
    if issues:
        raise DomainError(issues)
    row.status = TypeStatus.DELETED.value
    if before.live is not None:  # a never-approved type keeps its draft: it is the only definition it has
        row.draft = None
    row.deleted_at = func.now()  # type: ignore[assignment]
    row.updated_at = func.now()  # type: ignore[assignment]
    session.add(row)
    await record(session, actor, "activityType.delete", before.api_name, {})
    return await _commit(session, row)


def _jsonable(changes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else str(v) if hasattr(v, "value") else v for k, v in changes.items()}
