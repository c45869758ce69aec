"""Checks for the string-valued types: STRING, TEXT, EMAIL, PHONE and LINK."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from app.domain.activity_types import FieldDataType, FieldSpec
from app.domain.errors import ErrorCode, Issue
from app.domain.text import storable, unstorable_issue
from app.domain.validators.base import Check, with_allowed, wrong_type

EMAIL_MAX = 254  # RFC 5321 path limit
LINK_MAX = 2048  # what browsers and most proxies reliably accept
PHONE_MAX = 40

_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
)
_PHONE = re.compile(r"(?P<number>\+?[0-9 ().\-/]+?)(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]")
_WHITESPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")
# The common shape of a valid link, accepted without urlsplit (~5x cheaper): lower-case http(s) scheme, an
# ASCII host name (optionally a port), then path/query/fragment without whitespace or control characters.
# Every string it matches, urlsplit also accepts with that scheme and a host; anything else takes the full check.
FAST_LINK = re.compile(r"https?://[A-Za-z0-9][A-Za-z0-9.\-]*(?::[0-9]*)?(?:[/?#][^\s\x00-\x1f\x7f]*)?")


def _string_base(path: str, limit: int, label: str) -> Check:
    def check(value: Any) -> Any:
        if type(value) is not str:
            return wrong_type(path, label, value)
        if len(value) > limit:
            return Issue(ErrorCode.TOO_LONG, path, f"{len(value)} characters; at most {limit} allowed.")
        if "\x00" not in value and value.isascii():  # storable()'s common case, without the call
            return value
        if not storable(value):
            return unstorable_issue(path)
        return value

    return check


def _email(path: str, limit: int) -> Check:
    base = _string_base(path, limit, "an email address (string)")

    def check(value: Any) -> Any:
        result = base(value)
        if type(result) is Issue:
            return result
        local, _, _ = result.partition("@")
        if len(local) > 64 or _EMAIL.fullmatch(result) is None:
            return Issue(ErrorCode.INVALID_EMAIL, path, f"{result[:80]!r} is not a valid email address.")
        return result

    return check


def _link(path: str, limit: int) -> Check:
    base = _string_base(path, limit, "a URL (string)")
    fast = FAST_LINK.fullmatch

    def check(value: Any) -> Any:
        result = base(value)
        if type(result) is Issue or fast(result) is not None:
            return result
        if _WHITESPACE_OR_CONTROL.search(result) is None:
            try:
                parts = urlsplit(result)
                host = parts.hostname
            except ValueError:
                parts, host = None, None
            if parts is not None and parts.scheme in ("http", "https") and host:
                return result
        return Issue(ErrorCode.INVALID_URL, path, f"{result[:80]!r} is not an absolute http(s) URL.")

    return check


def _phone(path: str, limit: int) -> Check:
    base = _string_base(path, limit, "a phone number (string)")

    def check(value: Any) -> Any:
        result = base(value)
        if type(result) is Issue:
            return result
        match = _PHONE.fullmatch(result)
        if match is None or not 3 <= len(_DIGITS.findall(match["number"])) <= 15:
            return Issue(
                ErrorCode.INVALID_PHONE, path, f"{result[:80]!r} is not a phone number (3 to 15 digits, + ( ) - . /)."
            )
        return result

    return check


def build_string_check(spec: FieldSpec, path: str, *, max_string_length: int, max_text_length: int) -> Check:
    """The check for one string-valued field; text (CSV) input needs no coercion for these types."""
    kind = spec.data_type
    if kind is FieldDataType.STRING:
        check = _string_base(path, spec.max_length or max_string_length, "a string")
    elif kind is FieldDataType.TEXT:
        check = _string_base(path, spec.max_length or max_text_length, "a string")
    elif kind is FieldDataType.EMAIL:
        check = _email(path, min(spec.max_length or EMAIL_MAX, EMAIL_MAX))
    elif kind is FieldDataType.LINK:
        check = _link(path, spec.max_length or LINK_MAX)
    elif kind is FieldDataType.PHONE:
        check = _phone(path, spec.max_length or PHONE_MAX)
    else:  # pragma: no cover - dispatch in validation.py only sends string types here
        raise ValueError(f"not a string type: {kind}")
    return with_allowed(check, spec, path)
