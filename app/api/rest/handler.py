"""One REST call: who is calling (token, scope, rate limit), its JSON body, and failures as Marketo envelopes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response

from app.api.auth import Authenticator, bearer_token
from app.api.rest.envelope import RestError, error, issue_errors
from app.domain.access import Principal, Scope
from app.domain.errors import DomainError
from app.services import access_tokens, api_keys
from app.services.access_tokens import TokenState
from app.services.runtime import Resources
from app.settings import Settings

JSON_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/json", "")
"""Marketo clients send JSON under either type (marketorestpython posts JSON text as a form), or none at all."""


@dataclass(frozen=True, slots=True)
class Call:
    """What a handler gets: the request, its caller, the stores and the settings."""

    request: Request
    principal: Principal
    resources: Resources
    settings: Settings
    params: Mapping[str, str]
    """The query parameters, plus the form fields of a POST tunnelling a GET (`_method=GET`, Marketo's way)."""

    async def body(self) -> dict[str, Any]:
        """The JSON object sent (an empty body is `{}`); 612 for another content type, 609 for bad JSON."""
        kind = self.request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in JSON_TYPES:
            raise RestError(612)
        limit = self.settings.limits.max_request_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in self.request.stream():
            size += len(chunk)
            if size > limit:
                raise RestError(1003, f"The request body is larger than {limit} bytes (maxRequestBytes).")
            chunks.append(chunk)
        raw = b"".join(chunks).strip()
        if not raw:
            return {}
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise RestError(609) from None
        if not isinstance(data, dict):
            raise RestError(609, "Invalid JSON: the body must be a JSON object.")
        return data


Handler = Callable[[Call], Awaitable[Response]]


class Gate:
    """Turns requests into Calls: the token from `Authorization: Bearer` or `access_token`, the scope, the limit."""

    def __init__(self, settings: Settings, authenticator: Authenticator,
                 resources: Callable[[], Resources]) -> None:
        self.settings = settings
        self.authenticator = authenticator
        self.resources = resources

    async def principal(self, request: Request, resources: Resources, params: Mapping[str, str]) -> Principal:
        if self.settings.auth_disabled:
            return Principal.local_admin()
        header = request.headers.get("authorization")
        token = bearer_token(header) if header is not None else params.get("access_token")
        if not token:
            raise RestError(600, "Access token missing") if token is None else RestError(601)
        if token.startswith(access_tokens.TOKEN_PREFIX + "_"):
            state, principal = await access_tokens.resolve(resources, token)
            if state is TokenState.EXPIRED:
                raise RestError(602)
            if principal is None:
                raise RestError(601)
        else:  # an API key itself works too, as in GraphQL
            found = await api_keys.authenticate(resources, token)
            if found is None:
                raise RestError(601)
            principal = found
        decision = await self.authenticator.limiter(resources).hit(principal.id)
        if not decision.allowed:
            retry = str(decision.retry_after_seconds)
            status, headers = (429, {"retry-after": retry}) if self.settings.marketo.http_429 else (200, None)
            raise RestError(606, f"Max rate limit exceeded; retry in {retry} s", status=status, headers=headers)
        return principal

    def endpoint(self, handlers: Mapping[str, tuple[Scope, Handler]]) -> Callable[[Request], Awaitable[Response]]:
        """A Starlette endpoint running the handler of the request's method for callers holding its scope."""

        async def run(request: Request) -> Response:
            resources = self.resources()
            try:
                method, params = await _tunnelled(request, "GET" in handlers)
                if method not in handlers:
                    raise RestError(610)
                scope, handler = handlers[method]
                principal = await self.principal(request, resources, params)
                if not principal.allows(scope):
                    raise RestError(603, f"Access denied: this API key lacks the '{scope.value}' scope.")
                return await handler(Call(request, principal, resources, self.settings, params))
            except RestError as failure:
                return failure.response()
            except DomainError as failure:
                return RestError(1003, errors=issue_errors(failure.issues)).response()

        return run


async def _tunnelled(request: Request, has_get: bool) -> tuple[str, Mapping[str, str]]:
    """The method and parameters of a request; a form POST with `_method=GET` is that GET (long parameter lists
    do not fit in a URL, so Marketo clients send them this way)."""
    params = dict(request.query_params)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method != "POST" or not has_get or kind != "application/x-www-form-urlencoded":
        return request.method, params
    body = await request.body()  # kept by Starlette: a handler reading the body again gets the same bytes
    if body.lstrip().startswith(b"{"):
        return request.method, params  # JSON sent under the form type (marketorestpython does)
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if form.get("_method", params.get("_method", "")).upper() != "GET":
        return request.method, params
    return "GET", {**params, **form}


def bad_request(message: str, code: int = 1003) -> RestError:
    return RestError(code, message, errors=[error(code, message)])
