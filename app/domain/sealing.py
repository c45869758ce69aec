"""Secrets at rest: AES-256-GCM under a list of keys (the first seals, every one opens), bound to their row."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "sealed:v1:"
KEY_BYTES = 32
NONCE_BYTES = 12


class SealError(Exception):
    """A sealed value no key opens (its key was removed from the list, or the value or its row was altered)."""


def parse_key(text: str) -> bytes:
    """A key as configured: URL-safe base64 of 32 random bytes (padding optional)."""
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValueError("a secret key is URL-safe base64 of 32 bytes") from error
    if len(key) != KEY_BYTES:
        raise ValueError(f"a secret key is URL-safe base64 of {KEY_BYTES} bytes, not {len(key)}")
    return key


def new_key() -> str:
    """A fresh key in the configured form."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


class SecretBox:
    """Seals with the first key and opens with whichever key sealed a value (named by a short fingerprint, so
    opening never tries keys in turn). `context` (e.g. the row's id) is authenticated: a sealed value copied to
    another row does not open there. Never shows its keys (repr)."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("a SecretBox needs at least one key")
        self._ciphers = {_fingerprint(k): AESGCM(k) for k in keys}
        self._primary = _fingerprint(keys[0])

    def __repr__(self) -> str:
        return f"SecretBox({len(self._ciphers)} keys)"

    def seal(self, secret: str, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._primary].encrypt(nonce, secret.encode(), context.encode())
        return f"{PREFIX}{self._primary}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, value: str, context: str) -> str:
        """The secret; a value stored before sealing existed (no prefix) is returned as it is."""
        if not value.startswith(PREFIX):
            return value
        fingerprint, _, payload = value[len(PREFIX):].partition(":")
        cipher = self._ciphers.get(fingerprint)
        if cipher is None:
            raise SealError(f"sealed with key {fingerprint}, which is not among the configured keys")
        try:
            raw = base64.urlsafe_b64decode(payload)
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError) as error:
            raise SealError(f"a value sealed with key {fingerprint} does not open (altered, or another row's)") \
                from error

    def is_current(self, value: str) -> bool:
        """Sealed with the first key (else `reseal` should seal it again: plaintext, or an older key)."""
        return value.startswith(f"{PREFIX}{self._primary}:")


def _fingerprint(key: bytes) -> str:
    """Names a key in sealed values without revealing anything usable about it."""
    return hashlib.sha256(b"secret-box-key:" + key).hexdigest()[:12]
