"""The read behind Query.person, called by its Strawberry resolver and by the compiled plans alike."""

from __future__ import annotations

from app.api.global_ids import raw_id
from app.api.persons.types import Person
from app.domain.activities import parse_id
from app.domain.errors import DomainError, ErrorCode
from app.services import persons
from app.services.runtime import Resources


def person_id(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return parse_id(raw_id(raw, "Person"))
    except ValueError:
        raise DomainError.of(ErrorCode.INVALID, "Not a person id.", "id") from None


async def person(
    resources: Resources, *, id: str | None = None, email: str | None = None, external_id: str | None = None
) -> Person | None:
    """One person by exactly one of the identifiers; raises DomainError on bad input."""
    found = await persons.get(resources, person_id=person_id(id), email=email, external_id=external_id)
    return Person.from_domain(found) if found is not None else None
