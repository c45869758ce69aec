"""Error codes, field issues and the domain exceptions services raise for expected failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ErrorCode(StrEnum):
    """Machine-readable reasons, shared by mutation results, rejections and the GraphQL enum."""

    # input shape and values
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    INVALID_IDENTIFIER = "INVALID_IDENTIFIER"
    WRONG_TYPE = "WRONG_TYPE"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    TOO_LONG = "TOO_LONG"
    TOO_SHORT = "TOO_SHORT"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    NOT_ALLOWED = "NOT_ALLOWED"
    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_URL = "INVALID_URL"
    INVALID_PHONE = "INVALID_PHONE"
    INVALID_DATE = "INVALID_DATE"
    INVALID_NUMBER = "INVALID_NUMBER"
    INVALID_CURRENCY = "INVALID_CURRENCY"
    # registry
    DUPLICATE = "DUPLICATE"
    NOT_FOUND = "NOT_FOUND"
    READ_ONLY = "READ_ONLY"
    NO_DRAFT = "NO_DRAFT"
    BREAKING_CHANGE = "BREAKING_CHANGE"
    IN_USE = "IN_USE"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    # ingestion
    UNKNOWN_ACTIVITY_TYPE = "UNKNOWN_ACTIVITY_TYPE"
    TYPE_NOT_APPROVED = "TYPE_NOT_APPROVED"
    PERSON_NOT_FOUND = "PERSON_NOT_FOUND"
    AMBIGUOUS_PERSON = "AMBIGUOUS_PERSON"
    CONFLICT = "CONFLICT"
    MALFORMED_ROW = "MALFORMED_ROW"
    INVALID_ENCODING = "INVALID_ENCODING"
    ROW_TOO_LARGE = "ROW_TOO_LARGE"
    WRONG_COLUMN_COUNT = "WRONG_COLUMN_COUNT"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    INVALID_STATE = "INVALID_STATE"
    UPLOAD_INTERRUPTED = "UPLOAD_INTERRUPTED"
    ROW_COUNT_MISMATCH = "ROW_COUNT_MISMATCH"
    TRUNCATED_FILE = "TRUNCATED_FILE"
    # reads
    INVALID_CURSOR = "INVALID_CURSOR"
    INVALID_FILTER = "INVALID_FILTER"
    INVALID_OPERATOR = "INVALID_OPERATOR"
    # access
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem with one input: a code, a camelCase field path ("fields.amount") and a message."""

    code: ErrorCode
    field: str | None
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code.value, "field": self.field, "message": self.message}


@dataclass
class DomainError(Exception):
    """An expected failure; the API layer turns it into typed errors in the mutation result."""

    issues: list[Issue] = field(default_factory=list)

    @classmethod
    def of(cls, code: ErrorCode, message: str, field: str | None = None) -> DomainError:
        return cls([Issue(code, field, message)])

    def __str__(self) -> str:
        return "; ".join(f"{i.code}: {i.message}" for i in self.issues)
