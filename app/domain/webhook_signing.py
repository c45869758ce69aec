"""Standard Webhooks signatures: `whsec_` secrets, `v1,<base64 HMAC-SHA256>` of `id.timestamp.body`, checks."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
DEFAULT_TOLERANCE_SECONDS = 300  # the spec's suggestion: refuse messages older or newer than five minutes


class SignatureError(Exception):
    """A message whose headers are missing, stale or signed by none of the accepted secrets."""


def new_secret() -> str:
    """A fresh signing secret, `whsec_` + base64 of 32 random bytes (shown to its owner once)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret: the base64 after the `whsec_` prefix, decoded."""
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as error:
        raise ValueError("a webhook secret is `whsec_` followed by base64") from error


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One signature, `v1,<base64>`, of `msg_id.timestamp.body`."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers; one signature per secret (the old one too during a rotation)."""
    signatures = " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": signatures}


def verify(
    secret: str, message_headers: Mapping[str, str], body: bytes, now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> str:
    """Check a received message as a receiver would; returns its `webhook-id`, raises SignatureError."""
    lowered = {k.lower(): v for k, v in message_headers.items()}
    msg_id, stamp, signatures = (lowered.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not msg_id or not stamp or not signatures:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError as error:
        raise SignatureError("webhook-timestamp is not an integer") from error
    if abs(now - timestamp) > tolerance:
        raise SignatureError("webhook-timestamp is outside the tolerance")
    expected = sign(secret, msg_id, timestamp, body).encode()
    if any(hmac.compare_digest(expected, s.encode()) for s in signatures.split(" ") if s.startswith("v1,")):
        return msg_id
    raise SignatureError("no signature matches the secret")
