"""Person identity tables (0013): written with the person in one transaction, unique, and what lookups read."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from app.db import person_repo
from app.domain.access import Principal
from app.services import persons
from app.services.persons import PersonUpsert
from app.services.runtime import Resources


async def _identities(resources: Resources) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    async with resources.db.raw() as conn:
        emails = [tuple(r) for r in await conn.fetch("SELECT email, person_id FROM person_email ORDER BY 1")]
        exts = [tuple(r) for r in await conn.fetch("SELECT external_id, person_id FROM person_external_id ORDER BY 1")]
    return emails, exts  # type: ignore[return-value]


async def test_identity_rows_follow_creates_updates_clears_and_erasure(resources: Resources) -> None:
    [created] = await persons.upsert(resources, [PersonUpsert(email="Ann@Example.com", external_id="crm-1")])
    assert created.person is not None
    ann = created.person.id
    assert await _identities(resources) == ([("ann@example.com", ann)], [("crm-1", ann)])

    await persons.upsert(resources, [PersonUpsert(id=ann, email="ann@new.example", external_id="crm-9")])
    assert await _identities(resources) == ([("ann@new.example", ann)], [("crm-9", ann)])

    await persons.upsert(resources, [PersonUpsert(id=ann, email="ANN@new.example", external_id="crm-9")])
    assert await _identities(resources) == ([("ann@new.example", ann)], [("crm-9", ann)])

    async with resources.db.raw() as conn:
        found = await person_repo.lookup(conn, "email", "Ann@NEW.example")
        assert found is not None and found.id == ann and found.email == "ann@new.example"
        by_ext = await person_repo.lookup(conn, "external_id", "crm-9")
        assert by_ext is not None and by_ext.id == ann
        assert await person_repo.lookup(conn, "external_id", "crm-1") is None

    await persons.erase(resources, Principal.local_admin(), ann)
    assert await _identities(resources) == ([], [])


async def test_an_identity_belongs_to_one_person(resources: Resources) -> None:
    await persons.upsert(resources, [PersonUpsert(email="bob@example.com")])
    async with resources.db.session() as session, session.begin():
        with pytest.raises(IntegrityError):  # the identity table refuses it even past the services' checks
            await person_repo.insert(session, {"email": "BOB@example.com"})


async def test_create_missing_skips_taken_identities_and_gives_back_partial_claims(resources: Resources) -> None:
    async with resources.db.raw() as conn, conn.transaction():
        [existing] = await person_repo.create_missing(conn, [("taken@example.com", None, None, None)])
        new = await person_repo.create_missing(conn, [
            ("fresh@example.com", "X1", "Fay", None),
            ("TAKEN@example.com", "X2", None, None),  # email taken: X2 must not stay claimed
            ("other@example.com", "X1", None, None),  # X1 claimed by the first entry
        ])
    assert new[0] is not None and new[1:] == [None, None]
    emails, exts = await _identities(resources)
    assert emails == [("fresh@example.com", new[0]), ("taken@example.com", existing)]
    assert exts == [("X1", new[0])]
    async with resources.db.raw() as conn:
        rows = await conn.fetch("SELECT id, email, external_id, first_name FROM person ORDER BY id")
    assert [tuple(r) for r in rows] == [
        (existing, "taken@example.com", None, None), (new[0], "fresh@example.com", "X1", "Fay")
    ]


async def test_match_rows_resolves_every_kind_of_identifier(resources: Resources) -> None:
    async with resources.db.raw() as conn, conn.transaction():
        a, b, c = await person_repo.create_missing(
            conn, [("a@example.com", None, None, None), (None, "B", None, None), ("c@example.com", "C", None, None)]
        )
        rows = await person_repo.match_rows(conn, [a or 0], ["C@EXAMPLE.COM"], ["B", "nobody"], lock=True)
    found: list[tuple[Any, ...]] = [tuple(r) for r in rows]
    assert found == [(a, "a@example.com", None), (b, None, "B"), (c, "c@example.com", "C")]

