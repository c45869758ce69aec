"""Resolve the person references of one chunk in bulk (id, email case-insensitive, externalId)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.db import person_repo
from app.db.raw_pool import Connection
from app.domain.errors import ErrorCode, Issue
from app.domain.ingestion_rows import PersonRef


class _Index:
    def __init__(self, rows: Sequence[Any]) -> None:
        self.by_id = {r["id"]: r["id"] for r in rows}
        self.by_email = {r["email"]: r["id"] for r in rows if r["email"] is not None}
        self.by_ext = {r["external_id"]: r["id"] for r in rows if r["external_id"] is not None}

    def match(self, ref: PersonRef) -> int | Issue | None:
        if ref.id is None and ref.external_id is None and ref.email is not None:  # by email alone: most rows
            return self.by_email.get(ref.email.lower())
        found: set[int] = set()
        if ref.id is not None:
            if ref.id not in self.by_id:
                return Issue(ErrorCode.PERSON_NOT_FOUND, "person.id", f"No person with id {ref.id}.")
            found.add(ref.id)
        if ref.external_id is not None and ref.external_id in self.by_ext:
            found.add(self.by_ext[ref.external_id])
        if ref.email is not None and ref.email.lower() in self.by_email:
            found.add(self.by_email[ref.email.lower()])
        if len(found) > 1:
            return Issue(ErrorCode.AMBIGUOUS_PERSON, "person",
                         "The id, email and externalId given name different persons.")
        return found.pop() if found else None


async def _find(conn: Connection, refs: Sequence[PersonRef], *, lock: bool) -> _Index:
    ids = list({r.id for r in refs if r.id is not None})
    emails = list({r.email.lower() for r in refs if r.email is not None})
    exts = list({r.external_id for r in refs if r.external_id is not None})
    # Shared person locks (which never block each other) make a concurrent erasure (exclusive lock, then DELETE)
    # wait for this chunk to commit, so it also deletes the chunk's activities instead of leaving them orphaned.
    return _Index(await person_repo.match_rows(conn, ids, emails, exts, lock=lock))


async def resolve_persons(
    conn: Connection, refs: Sequence[PersonRef], *, create_missing: bool, dry_run: bool
) -> list[int | Issue]:
    """A person id (or why not) per reference, in order. Missing persons are created when asked, in the
    caller's transaction, so they exist exactly when the chunk's activities do."""
    if not refs:
        return []
    index = await _find(conn, refs, lock=not dry_run)
    results = [index.match(ref) for ref in refs]
    missing = [i for i, r in enumerate(results) if r is None]
    if missing and create_missing and not dry_run:
        await _create(conn, [refs[i] for i in missing])
        index = await _find(conn, refs, lock=True)
        for i in missing:
            results[i] = index.match(refs[i])
    out: list[int | Issue] = []
    placeholders: dict[tuple[str | None, str | None], int] = {}
    for ref, result in zip(refs, results, strict=True):
        if result is None:
            if create_missing and dry_run:  # one made-up (negative) id per person the run would create
                identity = (ref.email.lower() if ref.email else None, ref.external_id)
                out.append(placeholders.setdefault(identity, -1 - len(placeholders)))
                continue
            out.append(Issue(ErrorCode.PERSON_NOT_FOUND, "person", f"No person matches {_describe(ref)}."))
        else:
            out.append(result)
    return out


async def _create(conn: Connection, refs: Sequence[PersonRef]) -> None:
    # One new person per distinct email/externalId; sorted so concurrent jobs lock rows in the same order.
    claimed: set[str] = set()
    emails: list[str | None] = []
    exts: list[str | None] = []
    for ref in sorted(refs, key=lambda r: (r.email or "").lower() + "\x00" + (r.external_id or "")):
        keys = {f"e:{ref.email.lower()}" if ref.email else "", f"x:{ref.external_id}" if ref.external_id else ""}
        keys.discard("")
        if not keys or keys & claimed:
            continue
        claimed |= keys
        emails.append(ref.email)
        exts.append(ref.external_id)
    if emails:
        await person_repo.create_missing(conn, [(e, x, None, None) for e, x in zip(emails, exts, strict=True)])


def _describe(ref: PersonRef) -> str:
    parts = [f"id {ref.id}" if ref.id is not None else "", f"email {ref.email}" if ref.email else "",
             f"externalId {ref.external_id}" if ref.external_id else ""]
    return " / ".join(p for p in parts if p)[:200]
