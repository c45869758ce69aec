"""Marketo's JSON envelope and error codes, and the mapping from our typed issues to those codes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from starlette.responses import Response

from app.domain.errors import ErrorCode, Issue
from app.logs import request_id_var

# Marketo's codes this facade sends, with Marketo's own messages (docs/marketo-rest.md has the same table).
MESSAGES: dict[int, str] = {
    601: "Access token invalid",
    602: "Access token expired",
    603: "Access denied",
    606: "Max rate limit exceeded",
    609: "Invalid JSON",
    610: "Requested resource not found",
    612: "Invalid Content Type",
    615: "Concurrent access limit reached",
    709: "Incompatible state",
    1001: "Invalid value",
    1002: "Missing value for required parameter",
    1003: "Invalid data",
    1004: "Lead not found",
    1005: "Lead already exists",
    1006: "Field not found",
    1007: "Multiple leads match the lookup criteria",
    1013: "Object not found",
    1022: "Object in use",
    1027: "Max activity type limit reached",
    1028: "Max field limit reached",
    1029: "Too many jobs in queue",
}

_VALUE_CODES = {
    ErrorCode.WRONG_TYPE, ErrorCode.TOO_LONG, ErrorCode.TOO_SHORT, ErrorCode.OUT_OF_RANGE, ErrorCode.NOT_ALLOWED,
    ErrorCode.INVALID_EMAIL, ErrorCode.INVALID_URL, ErrorCode.INVALID_PHONE, ErrorCode.INVALID_DATE,
    ErrorCode.INVALID_NUMBER, ErrorCode.INVALID_CURRENCY,
}
_CODES: dict[ErrorCode, int] = {
    ErrorCode.REQUIRED: 1002,
    ErrorCode.UNKNOWN_FIELD: 1006,
    ErrorCode.PERSON_NOT_FOUND: 1004,
    ErrorCode.AMBIGUOUS_PERSON: 1007,
    ErrorCode.NOT_FOUND: 1013,
    ErrorCode.UNKNOWN_ACTIVITY_TYPE: 1013,
    ErrorCode.IN_USE: 1022,
    ErrorCode.NO_DRAFT: 709,
    ErrorCode.INVALID_STATE: 709,
    ErrorCode.BREAKING_CHANGE: 709,
    ErrorCode.TYPE_NOT_APPROVED: 709,
    ErrorCode.FORBIDDEN: 603,
    ErrorCode.UNAUTHENTICATED: 601,
    ErrorCode.RATE_LIMITED: 606,
    **dict.fromkeys(_VALUE_CODES, 1001),
}


def marketo_code(code: ErrorCode) -> int:
    """The Marketo code of one of our error codes; 1003 "Invalid data" for the rest."""
    return _CODES.get(code, 1003)


def error(code: int, message: str | None = None) -> dict[str, str]:
    """One entry of `errors` / `reasons`; Marketo sends codes as strings."""
    return {"code": str(code), "message": message or MESSAGES.get(code, "Error")}


def issue_errors(issues: Iterable[Issue]) -> list[dict[str, str]]:
    """Our typed issues as Marketo errors, the field path kept in the message."""
    return [error(marketo_code(i.code), f"{i.field}: {i.message}" if i.field else i.message) for i in issues]


def _body(payload: dict[str, Any]) -> dict[str, Any]:
    return {"requestId": request_id_var.get() or "-", **payload}


def respond(payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(_body(payload)), status_code=status, media_type="application/json",
                    headers=headers)


def ok(result: Sequence[Any], *, next_page_token: str | None = None, more: bool | None = None,
       warnings: Sequence[str] = ()) -> Response:
    payload: dict[str, Any] = {"result": list(result), "success": True, "warnings": list(warnings)}
    if next_page_token is not None:
        payload["nextPageToken"] = next_page_token
    if more is not None:
        payload["moreResult"] = more
    return respond(payload)


def fail(errors: Sequence[dict[str, str]], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Marketo answers most failures with HTTP 200 and success false."""
    return respond({"success": False, "errors": list(errors), "warnings": []}, status, headers)


def fail_code(code: int, message: str | None = None) -> Response:
    return fail([error(code, message)])


class RestError(Exception):
    """A failure of the whole call, raised anywhere in a handler and answered as one envelope."""

    def __init__(self, code: int, message: str | None = None, *, errors: Sequence[dict[str, str]] | None = None,
                 status: int = 200, headers: dict[str, str] | None = None) -> None:
        super().__init__(message or MESSAGES.get(code, ""))
        self.errors = list(errors) if errors is not None else [error(code, message)]
        self.status = status
        self.headers = headers

    def response(self) -> Response:
        return fail(self.errors, self.status, self.headers)
