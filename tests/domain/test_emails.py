"""The one email rule: examples, and the bulk path's regex-free check against it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.emails import email_issue, plain_email
from app.domain.errors import ErrorCode


@pytest.mark.parametrize(
    ("email", "code"),
    [("ann@example.com", None), ("a.b+c@sub.example.co", None), ("jörg@bücher.de", None), ("a@b.c", None),
     ("a@", ErrorCode.INVALID_EMAIL), ("x@y@z", ErrorCode.INVALID_EMAIL), ("x@y@z.io", ErrorCode.INVALID_EMAIL),
     ("@b.io", ErrorCode.INVALID_EMAIL), ("a@b", ErrorCode.INVALID_EMAIL), ("a@.io", ErrorCode.INVALID_EMAIL),
     ("a@b.", ErrorCode.INVALID_EMAIL), ("a b@c.io", ErrorCode.INVALID_EMAIL), ("", ErrorCode.INVALID_EMAIL),
     ("a@b.io\n", ErrorCode.INVALID_EMAIL), ("a" * 250 + "@b.io", ErrorCode.TOO_LONG)],
)
def test_email_examples(email: str, code: ErrorCode | None) -> None:
    issue = email_issue(email, "person.email")
    assert (issue.code if issue else None) is code
    assert issue is None or issue.field == "person.email"


@given(st.text(alphabet=st.sampled_from(list("ab.@ \t\x7fé\n-")), max_size=12) | st.emails().map(str))
def test_the_plain_check_is_the_rule_for_printable_ascii(email: str) -> None:
    simple = email.isascii() and email.isprintable() and " " not in email
    assert plain_email(email) == (simple and email_issue(email, "e") is None)
