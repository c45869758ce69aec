"""Resolve a webhook host and check every address it resolves to, so the sender connects only to checked ones."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from app.domain.errors import DomainError, ErrorCode
from app.domain.webhook_urls import IPAddress, UrlPolicy, check_address, literal_address
from app.settings import Settings


def policy(settings: Settings) -> UrlPolicy:
    """Production: https only and public addresses only; dev and test: http too. Loopback receivers only with
    `triggers.allow_loopback` (warned about in prod: benchmarks and single-machine set-ups)."""
    return UrlPolicy(allow_http=settings.environment != "prod", allow_loopback=settings.triggers.allow_loopback)


async def resolve(host: str, port: int, rules: UrlPolicy, field: str = "url") -> list[IPAddress]:
    """Every address of `host`, each checked (one refused address refuses the host: a name that answers with a
    public and a private address must not get the private one on a later lookup)."""
    literal = literal_address(host)
    if literal is not None:
        check_address(literal, rules, field)
        return [literal]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise DomainError.of(ErrorCode.INVALID_URL, f"Host {host!r} does not resolve.", field) from error
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in found:
            found.append(address)
    for address in found:
        check_address(address, rules, field)
    if not found:
        raise DomainError.of(ErrorCode.INVALID_URL, f"Host {host!r} has no address.", field)
    return found
