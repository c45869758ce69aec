"""Who is calling: the Principal from `Authorization: Bearer <key>` (HTTP) or the `connection_init` payload (WS).

Policy:
- a Bearer token must be an active key, whatever the environment; otherwise UNAUTHENTICATED (HTTP 401);
- no token: `environment=dev` requests from a loopback address act as the local admin (a laptop convenience),
  anything else is UNAUTHENTICATED. `environment=test` and `prod` never grant anonymous access;
- `auth_disabled=true` makes every caller the local admin (logged loudly at start-up in prod).
Every authenticated key then passes the per-key rate limit; the anonymous local admin is not limited.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import HTTPConnection
from starlette.responses import Response

from app.domain.access import ALL_SCOPES, Principal
from app.domain.errors import ErrorCode
from app.services import api_keys
from app.services.rate_limit import RateLimiter
from app.services.runtime import Resources
from app.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Denial:
    """Why a caller was turned away, as a GraphQL error plus the HTTP status and headers to send."""

    code: ErrorCode
    message: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)

    def error(self) -> dict[str, Any]:
        return {"message": self.message, "extensions": {"code": self.code.value, **self.extensions}}

    def response(self) -> Response:
        body = orjson.dumps({"data": None, "errors": [self.error()]})
        return Response(body, status_code=self.status, media_type="application/json", headers=self.headers)


UNAUTHENTICATED = Denial(
    ErrorCode.UNAUTHENTICATED,
    "Authentication required: send 'Authorization: Bearer <api key>' with an active key.",
    401,
    {"www-authenticate": 'Bearer realm="activities"'},
)


def bearer_token(value: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value; "" for a present but malformed header."""
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return token.strip()


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def connection_param(params: Mapping[str, Any] | None, name: str) -> str | None:
    """A header-like value from a `connection_init` payload, matched case-insensitively (also under "headers")."""
    if not isinstance(params, Mapping):
        return None
    for source in (params, params.get("headers")):
        if isinstance(source, Mapping):
            for key, value in source.items():
                if isinstance(key, str) and key.lower() == name and isinstance(value, str):
                    return value
    return None


class Authenticator:
    """Resolves principals and applies the rate limit; one per app, shared by HTTP and WebSocket."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._limiter: RateLimiter | None = None

    def limiter(self, resources: Resources) -> RateLimiter:
        if self._limiter is None:
            self._limiter = RateLimiter(
                resources.queue, self.settings.redis_prefix, self.settings.rate_limit_per_minute
            )
        return self._limiter

    def anonymous(self, conn: HTTPConnection) -> Principal | None:
        if self.settings.auth_disabled:
            return Principal.local_admin()
        if self.settings.environment == "dev" and is_loopback(conn.client.host if conn.client else None):
            return Principal.local_admin()
        return None

    async def resolve(
        self, resources: Resources, conn: HTTPConnection, authorization: str | None
    ) -> Principal | Denial:
        """The caller of one request or connection, or why it is refused (401 / 429)."""
        if self.settings.auth_disabled:
            return Principal.local_admin()
        token = bearer_token(authorization)
        if token is None:
            return self.anonymous(conn) or UNAUTHENTICATED
        principal = await api_keys.authenticate(resources, token) if token else None
        if principal is None:
            return UNAUTHENTICATED
        decision = await self.limiter(resources).hit(principal.id)
        if not decision.allowed:
            return Denial(
                ErrorCode.RATE_LIMITED,
                f"Rate limit of {self.settings.rate_limit_per_minute} requests per minute exceeded for this key; "
                f"retry in {decision.retry_after_seconds} s.",
                429,
                {"retry-after": str(decision.retry_after_seconds)},
                {"retryAfter": decision.retry_after_seconds},
            )
        return principal


class InsecureConfiguration(RuntimeError):
    """Production settings that would leave the service open or unusable; the process refuses to start."""


async def prepare_access(settings: Settings, resources: Resources) -> None:
    """Start-up: register the bootstrap admin key, warn loudly when auth is off, refuse an unusable prod."""
    if settings.bootstrap_admin_key is not None:
        created = await api_keys.ensure_key(
            resources, settings.bootstrap_admin_key.get_secret_value(), "bootstrap admin", ALL_SCOPES
        )
        if created:
            logger.info("registered the bootstrap admin key from ACTIVITIES_BOOTSTRAP_ADMIN_KEY")
    if settings.auth_disabled:
        banner = "!" * 72
        level = logging.CRITICAL if settings.environment == "prod" else logging.WARNING
        logger.log(
            level,
            "%s\nAUTHENTICATION IS DISABLED (ACTIVITIES_AUTH_DISABLED=true): every caller is an admin with every "
            "scope.\nOnly run like this behind a trusted gateway that authenticates for you.\n%s",
            banner,
            banner,
        )
        return
    if settings.environment == "prod" and await api_keys.count_active_keys(resources) == 0:
        raise InsecureConfiguration(
            "refusing to start in prod without any active API key: set ACTIVITIES_BOOTSTRAP_ADMIN_KEY, run "
            "`activities keys create --name admin --scope keys:admin ...`, or set ACTIVITIES_AUTH_DISABLED=true "
            "if a gateway in front of the service authenticates callers"
        )
