"""The one rule for a person's email address, shared by import rows, inline activities and upsertPersons."""

from __future__ import annotations

import re

from app.domain.errors import ErrorCode, Issue

MAX_EMAIL = 254  # RFC 5321 path limit
_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")  # one @, something before it, a dotted domain, no whitespace


def email_issue(email: str, path: str) -> Issue | None:
    """Why `email` cannot name a person (TOO_LONG, INVALID_EMAIL), or None. `a@`, `x@y@z`, `@b.io`, `a@b` and
    addresses with whitespace are refused; internationalised ones are accepted."""
    if len(email) > MAX_EMAIL:
        return Issue(ErrorCode.TOO_LONG, path, f"An email address has at most {MAX_EMAIL} characters.")
    if _SHAPE.fullmatch(email) is None:
        return Issue(ErrorCode.INVALID_EMAIL, path, f"'{email[:60]}' is not an email address.")
    return None


def plain_email(email: str) -> bool:
    """`email_issue(email) is None` for printable ASCII without spaces, and False for anything else: the
    bulk import path's check without the regex (tests/domain/test_emails.py compares the two)."""
    at = email.find("@")
    return (0 < at and len(email) <= MAX_EMAIL and email.isascii() and email.isprintable() and " " not in email
            and email.count("@") == 1 and "." in email[at + 2 : -1])
