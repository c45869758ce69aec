"""Person mutations: batch upsert (per-item results) and GDPR erasure."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.api.context import Info
from app.api.errors import UserError, user_errors
from app.api.global_ids import raw_id, to_global_id
from app.api.payloads import payload
from app.api.permissions import require
from app.api.persons.inputs import PersonInput
from app.api.persons.types import Person
from app.domain.access import Scope
from app.domain.activities import parse_id
from app.domain.errors import DomainError, ErrorCode
from app.services import persons
from app.services.persons import PersonUpsert, UpsertResult


@strawberry.type(description="The outcome of one input item, in input order.")
class PersonUpsertResult:
    person: Person | None = strawberry.field(description="The created or updated person; null on errors.")
    created: bool = strawberry.field(description="True when this item created a new person.")
    errors: list[UserError] = strawberry.field(description="Why this item was not applied.")


@strawberry.type(description="Result of upsertPersons.")
class UpsertPersonsPayload:
    results: list[PersonUpsertResult] = strawberry.field(
        default_factory=list, description="One result per input item, in input order."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Failures of the whole call (e.g. too many items)."
    )


@strawberry.type(description="Result of deletePerson.")
class DeletePersonPayload:
    deleted_person_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of the erased person."
    )
    activities_deleted: int = strawberry.field(default=0, description="How many of their activities were deleted.")
    rejections_deleted: int = strawberry.field(
        default=0, description="Rejected ingestion rows naming them that were deleted."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing was deleted (e.g. NOT_FOUND)."
    )


def _result(r: UpsertResult) -> PersonUpsertResult:
    person = Person.from_domain(r.person) if r.person is not None else None
    return PersonUpsertResult(person=person, created=r.created, errors=user_errors(r.issues))


@strawberry.type
class PersonMutations:
    @strawberry.mutation(
        description=(
            "Create or update persons in one transaction (at most limits.maxPersonsPerUpsert). Each item "
            "is matched by id, else by email (case-insensitive) or externalId; unmatched items are created."
        )
    )
    @payload(UpsertPersonsPayload)
    async def upsert_persons(
        self,
        info: Info,
        persons: Annotated[list[PersonInput], strawberry.argument(description="Persons to upsert.")],
    ) -> UpsertPersonsPayload:
        require(info, Scope.ACTIVITIES_WRITE)
        cap = info.context.settings.limits.max_persons_per_upsert
        if len(persons) > cap:
            raise DomainError.of(ErrorCode.LIMIT_EXCEEDED, f"At most {cap} persons per call.", "persons")
        parsed: list[PersonUpsert | DomainError] = []
        for n, item in enumerate(persons):
            try:
                parsed.append(item.to_domain(f"persons.{n}"))
            except DomainError as error:
                parsed.append(error)
        valid = [p for p in parsed if isinstance(p, PersonUpsert)]
        done = iter(await _upsert(info, valid))
        results = [
            _result(UpsertResult(issues=p.issues)) if isinstance(p, DomainError) else _result(next(done))
            for p in parsed
        ]
        return UpsertPersonsPayload(results=results)

    @strawberry.mutation(
        description=(
            "GDPR erasure: delete the person, all their activities and the rejected ingestion rows that name "
            "them, in one transaction recorded in the audit log. Needs the types:admin scope."
        )
    )
    @payload(DeletePersonPayload)
    async def delete_person(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Id of the person to erase.")],
    ) -> DeletePersonPayload:
        principal = require(info, Scope.TYPES_ADMIN)
        try:
            person_id = parse_id(raw_id(id, "Person"))
        except ValueError:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No such person.", "id") from None
        erased = await persons.erase(info.context.resources, principal, person_id)
        return DeletePersonPayload(
            deleted_person_id=to_global_id("Person", erased.person_id),
            activities_deleted=erased.activities_deleted,
            rejections_deleted=erased.rejections_deleted,
        )


async def _upsert(info: Info, items: list[PersonUpsert]) -> list[UpsertResult]:
    if not items:
        return []
    return await persons.upsert(info.context.resources, items)
