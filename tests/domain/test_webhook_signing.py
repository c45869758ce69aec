"""Standard Webhooks signatures: the spec's published example, rotation (two signatures), verification refusals."""

from __future__ import annotations

import pytest

from app.domain.webhook_signing import SignatureError, headers, new_secret, secret_key, sign, verify

# The example of the Standard Webhooks specification (and its reference libraries' tests).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specification_example_signs_as_published() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_a_new_secret_is_32_random_bytes_with_the_prefix() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(secret_key(first)) == 32


def test_during_a_rotation_both_secrets_verify() -> None:
    old, new = new_secret(), new_secret()
    sent = headers([new, old], "msg_1", 1000, b"{}")
    assert len(sent["webhook-signature"].split(" ")) == 2
    assert verify(new, sent, b"{}", now=1000) == "msg_1"
    assert verify(old, sent, b"{}", now=1000) == "msg_1"
    with pytest.raises(SignatureError, match="no signature"):
        verify(new_secret(), sent, b"{}", now=1000)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"webhook-timestamp": "1200"}, "no signature"),  # within the tolerance but not what was signed
        ({"webhook-id": "msg_2"}, "no signature"),
        ({"webhook-timestamp": "x"}, "not an integer"),
        ({"webhook-signature": ""}, "missing"),
    ],
)
def test_a_changed_header_is_refused(change: dict[str, str], reason: str) -> None:
    secret = new_secret()
    sent = {**headers([secret], "msg_1", 1000, b"{}"), **change}
    with pytest.raises(SignatureError, match=reason):
        verify(secret, sent, b"{}", now=1000)


def test_a_changed_body_or_a_stale_timestamp_is_refused() -> None:
    secret = new_secret()
    sent = headers([secret], "msg_1", 1000, b'{"a":1}')
    with pytest.raises(SignatureError):
        verify(secret, sent, b'{"a":2}', now=1000)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(secret, sent, b'{"a":1}', now=1000 + 301)
    assert verify(secret, {k.upper(): v for k, v in sent.items()}, b'{"a":1}', now=1300) == "msg_1"
