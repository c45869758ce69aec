"""`/identity/oauth/token`: an API key (client id = key id, client secret = the key) exchanged for a bearer token."""

from __future__ import annotations

from collections.abc import Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response

from app.services import access_tokens
from app.services.runtime import Resources


def _oauth_error(error: str, description: str, status: int) -> Response:
    # OAuth's own error shape, as Marketo's identity service answers (not the REST envelope).
    return Response(orjson.dumps({"error": error, "error_description": description}), status_code=status,
                    media_type="application/json")


def token_endpoint(resources: Callable[[], Resources]) -> Callable[[Request], object]:
    async def token(request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST" and request.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"):
            params.update({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
        if params.get("grant_type", "client_credentials") != "client_credentials":
            return _oauth_error("unsupported_grant_type", f"Unsupported grant type: {params['grant_type']}", 400)
        client_id, secret = params.get("client_id"), params.get("client_secret")
        if not client_id or not secret:
            return _oauth_error("invalid_request", "client_id and client_secret are required", 400)
        issued = await access_tokens.issue(resources(), client_id, secret)
        if issued is None:
            return _oauth_error("invalid_client", "Bad client credentials", 401)
        body = {"access_token": issued.token, "token_type": "bearer", "expires_in": issued.expires_in,
                "scope": " ".join(sorted(issued.principal.scopes))}
        return Response(orjson.dumps(body), media_type="application/json", headers={"cache-control": "no-store"})

    return token
