"""GraphQL shapes for expected failures: the ErrorCode enum and UserError (code, field, message)."""

from __future__ import annotations

import strawberry

from app.domain.errors import DomainError, ErrorCode, Issue

ErrorCodeEnum = strawberry.enum(ErrorCode, name="ErrorCode", description="Machine-readable error reasons.")


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
