"""ErasedIdentity: a rejected record names a person by its decoded text, not by its spelling."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.erasure import ErasedIdentity, spellings

ANN = ErasedIdentity("ann@example.com", "crm-ann-1")


@pytest.mark.parametrize(
    ("record", "named"),
    [
        ('{"person": {"email": "Ann@Example.com"}}', True),
        (r'{"person": {"email": "ann\u0040example.com"}}', True),
        (r'{"person": {"email": "ann\u0040example\u002ecom"', True),  # not valid JSON: escapes decoded alone
        ('{"person": {"externalId": "crm-ann-1"}}', True),
        (r'{"person": {"externalId": "crm\u002dann\u002d1"}}', True),
        ("depositCheck,crm-ann-1,2026-11-02T10:00:00Z", True),  # a whole CSV cell
        ("depositCheck,crm-ann-10,2026-11-02T10:00:00Z", False),
        ('{"person": {"externalId": "crm-ann-10"}}', False),
        (r'{"person": {"email": "bann\u0040example.org"}}', False),
        ('{"note": "a \\\\ backslash"}', False),
    ],
)
def test_named_in(record: str, named: bool) -> None:
    assert ANN.named_in(record) is named


def test_a_short_external_id_is_only_a_json_string() -> None:
    short = ErasedIdentity(None, "a1")
    assert short.named_in('{"externalId": "a1"}') and not short.named_in("x,a1,y")


@given(st.emails(), st.booleans())
def test_any_json_escaping_of_the_email_is_found(email: str, every_char: bool) -> None:
    # However a JSON writer escapes it (\u for every character, or only what must be), the record names them.
    escaped = "".join(f"\\u{ord(c):04x}" for c in email) if every_char else orjson.dumps(email).decode()[1:-1]
    record = '{"person": {"email": "' + escaped + '"}}'
    assert ErasedIdentity(email, None).named_in(record)
    assert record in spellings(record)
