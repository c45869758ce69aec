"""Persisted documents on /graphql: Apollo's automatic persisted queries and an allow-list of trusted documents.

A middleware, so both execution paths (compiled plans and Strawberry) see an ordinary request with its `query`:
- APQ: `extensions.persistedQuery {version: 1, sha256Hash}` without `query` is answered from Redis, or with
  PERSISTED_QUERY_NOT_FOUND so the client resends the full text; with `query`, the hash is checked and the
  document stored (a TTL bounds the store).
- Trusted documents: `documentId` ("sha256:<hex>" or the bare hex) names a document of the allow-list file; with
  `trusted_only`, any document not on the list is refused, whichever way it was sent.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.services.runtime import Resources
from app.settings import PersistedDocuments

HEX = re.compile(r"[0-9a-f]{64}")
MARKERS = (b"persistedQuery", b"documentId")


class DocumentProblem(Exception):
    """A persisted-document request that cannot be served; becomes a GraphQL error response."""

    def __init__(self, code: str, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def sha256_hex(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def load_allow_list(path: Path) -> dict[str, str]:
    """sha256 -> document from an Apollo persisted-query manifest (`operations: [{id, body}]`) or a {hash: body} map.

    Every id must be the sha256 of its body: a list that does not say what it allows is refused at start-up."""
    raw = json.loads(path.read_text())
    pairs = ([(op["id"], op["body"]) for op in raw["operations"]] if isinstance(raw, dict) and "operations" in raw
             else list(raw.items()))
    allowed = {}
    for key, body in pairs:
        digest = str(key).removeprefix("sha256:")
        if not isinstance(body, str) or digest != sha256_hex(body):
            raise ValueError(f"{path}: the id {key!r} is not the sha256 of its document")
        allowed[digest] = body
    return allowed


class PersistedDocumentsMiddleware:
    """Resolves persisted documents into `query` before the GraphQL view reads the request."""

    def __init__(self, app: ASGIApp, config: PersistedDocuments, resources: Callable[[], Resources],
                 prefix: str, path: str = "/graphql") -> None:
        self.app, self.config, self.resources, self.path = app, config, resources, path
        self.allowed = load_allow_list(config.documents_file) if config.documents_file else {}
        self.key_prefix = f"{prefix}:apq:"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return
        try:
            if scope["method"] == "GET":
                scope = await self._get(scope)
            elif scope["method"] == "POST" and _is_json(scope):
                scope, receive = await self._post(scope, receive)
        except DocumentProblem as problem:
            response = JSONResponse({"errors": [{"message": problem.message, "extensions": {"code": problem.code}}]},
                                    status_code=problem.status)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _get(self, scope: Scope) -> Scope:
        query_string: bytes = scope.get("query_string", b"")
        if not self.config.trusted_only and not any(m in query_string for m in MARKERS):
            return scope
        params = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
        if "query" not in params and not any(k in params for k in ("extensions", "documentId")):
            return scope  # GraphiQL, or a bare GET the view answers
        try:
            extensions = json.loads(params["extensions"]) if params.get("extensions") else None
        except ValueError:
            raise DocumentProblem("BAD_REQUEST", "`extensions` is not JSON.", 400) from None
        request = {"query": params.get("query"), "documentId": params.pop("documentId", None),
                   "extensions": extensions}
        query = await self.resolve(request)
        if query is not None:
            params["query"] = query
        return {**scope, "query_string": urlencode(params).encode("latin-1")}

    async def _post(self, scope: Scope, receive: Receive) -> tuple[Scope, Receive]:
        body, more = b"", True
        while more:  # JSON bodies are bounded by RequestGuard (outside this middleware)
            message = await receive()
            if message["type"] != "http.request":  # gone before sending its body: the view sees the same
                return scope, _replay_message(message, receive)
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if self.config.trusted_only or any(m in body for m in MARKERS):
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                data = None  # the view answers malformed bodies
            if isinstance(data, dict):
                data["query"] = await self.resolve(data)
                data.pop("documentId", None)
                body = orjson.dumps(data)
                headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
                scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        return scope, _replay(body, receive)

    async def resolve(self, request: dict[str, Any]) -> str | None:
        """The request's document: sent, looked up by documentId or APQ hash, and checked against the allow-list."""
        query = request.get("query")
        document_id = request.get("documentId")
        persisted = (request.get("extensions") or {}).get("persistedQuery") if isinstance(
            request.get("extensions"), dict) else None
        if document_id is not None:
            digest = str(document_id).removeprefix("sha256:")
            if digest not in self.allowed:
                raise DocumentProblem("PERSISTED_DOCUMENT_NOT_FOUND", f"No trusted document {document_id!r}.", 400)
            query = self.allowed[digest]
        elif isinstance(persisted, dict):
            query = await self._automatic(persisted, query)
        if self.config.trusted_only and isinstance(query, str) and sha256_hex(query) not in self.allowed:
            raise DocumentProblem("PERSISTED_DOCUMENT_REQUIRED",
                                  "This server only runs trusted documents: send a documentId.", 400)
        return query if isinstance(query, str) else None

    async def _automatic(self, persisted: dict[str, Any], query: object) -> str:
        digest = persisted.get("sha256Hash")
        if persisted.get("version") != 1 or not isinstance(digest, str) or not HEX.fullmatch(digest):
            raise DocumentProblem("PERSISTED_QUERY_NOT_SUPPORTED",
                                  "persistedQuery needs version 1 and a lowercase hex sha256Hash.", 400)
        if isinstance(query, str):
            if sha256_hex(query) != digest:
                raise DocumentProblem("PERSISTED_QUERY_HASH_MISMATCH",
                                      "sha256Hash is not the sha256 of the query sent with it.", 400)
            if self.config.automatic and len(query) <= self.config.max_document_bytes and digest not in self.allowed:
                await self.resources().queue.set(self.key_prefix + digest, query, ex=self.config.ttl_seconds)
            return query
        if digest in self.allowed:
            return self.allowed[digest]
        if not self.config.automatic:
            raise DocumentProblem("PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported")
        stored = await self.resources().queue.get(self.key_prefix + digest)
        if stored is None:
            # Apollo's link matches this message (and the code) and resends the full query.
            raise DocumentProblem("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
        return stored.decode() if isinstance(stored, bytes) else str(stored)


def _is_json(scope: Scope) -> bool:
    return "json" in Headers(scope=scope).get("content-type", "")


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body in one message, then the client's own messages (its disconnect, for streaming responses)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _replay_message(message: Message, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return message
        return await receive()

    return replayed
