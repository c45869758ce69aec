"""GraphQL input for upsertPersons."""

from __future__ import annotations

import strawberry

from app.api.global_ids import raw_id
from app.domain.activities import parse_id
from app.domain.errors import DomainError, ErrorCode
from app.services.persons import PersonUpsert


@strawberry.input(
    description=(
        "One person to create or update, matched by id, else email (case-insensitive) or externalId. "
        "Omitted attributes stay as they are; firstName/lastName set to null are cleared."
    )
)
class PersonInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="Match this existing person.")
    email: str | None = strawberry.field(default=None, description="Match on or set the email.")
    external_id: str | None = strawberry.field(default=None, description="Match on or set the external id.")
    first_name: str | None = strawberry.field(default=strawberry.UNSET, description="First name.")
    last_name: str | None = strawberry.field(default=strawberry.UNSET, description="Last name.")

    def to_domain(self, path: str) -> PersonUpsert:
        person_id = None
        if self.id is not None:
            try:
                person_id = parse_id(raw_id(self.id, "Person"))
            except ValueError:
                raise DomainError.of(ErrorCode.INVALID, "Not a person id.", f"{path}.id") from None
        clear = frozenset(
            name for name, value in (("first_name", self.first_name), ("last_name", self.last_name)) if value is None
        )
        return PersonUpsert(
            id=person_id,
            email=self.email,
            external_id=self.external_id,
            first_name=self.first_name or None,
            last_name=self.last_name or None,
            clear=clear,
        )
