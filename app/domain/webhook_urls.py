"""Which webhook URLs and addresses may be called: https in production, never private or metadata addresses."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from app.domain.errors import DomainError, ErrorCode

MAX_URL_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services answer on these whatever the policy: refused even where loopback is allowed.
METADATA = frozenset({
    ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("169.254.170.2"),
    ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254"),
})
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """What the deployment allows: plain http (dev and tests) and loopback receivers (a setting; over http too)."""

    allow_http: bool
    allow_loopback: bool


PRODUCTION = UrlPolicy(allow_http=False, allow_loopback=False)


def check_url(url: str, policy: UrlPolicy, field: str = "url") -> SplitResult:
    """The parsed URL if its form is acceptable (scheme, host, no credentials); raises DomainError otherwise.

    A literal IP host is checked here too; names are checked after resolution, at creation and at every send."""
    if len(url) > MAX_URL_LENGTH:
        raise DomainError.of(ErrorCode.TOO_LONG, f"At most {MAX_URL_LENGTH} characters.", field)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise DomainError.of(ErrorCode.INVALID_URL, f"Not a URL: {error}.", field) from error
    if not parts.hostname:
        raise DomainError.of(ErrorCode.INVALID_URL, "The URL has no host.", field)
    host = parts.hostname.rstrip(".").lower()
    literal = literal_address(host)
    # Plain http stays on the machine when the receiver is on loopback, so it is allowed wherever loopback is.
    local = policy.allow_loopback and (host == "localhost" or (literal is not None and literal.is_loopback))
    schemes = {"https", "http"} if policy.allow_http or local else {"https"}
    if parts.scheme not in schemes:
        raise DomainError.of(ErrorCode.INVALID_URL, f"The scheme must be {' or '.join(sorted(schemes))}.", field)
    if parts.username is not None or parts.password is not None:
        raise DomainError.of(ErrorCode.INVALID_URL, "Credentials in the URL are not allowed.", field)
    if port == 0:
        raise DomainError.of(ErrorCode.INVALID_URL, "Port 0 is not a port.", field)
    if host in METADATA_HOSTS or (policy.allow_loopback is False and host == "localhost"):
        raise DomainError.of(ErrorCode.NOT_ALLOWED, f"Host {host!r} is not allowed for webhooks.", field)
    if literal is not None:
        check_address(literal, policy, field)
    return parts


def literal_address(host: str) -> IPAddress | None:
    """The address if `host` is an IP literal (brackets of IPv6 already removed by urlsplit)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_address(address: IPAddress, policy: UrlPolicy, field: str = "url") -> None:
    """Refuse private, loopback (unless allowed), link-local, multicast, reserved and metadata addresses."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    if address in METADATA:
        raise DomainError.of(ErrorCode.NOT_ALLOWED, f"{address} is a cloud metadata address.", field)
    if address.is_loopback:
        if policy.allow_loopback:
            return
        raise DomainError.of(ErrorCode.NOT_ALLOWED, f"{address} is a loopback address.", field)
    if address.is_link_local:
        raise DomainError.of(ErrorCode.NOT_ALLOWED, f"{address} is a link-local address.", field)
    if (address.is_private or address.is_multicast or address.is_reserved or address.is_unspecified
            or not address.is_global):
        raise DomainError.of(ErrorCode.NOT_ALLOWED, f"{address} is not a public address.", field)
