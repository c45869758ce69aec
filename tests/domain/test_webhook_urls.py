"""Webhook URL rules: https only in production, no private, loopback, link-local or metadata addresses."""

from __future__ import annotations

import ipaddress

import pytest

from app.domain.errors import DomainError, ErrorCode
from app.domain.webhook_urls import PRODUCTION, UrlPolicy, check_address, check_url

DEV_LOOPBACK = UrlPolicy(allow_http=True, allow_loopback=True)
DEV = UrlPolicy(allow_http=True, allow_loopback=False)


def code_of(url: str, policy: UrlPolicy) -> ErrorCode | None:
    try:
        check_url(url, policy)
    except DomainError as error:
        assert [i.field for i in error.issues] == ["url"]
        return error.issues[0].code
    return None


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://hooks.example.com/in", None),
        ("https://93.184.215.14:8443/x", None),
        ("http://hooks.example.com/in", ErrorCode.INVALID_URL),
        ("ftp://hooks.example.com/", ErrorCode.INVALID_URL),
        ("https://user:pw@hooks.example.com/", ErrorCode.INVALID_URL),
        ("https:///nohost", ErrorCode.INVALID_URL),
        ("https://[::1", ErrorCode.INVALID_URL),
        ("https://127.0.0.1/", ErrorCode.NOT_ALLOWED),
        ("https://localhost/", ErrorCode.NOT_ALLOWED),
        ("https://10.1.2.3/", ErrorCode.NOT_ALLOWED),
        ("https://172.16.0.9/", ErrorCode.NOT_ALLOWED),
        ("https://192.168.1.1/", ErrorCode.NOT_ALLOWED),
        ("https://169.254.169.254/latest/meta-data", ErrorCode.NOT_ALLOWED),
        ("https://metadata.google.internal/", ErrorCode.NOT_ALLOWED),
        ("https://[fd00:ec2::254]/", ErrorCode.NOT_ALLOWED),
        ("https://[fe80::1]/", ErrorCode.NOT_ALLOWED),
        ("https://[::ffff:10.0.0.1]/", ErrorCode.NOT_ALLOWED),
        ("https://0.0.0.0/", ErrorCode.NOT_ALLOWED),
        ("https://100.64.0.1/", ErrorCode.NOT_ALLOWED),  # carrier-grade NAT: not global
        ("https://224.0.0.1/", ErrorCode.NOT_ALLOWED),
        ("https://hooks.example.com/" + "x" * 2100, ErrorCode.TOO_LONG),
    ],
)
def test_production_rules(url: str, code: ErrorCode | None) -> None:
    assert code_of(url, PRODUCTION) == code


def test_dev_allows_http_and_loopback_only_with_the_setting() -> None:
    assert code_of("http://127.0.0.1:9000/hook", DEV_LOOPBACK) is None
    assert code_of("http://localhost:9000/hook", DEV_LOOPBACK) is None
    assert code_of("http://127.0.0.1:9000/hook", DEV) == ErrorCode.NOT_ALLOWED
    # Loopback is the only exception: private and metadata addresses stay refused.
    assert code_of("http://10.0.0.5/hook", DEV_LOOPBACK) == ErrorCode.NOT_ALLOWED
    assert code_of("http://169.254.169.254/", DEV_LOOPBACK) == ErrorCode.NOT_ALLOWED


def test_loopback_in_production_only_with_the_setting_and_only_loopback() -> None:
    bench = UrlPolicy(allow_http=False, allow_loopback=True)
    assert code_of("http://127.0.0.1:9000/hook", bench) is None
    assert code_of("http://localhost:9000/hook", bench) is None
    assert code_of("http://93.184.215.14/hook", bench) == ErrorCode.INVALID_URL  # http only for loopback
    assert code_of("https://10.0.0.1/hook", bench) == ErrorCode.NOT_ALLOWED


def test_resolved_addresses_are_checked_with_the_same_rules() -> None:
    check_address(ipaddress.ip_address("93.184.215.14"), PRODUCTION)
    check_address(ipaddress.ip_address("::1"), DEV_LOOPBACK)
    for bad in ("127.0.0.1", "::1", "10.0.0.1", "169.254.169.254", "fe80::2"):
        with pytest.raises(DomainError):
            check_address(ipaddress.ip_address(bad), PRODUCTION)
