"""GraphQL inputs of ingestion: one activity, an inline batch and a file import."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON

from app.api.global_ids import raw_id
from app.api.ingestion.types import IngestionFormat


def _person_id(value: str) -> int | str:
    try:
        raw = raw_id(value, "Person")
    except ValueError:
        return str(value)  # another type's global id: the row is rejected as naming no person
    return int(raw) if raw.isdigit() else raw


@strawberry.input(description="Who an activity happened to: give id, email (case-insensitive) or externalId.")
class PersonRefInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="Person id.")
    email: str | None = strawberry.field(default=None, description="Email address (matched case-insensitively).")
    external_id: str | None = strawberry.field(default=None, description="Your system's id of the person.")


@strawberry.input(description="One activity, exactly like one JSONL line of an import.")
class ActivityInput:
    activity_type: str = strawberry.field(description="API name of an approved activity type.")
    person: PersonRefInput = strawberry.field(description="The person it happened to.")
    occurred_at: datetime = strawberry.field(description="When it happened, with a timezone.")
    primary_value: JSON | None = strawberry.field(default=None, description="Value of the type's primary field.")
    fields: JSON | None = strawberry.field(default=None, description="Additional field values by API name.")
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Same key + person + type is stored once: a re-send counts as a duplicate, a different payload "
        "under the same key is rejected with CONFLICT.",
    )

    def to_json(self) -> dict[str, Any]:
        person: dict[str, Any] = {}
        if self.person.id is not None:
            person["id"] = _person_id(self.person.id)
        if self.person.email is not None:
            person["email"] = self.person.email
        if self.person.external_id is not None:
            person["externalId"] = self.person.external_id
        out: dict[str, Any] = {"activityType": self.activity_type, "person": person,
                               "occurredAt": self.occurred_at.isoformat(), "primaryValue": self.primary_value,
                               "fields": self.fields if self.fields is not None else {}}
        if self.idempotency_key is not None:
            out["idempotencyKey"] = self.idempotency_key
        return out


@strawberry.input(description="An inline batch of activities (at most `limits.maxInlineActivities`).")
class RecordActivitiesInput:
    activities: list[ActivityInput] = strawberry.field(description="The activities to record.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Scoped to your API key: the same request again with this key returns the "
        "existing job; a different request (payload or options) with it is a CONFLICT error naming that job."
    )
    dry_run: bool = strawberry.field(default=False, description="Validate only; write nothing.")
    create_missing_persons: bool = strawberry.field(
        default=False, description="Create persons not found by email/externalId."
    )


@strawberry.input(description="A JSONL or CSV file (optionally gzip) sent with the GraphQL multipart request spec.")
class ImportActivitiesInput:
    file: Upload = strawberry.field(description="The file; .gz is detected from its content.")
    format: IngestionFormat | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="JSONL or CSV; inferred from the file name when omitted."
    )
    activity_type: str | None = strawberry.field(
        default=None, description="Activity type of every row (then rows may omit activityType)."
    )
    idempotency_key: str | None = strawberry.field(
        default=None, description="Scoped to your API key: the same request again with this key returns the "
        "existing job; a different request (payload or options) with it is a CONFLICT error naming that job."
    )
    dry_run: bool = strawberry.field(default=False, description="Validate only; write nothing.")
    create_missing_persons: bool = strawberry.field(
        default=False, description="Create persons not found by email/externalId."
    )
    resume_from: int | None = strawberry.field(
        default=None, description="Take only the rows numbered from this one on (line number; CSV record number "
        "with the header as 1, and the header is still read): the `resumeFrom` of an interrupted upload's job, to "
        "import the rest of the same file without sending any row twice. Rows before it are not counted."
    )
