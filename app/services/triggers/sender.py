"""The guarded HTTP POST: resolve, check, connect to the checked address; no redirects, capped answers."""

from __future__ import annotations

import asyncio
import http.cookiejar
import ipaddress
import logging
from collections.abc import Mapping
from urllib.parse import urlunsplit

import httpx

from app.domain.delivery_policy import Attempt
from app.domain.errors import DomainError
from app.domain.webhook_urls import check_url
from app.services.triggers.addresses import policy, resolve
from app.settings import Settings

logger = logging.getLogger(__name__)
USER_AGENT = "custom-activities-webhooks/1"


class Sender:
    """One httpx client per process (connections are pooled by the checked address, not by name)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rules = policy(settings)
        self.timeout = settings.triggers.delivery_timeout_seconds
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout), follow_redirects=False, trust_env=False,
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
            # No cookie kept: one receiver's cookies would go to every other receiver on the same address.
            cookies=http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[])),
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Attempt:
        """One attempt. A URL or address the rules refuse is `refused` (dead-lettered, never retried). The checked
        addresses are tried in turn while the connection itself fails (a name with IPv6 and IPv4 addresses)."""
        try:
            parts = check_url(url, self.rules)
            host = parts.hostname or ""
            port = parts.port or (443 if parts.scheme == "https" else 80)
            addresses = await resolve(host, port, self.rules)
        except DomainError as error:
            return Attempt(None, error=str(error.issues[0].message), refused=True)
        attempt = Attempt(None, error="no address")
        for address in addresses:
            literal = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
            target = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
            attempt = await self._send(target, host, parts.netloc.rsplit("@", 1)[-1], parts.scheme, body, headers)
            if not attempt.connect_failed:
                break
        return attempt

    async def _send(self, target: str, host: str, host_header: str, scheme: str, body: bytes,
                    headers: Mapping[str, str]) -> Attempt:
        extensions = {"sni_hostname": host} if scheme == "https" else {}
        cap = self.settings.triggers.max_response_bytes
        try:
            async with asyncio.timeout(self.timeout * 2):  # a receiver that drips bytes still ends
                async with self.client.stream(
                    "POST", target, content=body, extensions=extensions,
                    headers={**headers, "host": host_header, "content-type": "application/json",
                             "user-agent": USER_AGENT},
                ) as response:
                    answer = b""
                    async for piece in response.aiter_bytes():
                        answer += piece
                        if len(answer) >= cap:
                            break
                    text = answer[:cap].decode("utf-8", "replace")
                    return Attempt(response.status_code, response.headers.get("retry-after"),
                                   None if response.is_success else text or None)
        except httpx.ConnectError as error:
            return Attempt(None, error=f"cannot connect: {error}"[:500], connect_failed=True)
        except (httpx.TimeoutException, TimeoutError):
            return Attempt(None, error=f"timed out after {self.timeout:g} s")
        except httpx.HTTPError as error:
            return Attempt(None, error=f"{type(error).__name__}: {error}"[:500])
