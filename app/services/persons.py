"""Persons: batch upsert matched by id, email (case-insensitive) or external id; lookup; GDPR erasure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import person_repo as repo
from app.domain.access import Principal
from app.domain.activities import Person
from app.domain.cursors import decode_id_cursor
from app.domain.emails import email_issue
from app.domain.errors import DomainError, ErrorCode, Issue
from app.services import audit
from app.services.exports.erasure import mark_for_erasure
from app.services.exports.jobs import forget_files
from app.services.runtime import Resources

MAX_TEXT = 255


@dataclass(frozen=True, slots=True)
class PersonUpsert:
    """One item of a batch: identifiers to match on, attributes to set (None = leave as is)."""

    id: int | None = None
    email: str | None = None
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    clear: frozenset[str] = frozenset()  # "first_name"/"last_name" explicitly set to null


@dataclass
class UpsertResult:
    """The outcome of one item, in input order."""

    person: Person | None = None
    created: bool = False
    issues: list[Issue] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Erasure:
    """What a GDPR erasure removed."""

    person_id: int
    activities_deleted: int
    rejections_deleted: int


def _check(item: PersonUpsert, path: str) -> list[Issue]:
    issues: list[Issue] = []
    if item.id is None and not item.email and not item.external_id:
        issues.append(Issue(ErrorCode.REQUIRED, path, "Give an id, an email or an externalId."))
    if item.email is not None:
        email = email_issue(item.email, f"{path}.email")
        if email is not None:
            issues.append(email)
    for name, value in (("externalId", item.external_id), ("firstName", item.first_name), ("lastName", item.last_name)):
        if value is not None and len(value) > MAX_TEXT:
            issues.append(Issue(ErrorCode.TOO_LONG, f"{path}.{name}", f"At most {MAX_TEXT} characters."))
    if item.external_id == "":
        issues.append(Issue(ErrorCode.TOO_SHORT, f"{path}.externalId", "Must not be empty."))
    return issues


class _Index:
    """The batch's view of matching persons, kept current as items are written."""

    def __init__(self, persons: Sequence[Person]) -> None:
        self.by_id: dict[int, Person] = {}
        self.by_email: dict[str, int] = {}
        self.by_ext: dict[str, int] = {}
        for p in persons:
            self.put(p)

    def put(self, person: Person, old: Person | None = None) -> None:
        if old is not None:
            if old.email:
                self.by_email.pop(old.email.lower(), None)
            if old.external_id:
                self.by_ext.pop(old.external_id, None)
        self.by_id[person.id] = person
        if person.email:
            self.by_email[person.email.lower()] = person.id
        if person.external_id:
            self.by_ext[person.external_id] = person.id


async def upsert(resources: Resources, items: Sequence[PersonUpsert]) -> list[UpsertResult]:
    """Create or update each item in one transaction; an item's errors never affect the others."""
    limit = resources.settings.limits.max_persons_per_upsert
    if len(items) > limit:
        raise DomainError.of(ErrorCode.LIMIT_EXCEEDED, f"At most {limit} persons per call.", "persons")
    for attempt in range(2):
        try:
            async with resources.db.session() as session, session.begin():
                return await _upsert(session, items)
        except IntegrityError:
            # A concurrent writer created one of these persons first; a second pass matches it instead.
            if attempt:
                raise
    raise AssertionError("unreachable")


async def _upsert(session: AsyncSession, items: Sequence[PersonUpsert]) -> list[UpsertResult]:
    found = await repo.find(
        session,
        ids=[i.id for i in items if i.id is not None],
        emails=[i.email for i in items if i.email],
        external_ids=[i.external_id for i in items if i.external_id],
        lock=True,
    )
    index = _Index(found)
    results: list[UpsertResult] = []
    for n, item in enumerate(items):
        path = f"persons.{n}"
        issues = _check(item, path)
        results.append(UpsertResult(issues=issues) if issues else await _apply(session, index, item, path))
    return results


async def _apply(session: AsyncSession, index: _Index, item: PersonUpsert, path: str) -> UpsertResult:
    matched: set[int] = set()
    if item.id is not None:
        if item.id not in index.by_id:
            return UpsertResult(issues=[Issue(ErrorCode.PERSON_NOT_FOUND, f"{path}.id", "No person has this id.")])
        matched.add(item.id)
    by_email = index.by_email.get(item.email.lower()) if item.email else None
    by_ext = index.by_ext.get(item.external_id) if item.external_id else None
    if not matched:
        matched.update(x for x in (by_email, by_ext) if x is not None)
    if len(matched) > 1:
        return UpsertResult(
            issues=[Issue(ErrorCode.AMBIGUOUS_PERSON, path, "The email and externalId belong to different persons.")]
        )
    target = index.by_id[matched.pop()] if matched else None
    conflicts = []
    if by_email is not None and (target is None or by_email != target.id):
        conflicts.append(Issue(ErrorCode.CONFLICT, f"{path}.email", "Another person has this email."))
    if by_ext is not None and (target is None or by_ext != target.id):
        conflicts.append(Issue(ErrorCode.CONFLICT, f"{path}.externalId", "Another person has this externalId."))
    if conflicts:
        return UpsertResult(issues=conflicts)
    values: dict[str, Any] = {
        k: v
        for k, v in (
            ("email", item.email),
            ("external_id", item.external_id),
            ("first_name", item.first_name),
            ("last_name", item.last_name),
        )
        if v is not None
    }
    values.update(dict.fromkeys(item.clear))
    if target is None:
        person = await repo.insert(session, values)
        index.put(person)
        return UpsertResult(person=person, created=True)
    if item.email and target.email and item.email.lower() == target.email.lower():
        values.pop("email")  # matched on it: keep the stored spelling
    changed = {k: v for k, v in values.items() if getattr(target, k) != v}
    if not changed:
        return UpsertResult(person=target)
    person = await repo.update_person(session, target, changed)
    index.put(person, old=target)
    return UpsertResult(person=person)


async def get(
    resources: Resources, *, person_id: int | None = None, email: str | None = None, external_id: str | None = None
) -> Person | None:
    """The person with exactly one of the given identifiers, or None."""
    given = [x for x in (person_id, email, external_id) if x is not None]
    if len(given) != 1:
        raise DomainError.of(ErrorCode.INVALID, "Give exactly one of id, email or externalId.", "id")
    key = "id" if person_id is not None else "email" if email is not None else "external_id"
    async with resources.db.raw() as conn:
        return await repo.lookup(conn, key, given[0])


async def load_by_ids(resources: Resources, ids: Sequence[int]) -> list[Person | None]:
    """DataLoader batch function: persons in the order of `ids` (None where missing)."""
    async with resources.db.session() as session:
        found = await repo.by_ids(session, ids)
    return [found.get(i) for i in ids]


async def page(resources: Resources, *, first: int, after: str | None, search: str | None) -> tuple[list[Person], bool]:
    """A keyset page of persons by id, and whether more follow."""
    after_id = decode_id_cursor(after, "after") if after is not None else None
    async with resources.db.session() as session:
        rows = await repo.page(session, after_id=after_id, limit=first + 1, search=search)
    return rows[:first], len(rows) > first


async def erase(resources: Resources, actor: Principal, person_id: int) -> Erasure:
    """Delete the person and everything recorded about them, in one audited transaction."""
    async with resources.db.session() as session, session.begin():
        found = await repo.find(session, ids=[person_id], lock=True)
        if not found:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No person has this id.", "id")
        activities, rejections = await repo.erase(session, found[0])
        export_files = await mark_for_erasure(session, found[0])
        # Identifiers stay out of the audit log: it must not keep what the erasure removed.
        await audit.record(
            session,
            actor,
            "person.erase",
            f"person:{person_id}",
            {"activitiesDeleted": activities, "rejectionsDeleted": rejections},
        )
    await forget_files(resources, export_files)  # after the commit: marked ERASED, a download already answers 410
    return Erasure(person_id=person_id, activities_deleted=activities, rejections_deleted=rejections)
