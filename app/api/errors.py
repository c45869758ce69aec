"""GraphQL shapes for expected failures: the ErrorCode enum and UserError (code, field, message)."""

from __future__ import annotations

import strawberry

from app.api.enums import described_enum
from app.domain.errors import DomainError, ErrorCode, Issue

ErrorCodeEnum = described_enum(ErrorCode, name="ErrorCode", description="Machine-readable error reasons.", values={
    # input shape and values
    "REQUIRED": "A required value is missing.",
    "INVALID": "The input is invalid as a whole (the message says why), e.g. two arguments that exclude each other.",
    "INVALID_IDENTIFIER": "An API name is malformed or reserved.",
    "WRONG_TYPE": "A value has the wrong JSON type (a string where a number belongs, ...).",
    "UNKNOWN_FIELD": "A field name the activity type (or the input) does not have.",
    "TOO_LONG": "Text or a list longer than allowed.",
    "TOO_SHORT": "Text or a list shorter than allowed.",
    "OUT_OF_RANGE": "A number, date or page size outside its allowed range.",
    "NOT_ALLOWED": "A value that is well formed but not permitted (e.g. a webhook URL to a private address).",
    "INVALID_EMAIL": "Not a valid email address.",
    "INVALID_URL": "Not an absolute http(s) URL.",
    "INVALID_PHONE": "Not a phone number.",
    "INVALID_DATE": "Not a valid date or date-time (a date-time needs an offset).",
    "INVALID_NUMBER": "Not a valid number (NaN, Infinity, or a fraction for an integer).",
    "INVALID_VALUE": "A value that cannot be stored (e.g. text with NUL characters).",
    "INVALID_CURRENCY": "Not a valid currency amount.",
    # registry
    "DUPLICATE": "A name or API name already in use.",
    "NOT_FOUND": "The thing named (type, field, job, list, ...) does not exist or is not visible to this key.",
    "READ_ONLY": "A standard activity type, which cannot be changed.",
    "NO_DRAFT": "The activity type has no pending draft.",
    "BREAKING_CHANGE": "The change would invalidate stored activities.",
    "IN_USE": "Still referenced (by activities, smart lists or triggers), so it cannot be removed.",
    "LIMIT_EXCEEDED": "A quota is reached (unfinished exports, stored bytes, types, fields, ...).",
    # ingestion
    "UNKNOWN_ACTIVITY_TYPE": "No activity type has this API name.",
    "TYPE_NOT_APPROVED": "The activity type is a draft or deleted, so it accepts no activities.",
    "PERSON_NOT_FOUND": "No person matches the given id, email or external id.",
    "AMBIGUOUS_PERSON": "The identifiers given match different persons.",
    "CONFLICT": "Conflicts with stored data (e.g. another person has this email; an idempotency key reused with "
                "different content).",
    "MALFORMED_ROW": "A row that cannot be parsed (not a JSON object, broken CSV, corrupt gzip).",
    "INVALID_ENCODING": "Bytes that are not valid UTF-8.",
    "ROW_TOO_LARGE": "A row longer than the row size limit.",
    "WRONG_COLUMN_COUNT": "A CSV row with more or fewer cells than the header.",
    "PAYLOAD_TOO_LARGE": "A payload or file over the size limit.",
    "INVALID_STATE": "Not possible in the job's current status (e.g. replaying a job that is still running).",
    "UPLOAD_INTERRUPTED": "The upload stopped before the file was complete.",
    "ROW_COUNT_MISMATCH": "The rows stored do not add up to the rows received; the job is failed rather than "
                          "reported complete.",
    "TRUNCATED_FILE": "A compressed file that ends early.",
    # reads
    "INVALID_CURSOR": "A cursor this server did not issue for this connection.",
    "INVALID_FILTER": "A filter that cannot be applied (unknown field, wrong value for the field's type).",
    "INVALID_OPERATOR": "An operator that does not fit the field's data type.",
    "INVALID_LOGIC": "A smart list `expression` that does not parse or names a filter that does not exist.",
    # access
    "UNAUTHENTICATED": "No valid API key was sent.",
    "FORBIDDEN": "The key lacks the scope this field needs.",
    "RATE_LIMITED": "Too many requests for this key; retry later.",
    "QUERY_TOO_COMPLEX": "The operation is over the depth, alias or cost limits.",
})


@strawberry.type(description="An expected failure: what went wrong, where, and a human-readable message.")
class UserError:
    code: ErrorCodeEnum = strawberry.field(description="Machine-readable reason.")  # type: ignore[valid-type]
    field: str | None = strawberry.field(
        description="camelCase path of the offending input, e.g. `fields.amount` or `activities.3.occurredAt`."
    )
    message: str = strawberry.field(description="Human-readable explanation, safe to show to users.")

    @classmethod
    def from_issue(cls, issue: Issue) -> UserError:
        return cls(code=issue.code, field=issue.field, message=issue.message)


def user_errors(error: DomainError | list[Issue]) -> list[UserError]:
    issues = error.issues if isinstance(error, DomainError) else error
    return [UserError.from_issue(i) for i in issues]
